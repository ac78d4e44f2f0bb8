// One chunk of the chunked deflate format (see parallel_deflate.ts), the same function on the main thread and in
// worker threads, so where a chunk is compressed never changes its bytes. Plain JavaScript for the reason
// crc32.js gives. Types: deflate_chunk.d.ts.
//
// fflate 0.8.3 (pinned) has two streaming-deflate defects this works around, both found by GNU gzip rejecting layers:
// flush(true) writes its empty stored block at the wrong bit offset (101arrowz/fflate#267), and a stream's first
// push may refer back into the zero-filled window before any input (#260). So: a stream of one chunk is fflate's
// one-shot deflateSync; otherwise the first chunk starts with its first 32 KiB stored, every streamed chunk is primed
// with a full 32 KiB of real input, and the sync flush is written here.
import { Deflate, deflateSync } from "fflate";
import { crc32 } from "./crc32.js";

/** The deflate window: every chunk after the first is primed with this much of the input before it. */
export const WINDOW = 1 << 15;
/**
 * fflate's memory level, part of the format like the chunk size: a 64 Ki-entry match table (fflate's lowest
 * recommended) stays in a 512 KiB L2 cache where its default for 1 MiB pushes (2^20 entries) does not. Measured under
 * Bun on the ~110 MB executable: 55-65 instead of 67-92 ms per MiB at level 6, and 0.03% more bytes.
 */
const MEMORY_LEVEL = 4;
export function deflateChunk(job) {
  const { data, dictionary, final, level } = job;
  const crc = crc32(data);
  if (final && dictionary.length === 0) return { deflated: deflateSync(data, { level, mem: MEMORY_LEVEL }), crc };
  if (dictionary.length !== 0 && dictionary.length !== WINDOW) throw new Error(`a chunk's dictionary must be empty or ${WINDOW} bytes, not ${dictionary.length}`);
  const parts = [];
  const first = dictionary.length === 0;
  if (first) parts.push(storedBlock(data.subarray(0, WINDOW)));
  const body = first ? data.subarray(WINDOW) : data;
  const deflate = new Deflate({ level, mem: MEMORY_LEVEL, dictionary: first ? data.subarray(0, WINDOW) : dictionary }, (part) => parts.push(part));
  // One push: how a chunk is pushed shapes the blocks fflate emits, and fewer, larger pushes are faster (64 KiB pushes
  // cost half as much time again).
  deflate.push(body, final);
  if (!final) parts.push(syncFlush(deflate));
  let length = 0;
  for (const part of parts) length += part.length;
  const deflated = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    deflated.set(part, offset);
    offset += part.length;
  }
  return { deflated, crc };
}

/** A non-final stored block holding `bytes` (at most 65535), starting and ending on a byte boundary. */
function storedBlock(bytes) {
  const block = new Uint8Array(5 + bytes.length);
  block.set([0, bytes.length & 0xff, bytes.length >> 8, ~bytes.length & 0xff, (~bytes.length >> 8) & 0xff]);
  block.set(bytes, 5);
  return block;
}

/**
 * Ends a streamed chunk as zlib's Z_SYNC_FLUSH does: the pending bits, an empty non-final stored block, byte-aligned.
 * fflate keeps the bits not yet emitted in its state: `s.r` is the bit offset in the low 3 bits, the partial byte above.
 */
function syncFlush(deflate) {
  deflate.flush(false);
  const pending = deflate.s.r;
  const offset = pending & 7;
  const partial = pending >> 3;
  // The 3 header bits (all zero) fit in the partial byte unless they start at bit 6 or 7.
  return new Uint8Array(offset > 5 ? [partial, 0, 0, 0, 0xff, 0xff] : [partial, 0, 0, 0xff, 0xff]);
}
