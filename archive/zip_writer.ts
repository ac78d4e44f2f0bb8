// Deterministic zip writer, by hand: zip libraries take DOS timestamps from the local time zone (fflate's zipSync does), and an
// archive streamed through parallel deflate needs its CRC and sizes after the data (a data descriptor).
import { VoxError } from "../errors/mod.ts";
import { concat } from "./tar_writer.ts";

/** The one file of a release zip, as its headers describe it. */
export interface ZipEntry {
  name: string;
  /** Unix permission bits, stored in the external attributes (unzip restores them). */
  mode: number;
  /** Seconds since the epoch, stored as a UTC DOS timestamp (clamped to 1980-2107). */
  mtime: number;
}

const VERSION_MADE_BY_UNIX = (3 << 8) | 20;
const VERSION_NEEDED = 20;
/** Bit 3: CRC-32 and sizes follow the data (and are in the central directory), so the data can be streamed. */
const FLAG_DATA_DESCRIPTOR = 0x0008;
const DEFLATE = 8;
const S_IFREG = 0o100000;
const LIMIT = 0xfffffffe;
const encoder = new TextEncoder();

/**
 * The local header that precedes an entry's deflated bytes: CRC and sizes zero, as the data descriptor carries them.
 *
 * @example
 * ```ts
 * const head = zipLocalHeader({ name: "vox.exe", mode: 0o755, mtime: 1700000000 });
 * ```
 */
export function zipLocalHeader(entry: ZipEntry): Uint8Array {
  const name = encoder.encode(entry.name);
  const local = new DataView(new ArrayBuffer(30));
  local.setUint32(0, 0x04034b50, true);
  local.setUint16(4, VERSION_NEEDED, true);
  writeCommon(local, 6, { crc: 0, compressed: 0, size: 0, dos: dosDateTime(entry.mtime), nameLength: name.length });
  return concat([new Uint8Array(local.buffer), name]);
}

/**
 * What follows a single entry's deflated bytes: its data descriptor, the central directory and the end record.
 * Sizes past 4 GiB would need zip64, which vox archives do not use (E_ZIP_SIZE).
 *
 * @example
 * ```ts
 * const tail = zipTail(entry, { crc, size, compressedSize });
 * ```
 */
export function zipTail(entry: ZipEntry, data: { crc: number; size: number; compressedSize: number }): Uint8Array {
  if (data.compressedSize > LIMIT || data.size > LIMIT) {
    throw new VoxError("E_ZIP_SIZE", `Cannot zip '${entry.name}': ${data.size} bytes needs zip64, which vox archives do not use`);
  }
  const name = encoder.encode(entry.name);
  const fields = { crc: data.crc, compressed: data.compressedSize, size: data.size, dos: dosDateTime(entry.mtime), nameLength: name.length };
  const descriptor = new DataView(new ArrayBuffer(16));
  descriptor.setUint32(0, 0x08074b50, true);
  descriptor.setUint32(4, data.crc, true);
  descriptor.setUint32(8, data.compressedSize, true);
  descriptor.setUint32(12, data.size, true);
  const central = new DataView(new ArrayBuffer(46));
  central.setUint32(0, 0x02014b50, true);
  central.setUint16(4, VERSION_MADE_BY_UNIX, true);
  central.setUint16(6, VERSION_NEEDED, true);
  writeCommon(central, 8, fields);
  central.setUint32(38, ((S_IFREG | (entry.mode & 0o7777)) << 16) >>> 0, true);
  central.setUint32(42, 0, true);
  const directoryOffset = 30 + name.length + data.compressedSize + 16;
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, 1, true);
  end.setUint16(10, 1, true);
  end.setUint32(12, 46 + name.length, true);
  end.setUint32(16, directoryOffset, true);
  return concat([new Uint8Array(descriptor.buffer), new Uint8Array(central.buffer), name, new Uint8Array(end.buffer)]);
}

/** Flags, method, time, crc, sizes and name length: the run of fields local and central headers share. */
function writeCommon(view: DataView, at: number, fields: { crc: number; compressed: number; size: number; dos: number; nameLength: number }): void {
  view.setUint16(at, FLAG_DATA_DESCRIPTOR, true);
  view.setUint16(at + 2, DEFLATE, true);
  view.setUint32(at + 4, fields.dos, true);
  view.setUint32(at + 8, fields.crc, true);
  view.setUint32(at + 12, fields.compressed, true);
  view.setUint32(at + 16, fields.size, true);
  view.setUint16(at + 20, fields.nameLength, true);
}

function dosDateTime(epochSeconds: number): number {
  const date = new Date(Math.min(Math.max(epochSeconds * 1000, Date.UTC(1980, 0, 1)), Date.UTC(2107, 11, 31, 23, 59, 58)));
  const time = (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | (date.getUTCSeconds() >> 1);
  const day = ((date.getUTCFullYear() - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate();
  return ((day << 16) | time) >>> 0;
}
