import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { writeFileAtomic } from "./atomic.ts";

// Giving a file to another user needs root, which the test suite runs as.
test("writeFileAtomic() gives the new file the requested owner and exact mode, and leaves no temp file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-atomic-"));
  const target = join(dir, "file");
  await writeFileAtomic(target, "secret\n", { mode: 0o600, owner: { uid: 65534, gid: 65534 } });
  const stat = statSync(target);
  assert.deepEqual([stat.uid, stat.gid, stat.mode & 0o7777], [65534, 65534, 0o600]);
  assert.equal(readFileSync(target, "utf8"), "secret\n");
  assert.deepEqual(readdirSync(dir), ["file"]);
});
