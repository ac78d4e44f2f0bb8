import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fixedClock } from "../io/mod.ts";
import { fileAuditSink, memoryAuditSink } from "./sink.ts";

const clock = fixedClock(new Date("2026-01-02T03:04:05Z"));

test("fileAuditSink() appends one JSON line per event with its time, to a file only its owner can read", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vox-audit-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "audit.jsonl");
  const sink = fileAuditSink(path, clock);
  await sink.record({ kind: "resolve", scope: "app", reference: "r.example/app:1", digest: "sha256:aa", outcome: "ok", detail: { mutable: true } });
  await sink.record({ kind: "refuse", scope: null, reference: "x", digest: null, outcome: "refused" });
  const lines = readFileSync(path, "utf8").split("\n");
  assert.equal(lines.at(-1), "");
  assert.deepEqual(lines.slice(0, -1).map((l) => JSON.parse(l)), [
    { schema: "vox.audit/1", time: "2026-01-02T03:04:05.000Z", kind: "resolve", scope: "app", reference: "r.example/app:1", digest: "sha256:aa", outcome: "ok", detail: { mutable: true } },
    { schema: "vox.audit/1", time: "2026-01-02T03:04:05.000Z", kind: "refuse", scope: null, reference: "x", digest: null, outcome: "refused" },
  ]);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  await assert.rejects(fileAuditSink(join(dir, "missing", "audit.jsonl"), clock).record({ kind: "fetch", scope: null, reference: null, digest: null, outcome: "ok" }), (e: Error & { code?: string }) => e.code === "E_AUDIT");
});

test("fileAuditSink() lines from concurrent processes never interleave, however long", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vox-audit-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "audit.jsonl");
  // Each writer appends 40 events of ~200 KiB (far past PIPE_BUF and a page) from its own process, all at once.
  const script = `
    import { fileAuditSink } from ${JSON.stringify(join(import.meta.dirname, "sink.ts"))};
    const sink = fileAuditSink(${JSON.stringify(path)}, { now: () => new Date() });
    const id = process.argv.at(-1);
    await Promise.all(Array.from({ length: 40 }, (_, i) => sink.record({ kind: "fetch", scope: id, reference: String(i), digest: null, outcome: "ok", detail: { pad: id.repeat(200_000) } })));
  `;
  const writers = ["a", "b", "c", "d"].map(
    (id) =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, id], { stdio: ["ignore", "ignore", "inherit"] });
        child.on("error", reject);
        child.on("exit", resolve);
      }),
  );
  assert.deepEqual(await Promise.all(writers), [0, 0, 0, 0]);
  const lines = readFileSync(path, "utf8").trimEnd().split("\n");
  assert.equal(lines.length, 160);
  for (const line of lines) {
    const event = JSON.parse(line) as { scope: string; detail: { pad: string } };
    assert.equal(event.detail.pad, event.scope.repeat(200_000));
  }
});

test("memoryAuditSink() keeps events with their time", async () => {
  const sink = memoryAuditSink(clock);
  await sink.record({ kind: "delete", scope: "s", reference: null, digest: "sha256:bb", outcome: "ok" });
  assert.deepEqual(sink.events, [{ schema: "vox.audit/1", time: "2026-01-02T03:04:05.000Z", kind: "delete", scope: "s", reference: null, digest: "sha256:bb", outcome: "ok" }]);
});
