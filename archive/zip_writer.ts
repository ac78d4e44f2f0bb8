// Deterministic zip writer, by hand: fflate's zipSync derives DOS timestamps from the local time zone.
import { deflateSync } from "fflate";
import { VoxError } from "../errors/mod.ts";
import { concat } from "./tar_writer.ts";
import { crc32 } from "./crc32.ts";

export interface ZipFile {
  name: string;
  data: Uint8Array;
  /** Unix permission bits, stored in the external attributes (unzip restores them). */
  mode: number;
  /** Seconds since the epoch, stored as a UTC DOS timestamp (clamped to 1980-2107). */
  mtime: number;
}

const VERSION_MADE_BY_UNIX = (3 << 8) | 20;
const VERSION_NEEDED = 20;
const S_IFREG = 0o100000;
const encoder = new TextEncoder();

/**
 * A zip archive of regular files, deflated at level 9; identical input gives identical bytes on any machine.
 *
 * @example
 * ```ts
 * const zip = zipBytes([{ name: "vox.exe", data, mode: 0o755, mtime: 1700000000 }]);
 * ```
 */
export function zipBytes(files: readonly ZipFile[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const file of files) {
    const name = encoder.encode(file.name);
    const compressed = deflateSync(file.data, { level: 9 });
    if (compressed.length > 0xfffffffe || file.data.length > 0xfffffffe) {
      throw new VoxError("E_ZIP_SIZE", `Cannot zip '${file.name}': ${file.data.length} bytes needs zip64, which vox archives do not use`);
    }
    const fields = { crc: crc32(file.data), compressed: compressed.length, size: file.data.length, dos: dosDateTime(file.mtime), nameLength: name.length };
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, VERSION_NEEDED, true);
    writeCommon(local, 6, fields);
    locals.push(new Uint8Array(local.buffer), name, compressed);
    const central = new DataView(new ArrayBuffer(46));
    central.setUint32(0, 0x02014b50, true);
    central.setUint16(4, VERSION_MADE_BY_UNIX, true);
    central.setUint16(6, VERSION_NEEDED, true);
    writeCommon(central, 8, fields);
    central.setUint32(38, ((S_IFREG | (file.mode & 0o7777)) << 16) >>> 0, true);
    central.setUint32(42, offset, true);
    centrals.push(new Uint8Array(central.buffer), name);
    offset += 30 + name.length + compressed.length;
  }
  const directory = concat(centrals);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, files.length, true);
  end.setUint16(10, files.length, true);
  end.setUint32(12, directory.length, true);
  end.setUint32(16, offset, true);
  return concat([...locals, directory, new Uint8Array(end.buffer)]);
}

/** Flags, method, time, crc, sizes and name length: the run of fields local and central headers share. */
function writeCommon(view: DataView, at: number, fields: { crc: number; compressed: number; size: number; dos: number; nameLength: number }): void {
  view.setUint16(at, 0, true);
  view.setUint16(at + 2, 8, true);
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
