// One chunk of the chunked deflate format (see parallel_deflate.ts), the same function on the main thread and in
// worker threads, so where a chunk is compressed never changes its bytes. Plain JavaScript for the reason
// crc32.js gives. Types: deflate_chunk.d.ts.
import { Deflate } from "fflate";
import { crc32 } from "./crc32.js";

/** fflate's streaming deflate is fed this much per push: fixed, because the pushes shape the blocks it emits. */
const PUSH = 1 << 16;

export function deflateChunk(job) {
  const parts = [];
  let length = 0;
  const deflate = new Deflate({ level: job.level, ...(job.dictionary.length > 0 ? { dictionary: job.dictionary } : {}) }, (part) => {
    parts.push(part);
    length += part.length;
  });
  const data = job.data;
  if (data.length === 0) deflate.push(data, job.final);
  for (let at = 0; at < data.length; at += PUSH) deflate.push(data.subarray(at, at + PUSH), job.final && at + PUSH >= data.length);
  // A sync flush ends the chunk on a byte boundary with an empty stored block, so the next chunk's blocks follow it.
  if (!job.final) deflate.flush(true);
  const deflated = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    deflated.set(part, offset);
    offset += part.length;
  }
  return { deflated, crc: crc32(data) };
}
