// Deterministic tar writer, by hand: byte-reproducible output is the point, so every header field is fixed here.
import { VoxError } from "../errors/mod.ts";

export interface TarEntry {
  /** Relative path with `/` separators; directories end without a slash (one is added). */
  name: string;
  type: "file" | "directory" | "symlink";
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** A file's length: exactly this many bytes must follow its header. 0 for others. */
  size?: number;
  linkname?: string;
}

export interface TarOwner {
  uname: string;
  gname: string;
}

const BLOCK = 512;
const encoder = new TextEncoder();
const TYPEFLAG = { file: "0", directory: "5", symlink: "2" } as const;
/** Two zero blocks end a tar stream. */
export const TAR_END = new Uint8Array(BLOCK * 2);

/**
 * The header blocks of one POSIX (ustar + pax) entry: uid/gid 0, fixed owner names, no device numbers, pax records
 * only where a value does not fit ustar. A file's `size` bytes and `tarPadding(size)` follow; `TAR_END` closes the
 * stream. Same entry, same bytes.
 *
 * @example
 * ```ts
 * const head = tarHeader({ name: "vox", type: "file", mode: 0o755, mtime: 0, size: data.length }, { uname: "root", gname: "root" });
 * const tar = concat([head, data, tarPadding(data.length), TAR_END]);
 * ```
 */
export function tarHeader(entry: TarEntry, owner: TarOwner = { uname: "", gname: "" }): Uint8Array {
  if (entry.name === "" || entry.name.startsWith("/") || entry.name.split("/").includes("..")) {
    throw new VoxError("E_TAR_NAME", `Cannot write tar entry '${entry.name}': names must be relative and stay inside the archive`);
  }
  const size = entry.type === "file" ? (entry.size ?? 0) : 0;
  const name = entry.type === "directory" ? `${entry.name.replace(/\/+$/, "")}/` : entry.name;
  const linkname = entry.linkname ?? "";
  const pax: Array<[string, string]> = [];
  if (encoder.encode(name).length > 100) pax.push(["path", name]);
  if (encoder.encode(linkname).length > 100) pax.push(["linkpath", linkname]);
  if (size > 0o77777777777) pax.push(["size", String(size)]);
  const blocks: Uint8Array[] = [];
  if (pax.length > 0) {
    const body = encoder.encode(pax.map(([key, value]) => paxRecord(key, value)).join(""));
    blocks.push(header({ name: "PaxHeader", typeflag: "x", mode: 0o644, size: body.length, mtime: entry.mtime, linkname: "" }, owner), body, tarPadding(body.length));
  }
  blocks.push(header({ name, typeflag: TYPEFLAG[entry.type], mode: entry.mode, size, mtime: entry.mtime, linkname }, owner));
  return concat(blocks);
}

/**
 * A whole tar in memory, entries in the order given: for small archives (test fixtures, one-file blobs). Layers and
 * release archives stream through `tarHeader` instead.
 *
 * @example
 * ```ts
 * const tar = tarBytes([{ name: "hello.txt", type: "file", mode: 0o644, mtime: 0, data }]);
 * ```
 */
export function tarBytes(entries: ReadonlyArray<TarEntry & { data?: Uint8Array }>, owner?: TarOwner): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const { data = new Uint8Array(), ...entry } of entries) {
    const size = entry.type === "file" ? data.length : 0;
    parts.push(tarHeader({ ...entry, size }, owner), data.subarray(0, size), tarPadding(size));
  }
  return concat([...parts, TAR_END]);
}

/** The zero bytes that fill a file's data up to the next 512-byte block. */
export function tarPadding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).length;
  let total = bodyLength + 1;
  while (String(total).length + bodyLength !== total) total++;
  return `${total}${body}`;
}

function header(fields: { name: string; typeflag: string; mode: number; size: number; mtime: number; linkname: string }, owner: TarOwner): Uint8Array {
  const block = new Uint8Array(BLOCK);
  writeString(block, 0, 100, fields.name);
  writeOctal(block, 100, 8, fields.mode & 0o7777);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, fields.size > 0o77777777777 ? 0 : fields.size);
  writeOctal(block, 136, 12, Math.max(0, Math.floor(fields.mtime)));
  block.fill(0x20, 148, 156);
  writeString(block, 156, 1, fields.typeflag);
  writeString(block, 157, 100, fields.linkname);
  writeString(block, 257, 6, "ustar");
  writeString(block, 263, 2, "00");
  writeString(block, 265, 32, owner.uname);
  writeString(block, 297, 32, owner.gname);
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  let sum = 0;
  for (const byte of block) sum += byte;
  writeString(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

function writeString(block: Uint8Array, offset: number, length: number, value: string): void {
  block.set(encoder.encode(value).subarray(0, length), offset);
}

function writeOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  writeString(block, offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
