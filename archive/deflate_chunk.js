// One chunk of the chunked deflate format (see parallel_deflate.ts), the same function on the main thread and in
// worker threads, so where a chunk is compressed never changes its bytes. Plain JavaScript for the reason
// crc32.js gives. Types: deflate_chunk.d.ts.
//
// The compressor is libdeflate 1.14 built to WebAssembly (archive/libdeflate/, scripts/build-deflate-wasm.sh), with
// one patch: a chunk that is not final ends in a sync flush, so independently compressed chunks join into one
// deflate stream. WebAssembly runs the same code to the same bytes in Bun, Node and Deno on any machine; under Bun
// on the ~110 MB executable it takes 31-35 ms per MiB at level 6 where fflate took 72-81, and writes 2% fewer bytes.
import { Buffer } from "node:buffer";
import { crc32 } from "./crc32.js";
import { VOX_DEFLATE_WASM } from "./libdeflate/vox_deflate_wasm.js";

/** The chunk size: part of the format (changing it changes every layer and archive, and the assembly format). */
export const CHUNK_SIZE = 1 << 20;

let module;
const compressors = new Map();

/** This thread's compressor for `level`, made on first use: its own WebAssembly instance with fixed buffers. */
function compressor(level) {
  let made = compressors.get(level);
  if (made) return made;
  module ??= new WebAssembly.Module(Buffer.from(VOX_DEFLATE_WASM, "base64"));
  const { memory, vox_deflate_init, vox_deflate, vox_deflate_output } = new WebAssembly.Instance(module, {}).exports;
  const input = vox_deflate_init(level, CHUNK_SIZE);
  if (input === 0) throw new Error(`libdeflate could not make a level ${level} compressor`);
  made = { memory, input, output: vox_deflate_output(), deflate: vox_deflate };
  compressors.set(level, made);
  return made;
}

export function deflateChunk(job) {
  const { data, final, level } = job;
  if (data.length > CHUNK_SIZE) throw new Error(`a chunk holds at most ${CHUNK_SIZE} bytes, not ${data.length}`);
  // A sync flush after an empty input would be a stream of one empty stored block: only the last chunk may be short.
  if (!final && data.length === 0) throw new Error("only the final chunk may be empty");
  const { memory, input, output, deflate } = compressor(level);
  new Uint8Array(memory.buffer, input, data.length).set(data);
  const size = deflate(data.length, final ? 1 : 0);
  if (size === 0) throw new Error(`libdeflate could not compress a chunk of ${data.length} bytes`);
  return { deflated: new Uint8Array(memory.buffer, output, size).slice(), crc: crc32(data) };
}
