// Parallel deflate whose bytes depend only on the input: the stream is cut into fixed 1 MiB chunks, each compressed
// on its own (pigz's independent mode) on whichever thread is free, and the results are joined in order.
// The cut points, the level and the code are fixed, so one, two or four workers, or none, give the same bytes.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { usageError, VoxError } from "../errors/mod.ts";
import { crc32Combine } from "./crc32.js";
import { CHUNK_SIZE, type ChunkJob, deflateChunk } from "./deflate_chunk.js";
import { concat } from "./tar_writer.ts";

export { CHUNK_SIZE };
/** Chunks queued or in flight per worker: enough to keep each busy while the reader refills, bounded for memory. */
const DEPTH_PER_WORKER = 2;
/** Past this many workers, two cores' worth of hashing and writing on the main thread is the limit, not deflate. */
const MAX_DEFAULT_WORKERS = 4;

/**
 * From source, this module sits in archive/ beside the worker; in a `bun build --compile` executable every chunk of
 * the bundle sits at its root, where the worker entry keeps its path (archive/deflate_worker.js).
 */
const WORKER_URL = import.meta.url.endsWith("/archive/parallel_deflate.ts") ? new URL("./deflate_worker.js", import.meta.url) : new URL("./archive/deflate_worker.js", import.meta.url);

/**
 * The worker count: `VOX_COMPRESSION_WORKERS` when set (1 to 64), else the CPU count up to 4. Output never depends on it.
 *
 * @example
 * ```ts
 * compressionWorkers(processEnv().get("VOX_COMPRESSION_WORKERS")); // 2 on a two-core runner
 * ```
 */
export function compressionWorkers(configured: string | undefined): number {
  if (configured === undefined || configured === "") return Math.max(1, Math.min(availableParallelism(), MAX_DEFAULT_WORKERS));
  if (!/^\d{1,2}$/.test(configured) || Number(configured) < 1 || Number(configured) > 64) {
    throw usageError("E_COMPRESSION_WORKERS", `Cannot use VOX_COMPRESSION_WORKERS=${configured}: not a whole number from 1 to 64`, "Unset it to use one worker per CPU (at most 4)");
  }
  return Number(configured);
}

interface Pending {
  resolve(result: { deflated: Uint8Array; crc: number }): void;
  reject(error: Error): void;
}

/**
 * Worker threads that compress chunks, started only when a stream grows past one chunk and stopped by `close()`.
 * Idle workers do not keep the process alive.
 *
 * @example
 * ```ts
 * const pool = new DeflatePool(2);
 * try { await writeSomething(pool); } finally { await pool.close(); }
 * ```
 */
export class DeflatePool {
  readonly #idle: Worker[] = [];
  readonly #all: Worker[] = [];
  readonly #busy = new Map<Worker, Pending>();
  readonly #queue: Array<{ job: ChunkJob; pending: Pending }> = [];
  #failure: Error | undefined;

  constructor(readonly workers: number) {}

  /** How many chunks a stream may have outstanding before it waits for the oldest. */
  get depth(): number {
    return this.workers * DEPTH_PER_WORKER;
  }

  /** Compresses one chunk on a worker; the chunk's buffer is transferred (unusable here afterwards). */
  compress(job: ChunkJob): Promise<{ deflated: Uint8Array; crc: number }> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, pending: { resolve, reject } });
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    const workers = this.#all.splice(0);
    this.#idle.length = 0;
    this.#fail(new VoxError("E_INTERNAL", "Cannot compress: the compression workers were stopped"));
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const worker = this.#idle.pop() ?? (this.#all.length < this.workers ? this.#start() : undefined);
      if (!worker) return;
      const { job, pending } = this.#queue.shift()!;
      this.#busy.set(worker, pending);
      worker.ref();
      worker.postMessage(job, [job.data.buffer as ArrayBuffer]);
    }
  }

  #start(): Worker {
    const worker = new Worker(WORKER_URL);
    this.#all.push(worker);
    worker.on("message", (message: { deflated?: Uint8Array; crc?: number; error?: string }) => {
      const pending = this.#busy.get(worker);
      this.#busy.delete(worker);
      worker.unref();
      this.#idle.push(worker);
      if (message.error !== undefined || !message.deflated) pending?.reject(new VoxError("E_COMPRESS", `Cannot compress: ${message.error ?? "the worker returned nothing"}`));
      else pending?.resolve({ deflated: message.deflated, crc: message.crc! });
      this.#dispatch();
    });
    worker.on("error", (error: Error) => this.#fail(new VoxError("E_COMPRESS", `Cannot compress: a compression worker failed (${error.message})`, { cause: error })));
    worker.on("exit", (code) => {
      if (this.#all.includes(worker)) this.#fail(new VoxError("E_COMPRESS", `Cannot compress: a compression worker exited (code ${code})`));
    });
    return worker;
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of [...this.#busy.values(), ...this.#queue.splice(0).map((q) => q.pending)]) pending.reject(this.#failure);
    this.#busy.clear();
  }
}

/** What a finished stream was: the CRC-32 and length of its input, and the length of its output. */
export interface DeflateSummary {
  crc: number;
  size: number;
  compressedSize: number;
}

/**
 * One raw deflate stream in the chunked format. `write` as often as convenient (how writes are cut never matters);
 * compressed bytes reach `sink` in order; `end` flushes the last chunk. At most `pool.depth` chunks are held.
 *
 * @example
 * ```ts
 * const stream = new DeflateStream(pool, { level: 6, sink: (bytes) => file.write(bytes) });
 * await stream.write(tarHeader);
 * const { crc, size } = await stream.end();
 * ```
 */
export class DeflateStream {
  #buffer = new Uint8Array(CHUNK_SIZE);
  #filled = 0;
  #submitted = 0;
  readonly #inFlight: Array<{ result: Promise<{ deflated: Uint8Array; crc: number }>; length: number }> = [];
  readonly #summary: DeflateSummary = { crc: 0, size: 0, compressedSize: 0 };

  constructor(
    readonly pool: DeflatePool,
    readonly options: { level: 6 | 9; sink: (bytes: Uint8Array) => Promise<void> | void },
  ) {}

  async write(bytes: Uint8Array): Promise<void> {
    for (let offset = 0; offset < bytes.length; ) {
      // A full chunk is sent only once more input shows it is not the last: the last one is marked final.
      if (this.#filled === CHUNK_SIZE) await this.#submit(false);
      const take = Math.min(CHUNK_SIZE - this.#filled, bytes.length - offset);
      this.#buffer.set(bytes.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
    }
  }

  async end(): Promise<DeflateSummary> {
    await this.#submit(true);
    while (this.#inFlight.length > 0) await this.#drainOne();
    return { ...this.#summary };
  }

  async #submit(final: boolean): Promise<void> {
    const data = this.#buffer.subarray(0, this.#filled);
    const length = data.length;
    const job: ChunkJob = { data, final, level: this.options.level };
    this.#buffer = new Uint8Array(CHUNK_SIZE);
    this.#filled = 0;
    // A stream of one chunk (most small layers) is compressed here: starting a worker would cost more than it saves.
    const result = final && this.#submitted === 0 ? Promise.resolve().then(() => deflateChunk(job)) : this.pool.compress(job);
    this.#submitted++;
    // Observed now so a failure of a later chunk is not reported as unhandled while an earlier one is awaited.
    result.catch(() => {});
    // `length`, not `data.length`: a chunk sent to a worker is transferred, which empties `data` here.
    this.#inFlight.push({ result, length });
    while (this.#inFlight.length > this.pool.depth) await this.#drainOne();
  }

  async #drainOne(): Promise<void> {
    const { result, length } = this.#inFlight.shift()!;
    const { deflated, crc } = await result;
    this.#summary.crc = crc32Combine(this.#summary.crc, crc, length);
    this.#summary.size += length;
    this.#summary.compressedSize += deflated.length;
    await this.options.sink(deflated);
  }
}

/**
 * A gzip member around a chunked deflate stream: fixed header (no name, mtime 0, OS Unix),
 * then the stream, then CRC-32 and length. One member, so every gzip reader takes it.
 *
 * @example
 * ```ts
 * const gzip = await gzipStream(pool, (bytes) => file.write(bytes));
 * await gzip.write(tar);
 * await gzip.end();
 * ```
 */
export async function gzipStream(pool: DeflatePool, sink: (bytes: Uint8Array) => Promise<void> | void): Promise<{ write(bytes: Uint8Array): Promise<void>; end(): Promise<DeflateSummary> }> {
  await sink(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
  const stream = new DeflateStream(pool, { level: 6, sink });
  return {
    write: (bytes) => stream.write(bytes),
    end: async () => {
      const summary = await stream.end();
      const trailer = new DataView(new ArrayBuffer(8));
      trailer.setUint32(0, summary.crc, true);
      trailer.setUint32(4, summary.size % 2 ** 32, true);
      await sink(new Uint8Array(trailer.buffer));
      return summary;
    },
  };
}

/**
 * The same gzip bytes `gzipStream` writes, computed on this thread from bytes in memory: for small payloads, and the
 * reference the parallel writer is tested against.
 *
 * @example
 * ```ts
 * gzipDeterministic(tarBytes(entries)); // what a layer of those entries holds
 * ```
 */
export function gzipDeterministic(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])];
  let crc = 0;
  for (let at = 0; at === 0 || at < data.length; at += CHUNK_SIZE) {
    const final = at + CHUNK_SIZE >= data.length;
    const chunk = deflateChunk({ data: data.subarray(at, at + CHUNK_SIZE), final, level: 6 });
    crc = crc32Combine(crc, chunk.crc, Math.min(CHUNK_SIZE, data.length - at));
    parts.push(chunk.deflated);
  }
  const trailer = new DataView(new ArrayBuffer(8));
  trailer.setUint32(0, crc, true);
  trailer.setUint32(4, data.length % 2 ** 32, true);
  parts.push(new Uint8Array(trailer.buffer));
  return concat(parts);
}
