import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { processOwner } from "../io/mod.ts";
import { managedBy } from "./guards.ts";
import { readTrustState, writeTrustState } from "./state.ts";

const me = processOwner();

test("readTrustState() starts empty and round-trips what writeTrustState() stored", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-state-"));
  assert.deepEqual(await readTrustState(dir, me), { schema: "vox.upgrade-state/1", indexSerials: {}, highestVersion: null });
  const state = { schema: "vox.upgrade-state/1" as const, indexSerials: { "http://m/index.json": 4 }, highestVersion: "1.2.3" };
  await writeTrustState(dir, state);
  assert.deepEqual(await readTrustState(dir, me), state);
});

test("readTrustState() refuses a damaged state instead of reading it as empty, which would lower every anti-rollback floor", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-state-"));
  const refused = (why: RegExp) => (e: Error & { code?: string; hint?: string }) => e.code === "E_TRUST_STATE" && why.test(e.message) && /delete it to start afresh/.test(e.hint ?? "");
  writeFileSync(join(dir, "trust.json"), '{"schema":"vox.upgrade-state/1","indexSerials":{');
  await assert.rejects(readTrustState(dir, me), refused(/it is not JSON/));
  writeFileSync(join(dir, "trust.json"), '{"schema":"other"}');
  await assert.rejects(readTrustState(dir, me), refused(/not a vox.upgrade-state\/1 document/));
  writeFileSync(join(dir, "trust.json"), '{"schema":"vox.upgrade-state/1","indexSerials":{"u":1.5},"highestVersion":null}');
  await assert.rejects(readTrustState(dir, me), refused(/not a vox.upgrade-state\/1 document/));
  rmSync(join(dir, "trust.json"));
  mkdirSync(join(dir, "trust.json"));
  await assert.rejects(readTrustState(dir, me), refused(/EISDIR/));
});

test("readTrustState() refuses floors another user could have written: their file, a writable file or directory, a link", { skip: me === undefined ? "no uids on Windows" : false }, async () => {
  const state = { schema: "vox.upgrade-state/1" as const, indexSerials: {}, highestVersion: "2.0.0" };
  const fresh = async () => {
    const dir = mkdtempSync(join(tmpdir(), "vox-state-"));
    await writeTrustState(dir, state);
    return dir;
  };
  const refused = (why: RegExp) => (e: Error & { code?: string; hint?: string }) => e.code === "E_TRUST_STATE" && why.test(e.message) && /another user could lower its floors/.test(e.message) && /chmod go-w/.test(e.hint ?? "");
  const theirs = await fresh();
  if (me?.uid === 0) chownSync(join(theirs, "trust.json"), 65534, 65534);
  const owner = me?.uid === 0 ? 65534 : me?.uid;
  await assert.rejects(readTrustState(theirs, { uid: 4242, gid: 4242 }), refused(new RegExp(`it is owned by uid ${owner}, not by you \\(uid 4242\\) or root`)));
  const writable = await fresh();
  chmodSync(join(writable, "trust.json"), 0o666);
  await assert.rejects(readTrustState(writable, me), refused(/it is writable by others \(mode 0666\)/));
  const openDir = await fresh();
  chmodSync(openDir, 0o775);
  await assert.rejects(readTrustState(openDir, { uid: me!.uid, gid: me!.gid + 1 }), refused(/its directory is writable by its group \(mode 0775\)/));
  assert.equal((await readTrustState(openDir, me)).highestVersion, "2.0.0", "group write from the user's own group (umask 002) is theirs");
  chmodSync(openDir, 0o777);
  await assert.rejects(readTrustState(openDir, me), refused(/its directory is writable by others \(mode 0777\)/));
  const linked = await fresh();
  rmSync(join(linked, "trust.json"));
  symlinkSync(join(theirs, "trust.json"), join(linked, "trust.json"));
  await assert.rejects(readTrustState(linked, me), (e: Error & { code?: string }) => e.code === "E_TRUST_STATE" && /it is a symbolic link/.test(e.message));
  assert.deepEqual(await readTrustState(await fresh(), me), state, "its own state, private, is read");
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
