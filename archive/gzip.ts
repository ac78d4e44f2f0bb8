import { gzipSync } from "fflate";

/**
 * Gzip whose bytes depend only on the input: pure-JS deflate (fflate) over the whole buffer in one call, mtime 0,
 * no file name, OS byte fixed. Native zlib builds (Node's Chromium zlib, Bun's) emit different streams per
 * build and CPU, so they cannot promise byte-identical archives across machines.
 */
export function gzipDeterministic(data: Uint8Array): Uint8Array {
  return gzipSync(data, { level: 6, mtime: 0 });
}
