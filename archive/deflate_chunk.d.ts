/** The chunk size: part of the format (changing it changes every layer and archive, and the assembly format). */
export const CHUNK_SIZE: number;

/** A chunk to compress: at most `CHUNK_SIZE` bytes, and whether it ends the stream. */
export interface ChunkJob {
  data: Uint8Array;
  final: boolean;
  level: 6 | 9;
}

/**
 * Raw deflate of one chunk, compressed on its own (pigz's independent mode); a chunk that is not final ends with a
 * sync flush (byte-aligned, non-final), so chunks compressed apart concatenate into one valid deflate stream.
 *
 * @example
 * ```ts
 * const { deflated, crc } = deflateChunk({ data, final: true, level: 6 });
 * ```
 */
export function deflateChunk(job: ChunkJob): { deflated: Uint8Array; crc: number };
