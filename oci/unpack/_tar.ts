// A streaming tar reader for image layers (ustar, GNU long names, PAX), by hand because it is the security boundary:
// it reads whatever a hostile layer holds and reports it faithfully; deciding what is allowed is the applier's job.
import { ChunkReader } from "../../archive/chunk_reader.ts";

export type EntryType = "file" | "hardlink" | "symlink" | "char" | "block" | "dir" | "fifo";

export interface TarHeader {
  /** As stored (after PAX and GNU long-name overrides); validated by the caller. */
  name: string;
  type: EntryType;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch (fractional from PAX). */
  mtime: number;
  atime: number | undefined;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** From PAX `SCHILY.xattr.*` (and libarchive's spelling), raw bytes. */
  xattrs: Map<string, Buffer>;
}

/** Thrown for a layer that is not a well-formed tar; the applier turns it into a refusal naming the layer. */
export class TarFormatError extends Error {}

const BLOCK = 512;
const TYPES: Record<string, EntryType> = { "0": "file", "\0": "file", "7": "file", "1": "hardlink", "2": "symlink", "3": "char", "4": "block", "5": "dir", "6": "fifo" };
const UNSUPPORTED: Record<string, string> = { S: "a GNU sparse file", V: "a GNU volume header", M: "a GNU multi-volume continuation", N: "an old GNU long-name record", D: "a GNU dumpdir" };
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads entries one at a time from a stream of tar bytes. Call `next()` for a header, then optionally read its body
 * with `body()`; whatever is not read is skipped by the next `next()`. Metadata records (PAX, GNU long names) are
 * capped at `maxMetadata` bytes so a header cannot make the reader buffer without bound.
 *
 * @example
 * ```ts
 * const tar = new TarReader(chunks[Symbol.asyncIterator](), { maxMetadata: 1 << 20 });
 * for (let entry = await tar.next(); entry; entry = await tar.next()) for await (const chunk of tar.body()) use(chunk);
 * ```
 */
export class TarReader {
  readonly #input: ChunkReader;
  readonly #maxMetadata: number;
  #unread = 0;
  #padding = 0;
  readonly #global = new Map<string, string>();

  constructor(source: AsyncIterator<Uint8Array>, options: { maxMetadata: number }) {
    this.#input = new ChunkReader(source);
    this.#maxMetadata = options.maxMetadata;
  }

  /** The next entry's header, or undefined at the end-of-archive marker (or a clean end of stream). */
  async next(): Promise<TarHeader | undefined> {
    await this.#skipRest();
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax = new Map<string, string>();
    for (;;) {
      const block = await this.#input.exactly(BLOCK);
      if (!block) return undefined;
      if (block.length < BLOCK) throw new TarFormatError("the archive ends inside a header");
      if (isZero(block)) return undefined;
      const raw = parseHeader(block);
      const typeflag = String.fromCharCode(block[156]!);
      if (typeflag === "x" || typeflag === "g" || typeflag === "L" || typeflag === "K") {
        if (raw.size > this.#maxMetadata) throw new TarFormatError(`a metadata record of ${raw.size} bytes exceeds the ${this.#maxMetadata}-byte cap`);
        const data = await this.#input.exactly(raw.size);
        if ((data?.length ?? 0) !== raw.size) throw new TarFormatError("the archive ends inside a metadata record");
        await this.#input.exactly(padding(raw.size));
        const bytes = data ?? new Uint8Array(0);
        if (typeflag === "x") pax = parsePax(bytes);
        else if (typeflag === "g") for (const [key, value] of parsePax(bytes)) this.#global.set(key, value);
        else if (typeflag === "L") longName = decode(trimNul(bytes), "a GNU long name");
        else longLink = decode(trimNul(bytes), "a GNU long link name");
        continue;
      }
      if (Object.hasOwn(UNSUPPORTED, typeflag)) throw new TarFormatError(`entry '${raw.name}' is ${UNSUPPORTED[typeflag]}, which image layers do not use`);
      let type = Object.hasOwn(TYPES, typeflag) ? TYPES[typeflag] : undefined;
      if (!type) throw new TarFormatError(`entry '${raw.name}' has the unknown type ${JSON.stringify(typeflag)}`);
      const fields = new Map([...this.#global, ...pax]);
      for (const key of fields.keys()) if (key.startsWith("GNU.sparse.")) throw new TarFormatError(`entry '${raw.name}' is a PAX sparse file, which image layers do not use`);
      const name = fields.get("path") ?? longName ?? raw.name;
      // Pre-POSIX archives mark directories only by the trailing slash.
      if (type === "file" && typeflag === "\0" && name.endsWith("/")) type = "dir";
      const header: TarHeader = {
        name,
        type,
        mode: raw.mode,
        uid: paxNumber(fields, "uid") ?? raw.uid,
        gid: paxNumber(fields, "gid") ?? raw.gid,
        size: paxNumber(fields, "size") ?? raw.size,
        mtime: paxTime(fields, "mtime") ?? raw.mtime,
        atime: paxTime(fields, "atime"),
        linkname: fields.get("linkpath") ?? longLink ?? raw.linkname,
        devmajor: raw.devmajor,
        devminor: raw.devminor,
        xattrs: xattrsOf(fields),
      };
      // Only regular files carry data: links, directories, devices and FIFOs are header-only whatever their size
      // field says (as Go's archive/tar, which umoci and containerd use, reads them).
      if (header.type !== "file") header.size = 0;
      this.#unread = header.size;
      this.#padding = padding(this.#unread);
      return header;
    }
  }

  /** The current entry's data as it arrives; fails if the archive ends first. */
  async *body(): AsyncGenerator<Uint8Array> {
    while (this.#unread > 0) {
      let got = 0;
      for await (const chunk of this.#input.stream(this.#unread)) {
        got += chunk.length;
        this.#unread -= chunk.length;
        yield chunk;
      }
      if (got === 0) throw new TarFormatError("the archive ends inside a file's data");
    }
  }

  /** Reads what follows the end-of-archive marker (so a digest over the whole stream sees every byte). */
  async drain(): Promise<void> {
    for (;;) {
      const rest = await this.#input.exactly(1 << 16);
      if (!rest || rest.length === 0) return;
    }
  }

  async #skipRest(): Promise<void> {
    for await (const chunk of this.body()) void chunk;
    if (this.#padding > 0) await this.#input.exactly(this.#padding);
    this.#padding = 0;
  }
}

interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

function parseHeader(block: Uint8Array): RawHeader {
  const stored = number(block, 148, 8, "checksum");
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) throw new TarFormatError("a tar header checksum does not match (the layer is not a tar archive, or is corrupt)");
  const magic = text(block, 257, 6);
  // POSIX ustar splits long names into prefix/name; GNU tar uses that area for other fields.
  const prefix = magic === "ustar" && block[262] === 0 ? text(block, 345, 155) : "";
  const name = text(block, 0, 100);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    mode: number(block, 100, 8, "mode") & 0o7777,
    uid: number(block, 108, 8, "uid"),
    gid: number(block, 116, 8, "gid"),
    size: number(block, 124, 12, "size"),
    mtime: number(block, 136, 12, "mtime"),
    linkname: text(block, 157, 100),
    devmajor: magic.startsWith("ustar") ? number(block, 329, 8, "devmajor") : 0,
    devminor: magic.startsWith("ustar") ? number(block, 337, 8, "devminor") : 0,
  };
}

/** An octal field, or GNU's base-256 form (high bit set) for values octal cannot hold. */
function number(block: Uint8Array, from: number, length: number, what: string): number {
  const field = block.subarray(from, from + length);
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) throw new TarFormatError(`a tar header has a negative ${what}`);
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    if (!Number.isSafeInteger(value)) throw new TarFormatError(`a tar header's ${what} is too large`);
    return value;
  }
  const digits = Buffer.from(field).toString("latin1").replace(/[\0 ]+$/, "").replace(/^[\0 ]+/, "");
  if (!/^[0-7]*$/.test(digits)) throw new TarFormatError(`a tar header has a malformed ${what} field`);
  return digits === "" ? 0 : parseInt(digits, 8);
}

function text(block: Uint8Array, from: number, length: number): string {
  return decode(trimNul(block.subarray(from, from + length)), "a tar header name");
}

function decode(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new TarFormatError(`${what} is not valid UTF-8`);
  }
}

function trimNul(bytes: Uint8Array): Uint8Array {
  const end = bytes.indexOf(0);
  return end < 0 ? bytes : bytes.subarray(0, end);
}

/** PAX records: `<length> <key>=<value>\n`, the length counting the whole record. */
function parsePax(bytes: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes[offset] === 0) break;
    const space = bytes.indexOf(0x20, offset);
    const length = space < 0 ? NaN : Number(Buffer.from(bytes.subarray(offset, space)).toString("latin1"));
    if (!Number.isSafeInteger(length) || length <= space - offset || offset + length > bytes.length || bytes[offset + length - 1] !== 0x0a) {
      throw new TarFormatError("a PAX header record is malformed");
    }
    const record = bytes.subarray(space + 1, offset + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw new TarFormatError("a PAX header record has no key");
    const key = decode(record.subarray(0, equals), "a PAX key");
    // xattr values are binary; everything else is UTF-8 text.
    const value = key.startsWith("SCHILY.xattr.") ? Buffer.from(record.subarray(equals + 1)).toString("latin1") : decode(record.subarray(equals + 1), `PAX field ${key}`);
    records.set(key, value);
    offset += length;
  }
  return records;
}

function paxNumber(fields: Map<string, string>, key: string): number | undefined {
  const value = fields.get(key);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new TarFormatError(`PAX field ${key} is not a whole number: ${JSON.stringify(value.slice(0, 40))}`);
  return Number(value);
}

function paxTime(fields: Map<string, string>, key: string): number | undefined {
  const value = fields.get(key);
  if (value === undefined) return undefined;
  if (!/^-?\d+(\.\d+)?$/.test(value)) throw new TarFormatError(`PAX field ${key} is not a time: ${JSON.stringify(value.slice(0, 40))}`);
  return Number(value);
}

function xattrsOf(fields: Map<string, string>): Map<string, Buffer> {
  const xattrs = new Map<string, Buffer>();
  for (const [key, value] of fields) {
    if (key.startsWith("SCHILY.xattr.")) xattrs.set(key.slice("SCHILY.xattr.".length), Buffer.from(value, "latin1"));
    else if (key.startsWith("LIBARCHIVE.xattr.")) xattrs.set(decodeURIComponent(key.slice("LIBARCHIVE.xattr.".length)), Buffer.from(value, "base64"));
  }
  return xattrs;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function isZero(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}
