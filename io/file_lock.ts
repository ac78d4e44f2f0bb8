import { lstat, open, unlink } from "node:fs/promises";
import { VoxError } from "../errors/mod.ts";

export interface FileLock {
  release(): Promise<void>;
}

export interface FileLockOptions {
  /** How long to wait for a live holder before giving up. */
  waitMs: number;
  sleep: (ms: number) => Promise<void>;
  isAlive: (pid: number) => boolean;
  /** For the error when a live holder outlasts the wait: "upgrade", "update the OCI layout index". */
  purpose: string;
  /** What to do when a live holder outlasts the wait. */
  hint: string;
}

/**
 * Takes an exclusive lock: a file created with O_EXCL holding the owner's pid and a random token. A live holder
 * is waited for, then named in the error. A lock left by a dead process is taken over atomically (see
 * `removeIfStill`): a contender never removes a lock another one has just taken.
 *
 * @example
 * ```ts
 * const lock = await acquireFileLock("/state/upgrade.lock", { waitMs: 30_000, sleep, isAlive, purpose: "upgrade", hint: "…" });
 * try { … } finally { await lock.release(); }
 * ```
 */
export async function acquireFileLock(path: string, options: FileLockOptions): Promise<FileLock> {
  const deadline = Date.now() + options.waitMs;
  const token = randomToken();
  for (;;) {
    if (await tryCreate(path, token)) return { release: () => releaseIfOurs(path, token) };
    const holder = await readHolder(path);
    if (holder && !options.isAlive(holder.pid)) {
      await removeIfStill(path, holder, options.isAlive);
      continue;
    }
    if (!holder) {
      // Vanished between the create and the read, or still being written (the pid line lands right after the
      // create): try again without counting it as a wait.
      await options.sleep(1);
      if (Date.now() < deadline) continue;
    }
    if (Date.now() >= deadline) {
      throw new VoxError("E_LOCKED", `Cannot ${options.purpose}: another vox process (pid ${holder?.pid ?? "unknown"}) holds ${path}`, { hint: options.hint });
    }
    await options.sleep(100);
  }
}

interface Holder {
  pid: number;
  token: string;
  ino: number;
}

async function tryCreate(path: string, token: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, "wx", 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    await handle.writeFile(`${process.pid} ${token}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

async function readHolder(path: string): Promise<Holder | undefined> {
  const handle = await open(path, "r").catch(() => undefined);
  if (!handle) return undefined;
  try {
    const { ino } = await handle.stat();
    const [pid, token] = (await handle.readFile("utf8")).trim().split(" ");
    // A bare pid is a lock written by an older vox: still a lock, token-less.
    return Number.isInteger(Number(pid)) && Number(pid) > 0 ? { pid: Number(pid), token: token ?? "", ino } : undefined;
  } finally {
    await handle.close();
  }
}

/**
 * Deletes a stale lock under a second lock (`<path>.takeover`), re-reading the holder inside it: every removal of
 * a lock by someone other than its owner happens there, so two contenders cannot both clear the way and one of
 * them then delete the lock the other took. The guard is held for two system calls; a guard whose holder died
 * inside them is cleared once it is older than a few seconds.
 */
async function removeIfStill(path: string, stale: Holder, isAlive: (pid: number) => boolean): Promise<void> {
  const guard = `${path}.takeover`;
  if (!(await tryCreate(guard, randomToken()))) {
    const age = Date.now() - ((await lstat(guard).catch(() => undefined))?.mtimeMs ?? Date.now());
    const guardHolder = await readHolder(guard);
    if (age > STALE_GUARD_MS && guardHolder && !isAlive(guardHolder.pid)) await unlink(guard).catch(() => {});
    return;
  }
  try {
    const current = await readHolder(path);
    if (current?.ino === stale.ino && current.token === stale.token) await unlink(path).catch(() => {});
  } finally {
    await unlink(guard).catch(() => {});
  }
}

const STALE_GUARD_MS = 5_000;

/** Only the owner's token removes a lock; nobody else removes a live holder's file, so no race with a taker. */
async function releaseIfOurs(path: string, token: string): Promise<void> {
  const holder = await readHolder(path);
  if (holder?.token === token) await unlink(path).catch(() => {});
}

function randomToken(): string {
  return [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
