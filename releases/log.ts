import { constants } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { acquireFileLock, isProcessAlive, writeFileAtomic } from "../io/mod.ts";
import { type ChainProblem, type LogHead, type ReleaseFields, type ReleaseRecord, recordLine, sealRecord, verifyChain } from "./record.ts";

/** The log's file name in a releases directory when VOX_RELEASE_LOG does not name another. */
export const LOG_FILE = "log.jsonl";
/** Appends take milliseconds; twenty releases queued behind each other still finish well inside this. */
const DEFAULT_LOCK_WAIT_MS = 60_000;
/** Never follow a link planted where the log or its head should be. */
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** Where a log and its companions live: `<log>.head` (the last acknowledged record), `<log>.lock`, `manifests/` in `dir`. */
export interface ReleaseLogPaths {
  /** The releases directory: the manifest store is `dir/manifests/sha256/`. */
  dir: string;
  log: string;
  head: string;
  lock: string;
}

export interface LogLockOptions {
  /** How long to wait for another release to finish its append. Default 60 s. */
  waitMs?: number;
}

/**
 * The paths of the log in the releases directory `dir`, or of `log` (VOX_RELEASE_LOG) whose directory is then `dir`.
 *
 * @example
 * ```ts
 * releaseLogPaths("/src/app/.vox/releases").log; // "/src/app/.vox/releases/log.jsonl"
 * releaseLogPaths("/src/app/.vox/releases", "/srv/vox/app.jsonl").dir; // "/srv/vox"
 * ```
 */
export function releaseLogPaths(dir: string, log?: string): ReleaseLogPaths {
  const file = log ?? join(dir, LOG_FILE);
  return { dir: dirname(file), log: file, head: `${file}.head`, lock: `${file}.lock` };
}

/**
 * The log a project uses: the file VOX_RELEASE_LOG names (`configured`, relative to `cwd`), else
 * `<state dir>/releases/log.jsonl`. The one place commands resolve it, so release, listing and emit agree.
 *
 * @example
 * ```ts
 * projectReleaseLog("/src/app/.vox", env.get("VOX_RELEASE_LOG"), cwd).log; // "/src/app/.vox/releases/log.jsonl"
 * ```
 */
export function projectReleaseLog(stateDir: string, configured: string | undefined, cwd: string): ReleaseLogPaths {
  return releaseLogPaths(join(stateDir, "releases"), configured === undefined ? undefined : resolve(cwd, configured));
}

/**
 * A log as read: its records, every problem found (a missing head included), the head and the raw text. Nothing is
 * thrown for a bad log: `vox deploy releases verify` reports the problems as data.
 *
 * @example
 * ```ts
 * const { records, problems } = await inspectLog(releaseLogPaths(dir)); // problems: [] for an intact log
 * ```
 */
export async function inspectLog(paths: ReleaseLogPaths): Promise<{ records: ReleaseRecord[]; problems: ChainProblem[]; head: LogHead | undefined; text: string }> {
  const text = (await readIfPresent(paths.log)) ?? "";
  const headText = await readIfPresent(paths.head);
  const head = headText === undefined ? undefined : parseHead(headText, paths.head);
  const { records, problems } = verifyChain(text, head);
  if (head === undefined && text !== "") {
    problems.push({ line: 1, seq: undefined, kind: "broken", message: `${basename(paths.head)} is missing, so records cut off the end of the log cannot be detected: it was deleted` });
  }
  return { records, problems, head, text };
}

/**
 * Every record of the log in `dir` (or `options.log`), after verifying the whole chain; a bad log throws
 * E_RELEASE_LOG naming each bad record. No log yet reads as no records.
 *
 * @example
 * ```ts
 * const records = await readReleases(join(project.root, ".vox", "releases"));
 * ```
 */
export async function readReleases(dir: string, options: { log?: string } = {}): Promise<ReleaseRecord[]> {
  const paths = releaseLogPaths(dir, options.log);
  const { records, problems } = await inspectLog(paths);
  if (problems.length > 0) throw logError(`read ${paths.log}`, problems);
  return records;
}

/**
 * Appends the record `fields` describe (or compute from the verified records, as a rollback does), under
 * `<log>.lock`: read and verify the whole log, seal the record to the last one, append it as one line with O_APPEND and fsync, then move the head to it (written beside, renamed). A
 * log that fails verification is never extended: a torn last line is E_RELEASE_LOG_TORN (see `repairTornTail`),
 * anything else E_RELEASE_LOG.
 *
 * @example
 * ```ts
 * const record = await appendRelease(releaseLogPaths(dir), { image_digest, manifest_content_hash, image, created, tool_version, source_revision: null, rollback_of: null });
 * ```
 */
export async function appendRelease(paths: ReleaseLogPaths, fields: ReleaseFields | ((records: ReleaseRecord[]) => Promise<ReleaseFields>), options: LogLockOptions = {}): Promise<ReleaseRecord> {
  return withLogLock(paths, options, "append a release", async () => {
    const { records, problems, head } = await inspectLog(paths);
    if (problems.some((p) => p.kind === "torn") && problems.every((p) => p.kind === "torn")) {
      throw new VoxError("E_RELEASE_LOG_TORN", `Cannot append to ${paths.log}: ${problems[0]!.message}`, {
        hint: "Nothing after it was acknowledged. Run `vox deploy releases repair` to move the cut-short line aside, then release again",
      });
    }
    if (problems.length > 0) throw logError(`append to ${paths.log}`, problems);
    // A head before the first record: from then on a log without its head is a deleted head, not a new log.
    if (head === undefined) await writeHead(paths, { seq: 0, hash: null });
    const record = sealRecord(typeof fields === "function" ? await fields(records) : fields, records.at(-1));
    const handle = await open(paths.log, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NOFOLLOW, 0o644);
    try {
      await handle.write(recordLine(record));
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The first record created the file: its directory entry must be as durable as its bytes.
    if (records.length === 0) await syncDirectory(paths.dir);
    await writeHead(paths, { seq: record.seq, hash: record.hash });
    return record;
  });
}

/**
 * Removes a torn last line, the trace of a crash mid-append, and only that: under the lock, the log must verify
 * but for that line, and the head must not name a record beyond the intact ones (a record that was acknowledged
 * and then cut is tampering, not a crash). The removed bytes are kept in `<log>.torn-at-<offset>`.
 * Returns undefined when there was nothing to repair.
 *
 * @example
 * ```ts
 * await repairTornTail(releaseLogPaths(dir)); // { offset: 1234, removed: 57, savedTo: ".../log.jsonl.torn-at-1234" }
 * ```
 */
export async function repairTornTail(paths: ReleaseLogPaths, options: LogLockOptions = {}): Promise<{ offset: number; removed: number; savedTo: string } | undefined> {
  return withLogLock(paths, options, "repair the release log", async () => {
    const { problems, text } = await inspectLog(paths);
    if (problems.length === 0) return undefined;
    if (problems.some((p) => p.kind !== "torn")) {
      throw logError(`repair ${paths.log}`, problems.filter((p) => p.kind !== "torn"), "a repair only removes a cut-short last line, and this log has other problems");
    }
    const bytes = Buffer.from(text, "utf8");
    const offset = bytes.lastIndexOf(0x0a) + 1;
    const savedTo = `${paths.log}.torn-at-${offset}`;
    await writeFileAtomic(savedTo, bytes.subarray(offset));
    const handle = await open(paths.log, constants.O_WRONLY | NOFOLLOW);
    try {
      await handle.truncate(offset);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { offset, removed: bytes.length - offset, savedTo };
  });
}

async function withLogLock<T>(paths: ReleaseLogPaths, options: LogLockOptions, purpose: string, body: () => Promise<T>): Promise<T> {
  await mkdir(paths.dir, { recursive: true });
  const lock = await acquireFileLock(paths.lock, {
    waitMs: options.waitMs ?? DEFAULT_LOCK_WAIT_MS,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    isAlive: isProcessAlive,
    purpose,
    hint: `Wait for the other vox deploy command to finish; if no vox process is running, delete ${paths.lock}`,
  });
  try {
    return await body();
  } finally {
    await lock.release();
  }
}

function logError(what: string, problems: readonly ChainProblem[], why = "it fails verification"): VoxError {
  return new VoxError("E_RELEASE_LOG", `Cannot ${what}: ${why}:\n${problems.map((p) => `  - ${p.message}`).join("\n")}`, {
    hint: "The log is hash-chained and append-only: restore it from a copy you trust, or move it aside to start a new one (`vox deploy releases verify` lists every problem)",
  });
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeHead(paths: ReleaseLogPaths, head: LogHead): Promise<void> {
  await writeFileAtomic(paths.head, `${JSON.stringify(head)}\n`);
}

function parseHead(text: string, path: string): LogHead {
  try {
    const value = JSON.parse(text) as LogHead;
    if (Number.isInteger(value.seq) && value.seq >= 0 && (value.hash === null || typeof value.hash === "string")) return { seq: value.seq, hash: value.hash };
  } catch {
    // reported below
  }
  throw new VoxError("E_RELEASE_LOG", `Cannot read ${path}: it is not a release log head ({"seq":N,"hash":"sha256:…"})`, {
    hint: "The head records the last acknowledged release; restore it from a copy you trust",
  });
}

/** The file's text, or undefined when it does not exist; a link or anything but a regular file is refused. */
async function readIfPresent(path: string): Promise<string | undefined> {
  const handle = await open(path, constants.O_RDONLY | NOFOLLOW | (constants.O_NONBLOCK ?? 0)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    if (error.code === "ELOOP") throw new VoxError("E_RELEASE_LOG", `Cannot read ${path}: it is a symbolic link`, { hint: "Replace it with the file itself" });
    throw error;
  });
  if (!handle) return undefined;
  try {
    if (!(await handle.stat()).isFile()) throw new VoxError("E_RELEASE_LOG", `Cannot read ${path}: it is not a regular file`, { hint: "Remove it; vox writes the log as a regular file" });
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}
