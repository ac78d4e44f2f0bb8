/**
 * Continues a CRC-32 over `data` (start with 0).
 *
 * @example
 * ```ts
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 */
export function crc32(data: Uint8Array, previous?: number): number;

/** crc32() by table lookup, as runtimes without zlib's crc32 compute it. */
export function tableCrc32(data: Uint8Array, previous?: number): number;

/**
 * The CRC-32 of two byte runs joined, from the CRC of each and the length of the second.
 *
 * @example
 * ```ts
 * crc32Combine(crc32(bytes("12345")), crc32(bytes("6789")), 4); // 0xcbf43926
 * ```
 */
export function crc32Combine(first: number, second: number, length: number): number;
