import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { acquireFileLock } from "./file_lock.ts";

const DEAD_PID = 999_999;
const base = { sleep: async () => {}, purpose: "test", hint: "wait" };

test("acquireFileLock() is exclusive, names the live holder after the wait, and takes over a dead holder's lock", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "vox-lock-")), "x.lock");
  const lock = await acquireFileLock(path, { ...base, waitMs: 0, isAlive: () => true });
  assert.match(readFileSync(path, "utf8"), new RegExp(`^${process.pid} [0-9a-f]{16}\\n$`));
  await assert.rejects(acquireFileLock(path, { ...base, waitMs: 0, isAlive: () => true }), new RegExp(`Cannot test: another vox process \\(pid ${process.pid}\\) holds`));
  const takeover = await acquireFileLock(path, { ...base, waitMs: 0, isAlive: () => false });
  await lock.release(); // the old owner's release must not remove the lock it lost
  assert.match(readFileSync(path, "utf8"), new RegExp(`^${process.pid} `));
  await takeover.release();
  const again = await acquireFileLock(path, { ...base, waitMs: 0, isAlive: () => true });
  await again.release();
});

test("acquireFileLock(): contenders racing to take over a dead holder's lock never hold it at the same time (50 trials)", async () => {
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  let overlaps = 0;
  for (let trial = 0; trial < 50; trial++) {
    const path = join(mkdtempSync(join(tmpdir(), "vox-lock-")), "x.lock");
    writeFileSync(path, `${DEAD_PID}\n`); // a lock left by a crashed older vox (bare pid)
    let holding = 0;
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const lock = await acquireFileLock(path, { ...base, waitMs: 60_000, sleep: tick, isAlive: (pid) => pid !== DEAD_PID });
        if (++holding > 1) overlaps++;
        for (let i = 0; i < 3; i++) await tick();
        holding--;
        await lock.release();
      }),
    );
  }
  assert.equal(overlaps, 0);
});
