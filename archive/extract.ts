// Single-executable extraction, by hand because it is the security boundary of install and upgrade:
// exactly one regular-file entry with the expected name, within a size cap, streamed to a file beside the target.
import { createHash } from "node:crypto";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { createGunzip, createInflateRaw } from "node:zlib";
import { VoxError } from "../errors/mod.ts";
import { besideTarget } from "../io/atomic.ts";
import { fileChunks } from "../io/file_chunks.ts";
import { ChunkReader } from "./chunk_reader.ts";
import { crc32 } from "./crc32.js";

export interface ExtractOptions {
  format: "tar.gz" | "zip";
  /** The only entry the archive may hold, at its root. */
  entryName: string;
  /** Largest accepted uncompressed size. */
  maxBytes: number;
  /** Where the executable ends up (written beside it first, then renamed). */
  destination: string;
}

export interface ExtractedEntry {
  size: number;
  sha256: string;
  /** Permission bits recorded in the archive. */
  mode: number;
}

/**
 * Extracts the one executable from a release archive, refusing anything else: a second entry, links, devices,
 * directories, other names, `..` or absolute paths, sizes over the cap, corrupt data.
 *
 * @example
 * ```ts
 * await extractSingleExecutable("vox-v1.0.0-x86_64-unknown-linux-gnu.tar.gz", { format: "tar.gz", entryName: "vox", maxBytes: 512 << 20, destination: "/tmp/vox" });
 * ```
 */
export async function extractSingleExecutable(archive: string, options: ExtractOptions): Promise<ExtractedEntry> {
  const temp = besideTarget(options.destination);
  const output = await open(temp, "wx", 0o700);
  try {
    const entry = options.format === "zip" ? await extractZip(archive, options, output) : await extractTarGz(archive, options, output);
    await output.chmod(0o755);
    await output.sync();
    await output.close();
    await rename(temp, options.destination);
    return entry;
  } catch (error) {
    await output.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
}

export function refused(archive: string, reason: string): VoxError {
  return new VoxError("E_ARCHIVE_REFUSED", `Cannot extract ${archive}: ${reason}`, {
    hint: "This is not a well-formed vox release archive; nothing was installed. Re-download it, and report it if it came from an official release.",
  });
}

const TAR_TYPES: Record<string, string> = { "1": "a hard link", "2": "a symbolic link", "3": "a character device", "4": "a block device", "5": "a directory", "6": "a FIFO", "7": "a contiguous file", x: "a pax extended header", g: "a pax global header", L: "a GNU long name", K: "a GNU long link name" };
/** How many zero bytes may follow the end-of-archive marker (tar pads to 10 KiB records; be generous, not unbounded). */
const MAX_TRAILING_ZEROS = 1 << 20;

async function extractTarGz(archive: string, options: ExtractOptions, output: FileHandle): Promise<ExtractedEntry> {
  const source = createGunzip({ chunkSize: 1 << 16 });
  // Each chunk's buffer is reused by the next read, so the next is read only once zlib has taken this one.
  const fed = (async () => {
    for await (const chunk of fileChunks(archive)) await new Promise<void>((resolve, reject) => source.write(chunk, (error) => (error ? reject(error) : resolve())));
    source.end();
  })();
  fed.catch(() => source.destroy());
  const reader = new ChunkReader(source[Symbol.asyncIterator]());
  try {
    const header = await reader.exactly(512);
    if (!header || isZero(header)) throw refused(archive, "the archive holds no entries");
    const entry = parseTarHeader(archive, header);
    checkContained(archive, entry.name, options.entryName);
    if (entry.type !== "0" && entry.type !== "\0") throw refused(archive, `entry '${entry.name}' is ${TAR_TYPES[entry.type] ?? `of unknown type '${entry.type}'`}, not a regular file`);
    checkExactName(archive, entry.name, options.entryName);
    if (entry.size > options.maxBytes) throw refused(archive, `entry '${entry.name}' is ${entry.size} bytes, over the ${options.maxBytes}-byte cap`);
    const hash = createHash("sha256");
    let position = 0;
    for await (const chunk of reader.stream(entry.size)) {
      hash.update(chunk);
      await output.write(chunk, 0, chunk.length, position);
      position += chunk.length;
    }
    if (position !== entry.size) throw refused(archive, `entry '${entry.name}' is truncated (${position} of ${entry.size} bytes)`);
    await reader.exactly((512 - (entry.size % 512)) % 512);
    let trailing = 0;
    for (;;) {
      const block = await reader.exactly(512);
      if (!block) break;
      if (!isZero(block)) {
        const second = parseTarHeader(archive, block);
        throw refused(archive, `it holds a second entry '${second.name}'; a release archive holds exactly one executable`);
      }
      trailing += 512;
      if (trailing > MAX_TRAILING_ZEROS) throw refused(archive, "too much trailing data after the end of the archive");
    }
    return { size: entry.size, sha256: hash.digest("hex"), mode: entry.mode };
  } catch (error) {
    if (error instanceof VoxError) throw error;
    throw refused(archive, `the gzip stream is corrupt (${error instanceof Error ? error.message : String(error)})`);
  } finally {
    source.destroy();
  }
}

function parseTarHeader(archive: string, block: Uint8Array): { name: string; type: string; size: number; mode: number } {
  const text = (from: number, length: number) => new TextDecoder().decode(block.subarray(from, from + length)).replace(/\0.*$/s, "");
  const octal = (from: number, length: number) => {
    const field = text(from, length).trim();
    if (!/^[0-7]*$/.test(field)) throw refused(archive, "a tar header has a malformed number");
    return field === "" ? 0 : parseInt(field, 8);
  };
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  if (octal(148, 8) !== sum) throw refused(archive, "a tar header checksum does not match");
  const prefix = text(257, 6) === "ustar" ? text(345, 155) : "";
  const name = prefix ? `${prefix}/${text(0, 100)}` : text(0, 100);
  return { name, type: String.fromCharCode(block[156]!), size: octal(124, 12), mode: octal(100, 8) };
}

/** Names that would land outside the target directory are called out as such, whatever else is wrong. */
function checkContained(archive: string, actual: string, expected: string): void {
  if (actual.startsWith("/") || actual.startsWith("\\") || /^[A-Za-z]:/.test(actual)) throw refused(archive, `entry '${actual}' has an absolute path; expected '${expected}' at the archive root`);
  if (actual.split(/[\\/]/).includes("..")) throw refused(archive, `entry '${actual}' would escape the target directory; expected '${expected}'`);
}

function checkExactName(archive: string, actual: string, expected: string): void {
  if (actual !== expected) throw refused(archive, `entry '${actual}' is not the expected '${expected}' at the archive root`);
}

function isZero(block: Uint8Array): boolean {
  return block.every((byte) => byte === 0);
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

async function extractZip(archive: string, options: ExtractOptions, output: FileHandle): Promise<ExtractedEntry> {
  const input = await open(archive, "r");
  try {
    const { size: fileSize } = await input.stat();
    const tailLength = Math.min(fileSize, 22 + 0xffff);
    const tail = await readAt(input, fileSize - tailLength, tailLength);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 0x05 && tail[i + 3] === 0x06) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw refused(archive, "no zip end-of-central-directory record");
    const end = view(tail.subarray(eocd));
    const entries = end.getUint16(10, true);
    if (entries !== 1) throw refused(archive, `it holds ${entries} entries; a release archive holds exactly one executable`);
    const centralOffset = end.getUint32(16, true);
    const centralBytes = await readAt(input, centralOffset, Math.min(46 + 0xffff * 3, fileSize - centralOffset));
    const central = view(centralBytes);
    if (centralBytes.length < 46 || central.getUint32(0, true) !== 0x02014b50) throw refused(archive, "the zip central directory is corrupt");
    const flags = central.getUint16(8, true);
    const method = central.getUint16(10, true);
    const crc = central.getUint32(16, true);
    const compressedSize = central.getUint32(20, true);
    const size = central.getUint32(24, true);
    const nameLength = central.getUint16(28, true);
    const madeByUnix = central.getUint16(4, true) >> 8 === 3;
    const unixMode = central.getUint32(38, true) >>> 16;
    const localOffset = central.getUint32(42, true);
    const name = new TextDecoder().decode(centralBytes.subarray(46, 46 + nameLength));
    checkContained(archive, name, options.entryName);
    if (flags & 1) throw refused(archive, `entry '${name}' is encrypted`);
    if (method !== 0 && method !== 8) throw refused(archive, `entry '${name}' uses compression method ${method}; only stored and deflate are accepted`);
    if (madeByUnix && (unixMode & S_IFMT) !== 0 && (unixMode & S_IFMT) !== S_IFREG) throw refused(archive, `entry '${name}' is ${(unixMode & S_IFMT) === 0o120000 ? "a symbolic link" : "not a regular file"}`);
    checkExactName(archive, name, options.entryName);
    if (size > options.maxBytes) throw refused(archive, `entry '${name}' is ${size} bytes, over the ${options.maxBytes}-byte cap`);
    const local = view(await readAt(input, localOffset, 30));
    if (local.getUint32(0, true) !== 0x04034b50 || local.getUint16(26, true) !== nameLength) throw refused(archive, "the zip local header does not match the central directory");
    const dataStart = localOffset + 30 + nameLength + local.getUint16(28, true);
    if (dataStart + compressedSize > fileSize) throw refused(archive, `entry '${name}' is truncated`);
    // A stream over the FileHandle itself (not its raw fd): destroying it on a refusal leaves the handle open, so
    // the one close below is the only one (a stream over `input.fd` closed the descriptor a second time: EBADF).
    const raw = input.createReadStream({ start: dataStart, end: dataStart + compressedSize - 1, autoClose: false });
    const source = method === 8 ? raw.pipe(createInflateRaw()) : raw;
    const hash = createHash("sha256");
    let position = 0;
    let running = 0;
    try {
      for await (const chunk of source as AsyncIterable<Uint8Array>) {
        position += chunk.length;
        if (position > size) throw refused(archive, `entry '${name}' inflates past its declared ${size} bytes`);
        hash.update(chunk);
        running = crc32(chunk, running);
        await output.write(chunk, 0, chunk.length, position - chunk.length);
      }
    } catch (error) {
      if (error instanceof VoxError) throw error;
      throw refused(archive, `entry '${name}' has corrupt compressed data (${error instanceof Error ? error.message : String(error)})`);
    } finally {
      raw.destroy();
    }
    if (position !== size) throw refused(archive, `entry '${name}' is truncated (${position} of ${size} bytes)`);
    if (running !== crc) throw refused(archive, `entry '${name}' fails its CRC-32 check`);
    return { size, sha256: hash.digest("hex"), mode: madeByUnix ? unixMode & 0o7777 : 0o755 };
  } finally {
    await input.close();
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(Math.max(0, length));
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
  return buffer.subarray(0, bytesRead);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
