// Small regular files written a few at a time off the main thread: creating a file is mostly kernel time, and on two
// cores four creations in flight finish in about a third of the time of one after another (bench/run.ts, unpack).
import { constants } from "node:fs";
import { open } from "node:fs/promises";

/** A regular file to create: its path resolved and checked by the applier, its mode decided by the policy. */
export interface FileToWrite {
  path: string;
  mode: number;
  owner: { uid: number; gid: number } | undefined;
  atime: number;
  mtime: number;
}

/** Creates and fills one file; `writeRegularFile` unless a test slows it down. */
export type WriteFile = (file: FileToWrite, data: readonly Uint8Array[]) => Promise<void>;

/** Files at most this large are read whole and written in the background; larger ones stream in order. */
export const SMALL_FILE = 256 << 10;
/** Creations in flight at once. */
const IN_FLIGHT = 4;
/** Never follow what lies at the final component; O_EXCL fails on anything there, a link included. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * The writes still in flight. The applier keeps the tree's order: it calls `settle()` before anything that could
 * touch a path being written (a removal, a link, a whiteout, a parent not yet resolved) and before a layer ends.
 * The first failure is thrown by the next `write()` or `settle()`.
 */
export class PendingWrites {
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #writeFile: WriteFile;
  #failure: { error: unknown } | undefined;

  constructor(writeFile: WriteFile = writeRegularFile) {
    this.#writeFile = writeFile;
  }

  /** Whether the file at `path` is still being written. */
  has(path: string): boolean {
    return this.#inFlight.has(path);
  }

  /** Starts writing `file` with `data` (already read whole), after waiting for a free slot. */
  async write(file: FileToWrite, data: readonly Uint8Array[]): Promise<void> {
    while (this.#inFlight.size >= IN_FLIGHT) await Promise.race(this.#inFlight.values());
    this.#throwFailure();
    const done = this.#writeFile(file, data).then(
      () => void this.#inFlight.delete(file.path),
      (error: unknown) => {
        this.#inFlight.delete(file.path);
        this.#failure ??= { error };
      },
    );
    this.#inFlight.set(file.path, done);
  }

  /** Waits for every write in flight; throws the first that failed. */
  async settle(): Promise<void> {
    await Promise.all(this.#inFlight.values());
    this.#throwFailure();
  }

  #throwFailure(): void {
    if (this.#failure) throw this.#failure.error;
  }
}

/** Creates `file.path` (never through a link), writes `data` into it, then sets owner, mode and times. */
export async function writeRegularFile(file: FileToWrite, data: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  const handle = await open(file.path, CREATE_FLAGS, 0o600);
  try {
    for await (const chunk of data) {
      for (let offset = 0; offset < chunk.length; ) offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
    }
    // Owner before mode: chown clears set-id bits the policy chose to keep.
    if (file.owner) await handle.chown(file.owner.uid, file.owner.gid);
    await handle.chmod(file.mode);
    await handle.utimes(file.atime, file.mtime);
  } finally {
    await handle.close();
  }
}
