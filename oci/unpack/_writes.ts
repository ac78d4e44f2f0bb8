// Small regular files written off the unpacking thread, a few at a time, by two writer threads: creating a file is
// mostly kernel time, which then runs on the other core while this one inflates and parses (bench/run.ts, pull+unpack).
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { Worker } from "node:worker_threads";

/** A regular file to create: its path resolved and checked by the applier, its mode decided by the policy. */
export interface FileToWrite {
  path: string;
  mode: number;
  owner: { uid: number; gid: number } | undefined;
  atime: number;
  mtime: number;
}

/** Creates and fills one file. Default: the writer threads (oci/unpack/write_worker.js); a test passes a slow one. */
export type WriteFile = (file: FileToWrite, data: Uint8Array) => Promise<void>;

/** Files at most this large are read whole and written in the background; larger ones stream in order. */
export const SMALL_FILE = 256 << 10;
/** Files, and bytes of them, handed over and not yet written: enough for several batches per writer. */
const IN_FLIGHT = 128;
const IN_FLIGHT_BYTES = 8 << 20;
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
  readonly #pool: WriterPool | undefined;
  #bytes = 0;
  #failure: { error: unknown } | undefined;

  constructor(writeFile?: WriteFile) {
    this.#pool = writeFile ? undefined : new WriterPool();
    this.#writeFile = writeFile ?? ((file, data) => this.#pool!.write(file, data));
  }

  /** Stops the writer threads (after settle, or after a failure). */
  async close(): Promise<void> {
    await this.#pool?.close();
  }

  /** Whether the file at `path` is still being written. */
  has(path: string): boolean {
    return this.#inFlight.has(path);
  }

  /** Starts writing `file` with `data` (already read whole), after waiting for a free slot. */
  async write(file: FileToWrite, data: Uint8Array): Promise<void> {
    while (this.#inFlight.size >= IN_FLIGHT || this.#bytes >= IN_FLIGHT_BYTES) {
      this.#pool?.flush();
      await Promise.race(this.#inFlight.values());
    }
    this.#throwFailure();
    const size = data.byteLength;
    this.#bytes += size;
    const written = () => {
      this.#inFlight.delete(file.path);
      this.#bytes -= size;
    };
    const done = this.#writeFile(file, data).then(written, (error: unknown) => {
      written();
      this.#failure ??= { error };
    });
    this.#inFlight.set(file.path, done);
  }

  /** Waits for every write in flight; throws the first that failed. */
  async settle(): Promise<void> {
    this.#pool?.flush();
    await Promise.all(this.#inFlight.values());
    this.#throwFailure();
  }

  #throwFailure(): void {
    if (this.#failure) throw this.#failure.error;
  }
}

/**
 * Creates `file.path` (never through a link), writes `data` into it, then sets owner, mode and times: the applier's
 * way for large files, streamed in order; write_worker.js does the same steps for small ones.
 */
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

const WORKER_URL = import.meta.url.endsWith("/oci/unpack/_writes.ts") ? new URL("./write_worker.js", import.meta.url) : new URL("./oci/unpack/write_worker.js", import.meta.url);
const WRITERS = 2;
/** Files per message: a message costs about as much as creating a small file, so they travel in batches. */
const BATCH_FILES = 32;
const BATCH_BYTES = 1 << 20;

interface Job {
  id: number;
  file: FileToWrite;
  data: Uint8Array;
}

/** Writer threads (oci/unpack/write_worker.js), started on first use; batches of files go to each in turn. */
class WriterPool {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, { resolve(): void; reject(error: Error): void }>();
  #batch: Job[] = [];
  #batchBytes = 0;
  #next = 0;
  #turn = 0;

  /** Queues `file`; it is sent with its batch, when the batch fills or at `flush()`. */
  write(file: FileToWrite, body: Uint8Array): Promise<void> {
    const id = this.#next++;
    const done = new Promise<void>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#batch.push({ id, file, data: body });
    this.#batchBytes += body.byteLength;
    if (this.#batch.length >= BATCH_FILES || this.#batchBytes >= BATCH_BYTES) this.flush();
    return done;
  }

  /** Sends the files queued so far. */
  flush(): void {
    if (this.#batch.length === 0) return;
    if (this.#workers.length === 0) for (let i = 0; i < WRITERS; i++) this.#workers.push(this.#start());
    const jobs = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    // A body that owns its whole buffer is moved, not copied.
    const transfer = jobs.map((job) => job.data).filter((data) => data.byteOffset === 0 && data.byteLength === data.buffer.byteLength).map((data) => data.buffer as ArrayBuffer);
    this.#workers[this.#turn++ % WRITERS]!.postMessage({ jobs }, transfer);
  }

  async close(): Promise<void> {
    const workers = this.#workers.splice(0);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  #start(): Worker {
    const worker = new Worker(WORKER_URL);
    worker.on("message", ({ results }: { results: Array<{ id: number; error?: { message: string; code?: string } }> }) => {
      for (const { id, error } of results) {
        const pending = this.#pending.get(id);
        this.#pending.delete(id);
        if (error) pending?.reject(Object.assign(new Error(error.message), { code: error.code }));
        else pending?.resolve();
      }
    });
    worker.on("error", (error: Error) => this.#failAll(error));
    worker.on("exit", (code) => {
      if (this.#workers.includes(worker)) this.#failAll(new Error(`a file-writing thread exited (code ${code})`));
    });
    return worker;
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
