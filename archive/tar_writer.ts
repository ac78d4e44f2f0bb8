// Deterministic tar writer, by hand: byte-reproducible output is the point, so every header field is fixed here.
import { VoxError } from "../errors/mod.ts";

export interface TarEntry {
  /** Relative path with `/` separators; directories end without a slash (one is added). */
  name: string;
  type: "file" | "directory" | "symlink";
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  data?: Uint8Array;
  linkname?: string;
}

export interface TarOwner {
  uname: string;
  gname: string;
}

const BLOCK = 512;
const encoder = new TextEncoder();
const TYPEFLAG = { file: "0", directory: "5", symlink: "2" } as const;

/**
 * Serialises entries in the order given as a POSIX (ustar + pax) archive: uid/gid 0, fixed owner names,
 * no device numbers, pax records only where a value does not fit ustar. Same input, same bytes.
 *
 * @example
 * ```ts
 * const tar = tarBytes([{ name: "vox", type: "file", mode: 0o755, mtime: 0, data }], { uname: "root", gname: "root" });
 * ```
 */
export function tarBytes(entries: readonly TarEntry[], owner: TarOwner = { uname: "", gname: "" }): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) parts.push(...entryBlocks(entry, owner));
  parts.push(new Uint8Array(BLOCK * 2));
  return concat(parts);
}

function entryBlocks(entry: TarEntry, owner: TarOwner): Uint8Array[] {
  if (entry.name === "" || entry.name.startsWith("/") || entry.name.split("/").includes("..")) {
    throw new VoxError("E_TAR_NAME", `Cannot write tar entry '${entry.name}': names must be relative and stay inside the archive`);
  }
  const data = entry.type === "file" ? (entry.data ?? new Uint8Array()) : new Uint8Array();
  const name = entry.type === "directory" ? `${entry.name.replace(/\/+$/, "")}/` : entry.name;
  const linkname = entry.linkname ?? "";
  const pax: Array<[string, string]> = [];
  if (encoder.encode(name).length > 100) pax.push(["path", name]);
  if (encoder.encode(linkname).length > 100) pax.push(["linkpath", linkname]);
  if (data.length > 0o77777777777) pax.push(["size", String(data.length)]);
  const blocks: Uint8Array[] = [];
  if (pax.length > 0) {
    const body = encoder.encode(pax.map(([key, value]) => paxRecord(key, value)).join(""));
    blocks.push(header({ name: "PaxHeader", typeflag: "x", mode: 0o644, size: body.length, mtime: entry.mtime, linkname: "" }, owner), body, padding(body.length));
  }
  blocks.push(header({ name, typeflag: TYPEFLAG[entry.type], mode: entry.mode, size: data.length, mtime: entry.mtime, linkname }, owner));
  if (data.length > 0) blocks.push(data, padding(data.length));
  return blocks;
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

function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
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
