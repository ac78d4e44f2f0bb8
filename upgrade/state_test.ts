import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { managedBy } from "./guards.ts";
import { readTrustState, writeTrustState } from "./state.ts";

test("readTrustState() starts empty and round-trips what writeTrustState() stored", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-state-"));
  assert.deepEqual(await readTrustState(dir), { schema: "vox.upgrade-state/1", indexSerials: {}, highestVersion: null });
  const state = { schema: "vox.upgrade-state/1" as const, indexSerials: { "http://m/index.json": 4 }, highestVersion: "1.2.3" };
  await writeTrustState(dir, state);
  assert.deepEqual(await readTrustState(dir), state);
});

test("readTrustState() refuses a damaged state instead of reading it as empty, which would lower every anti-rollback floor", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-state-"));
  const refused = (why: RegExp) => (e: Error & { code?: string; hint?: string }) => e.code === "E_TRUST_STATE" && why.test(e.message) && /delete it to start afresh/.test(e.hint ?? "");
  writeFileSync(join(dir, "trust.json"), '{"schema":"vox.upgrade-state/1","indexSerials":{');
  await assert.rejects(readTrustState(dir), refused(/it is not JSON/));
  writeFileSync(join(dir, "trust.json"), '{"schema":"other"}');
  await assert.rejects(readTrustState(dir), refused(/not a vox.upgrade-state\/1 document/));
  writeFileSync(join(dir, "trust.json"), '{"schema":"vox.upgrade-state/1","indexSerials":{"u":1.5},"highestVersion":null}');
  await assert.rejects(readTrustState(dir), refused(/not a vox.upgrade-state\/1 document/));
  rmSync(join(dir, "trust.json"));
  mkdirSync(join(dir, "trust.json"));
  await assert.rejects(readTrustState(dir), refused(/EISDIR/));
});

test("managedBy() recognises markers, package-manager trees and root-owned paths for other users", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-guard-"));
  writeFileSync(join(dir, "vox"), "");
  assert.equal(await managedBy(join(dir, "vox"), 0), undefined);
  writeFileSync(join(dir, ".vox-managed-by"), "scoop\n");
  assert.deepEqual(await managedBy(join(dir, "vox"), 0), { manager: "scoop", instead: "upgrade vox with scoop" });
  assert.equal((await managedBy("/opt/homebrew/Cellar/vox/1.0.0/bin/vox", 501))?.manager, "Homebrew");
  assert.equal((await managedBy("/home/a/project/node_modules/.bin/vox", 1000))?.manager, "npm");
  assert.equal((await managedBy("/usr/bin/env", 1000))?.manager, "the system package manager");
  assert.equal(await managedBy("/usr/bin/env", 0), undefined, "root upgrading its own system path is allowed");
});
