/** The deflate window: every chunk after the first is primed with this much of the input before it. */
export const WINDOW: number;

/** A chunk to compress: its bytes, the 32 KiB of input before it (empty for the first), and whether it ends the stream. */
export interface ChunkJob {
  data: Uint8Array;
  dictionary: Uint8Array;
  final: boolean;
  level: 6 | 9;
}

/**
 * Raw deflate of one chunk, primed with the input before it; a chunk that is not final ends with a sync flush
 * (byte-aligned, non-final), so chunks compressed apart concatenate into one valid deflate stream. A first chunk that
 * is not final must be at least `WINDOW` bytes (its first `WINDOW` bytes are stored).
 *
 * @example
 * ```ts
 * const { deflated, crc } = deflateChunk({ data, dictionary: new Uint8Array(0), final: true, level: 6 });
 * ```
 */
export function deflateChunk(job: ChunkJob): { deflated: Uint8Array; crc: number };
