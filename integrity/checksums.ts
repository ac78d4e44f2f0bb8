import { VoxError } from "../errors/mod.ts";

export interface ChecksumEntry {
  basename: string;
  /** 64 lowercase hex digits. */
  sha256: string;
}

/**
 * `checksums.txt` as GNU `sha256sum -c` reads it: `<hex>  <basename>\n`, sorted by basename (byte order).
 *
 * @example
 * ```ts
 * formatChecksums([{ basename: "b", sha256: "0".repeat(64) }, { basename: "a", sha256: "1".repeat(64) }]);
 * // "111…  a\n000…  b\n"
 * ```
 */
export function formatChecksums(entries: readonly ChecksumEntry[]): string {
  const sorted = [...entries].sort((a, b) => compareBytes(a.basename, b.basename));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.basename === sorted[i - 1]!.basename) throw new VoxError("E_CHECKSUMS_DUPLICATE", `Cannot write checksums: '${sorted[i]!.basename}' is listed twice`);
  }
  return sorted.map((e) => `${checkedHex(e.sha256, e.basename)}  ${checkedBasename(e.basename)}\n`).join("");
}

/**
 * Parses a checksums file strictly: one `<hex>  <name>` (or GNU binary-mode `<hex> *<name>`) per line, bare
 * basenames only, no duplicates. `source` names the file in error messages.
 */
export function parseChecksums(text: string, source = "checksums.txt"): Map<string, string> {
  const entries = new Map<string, string>();
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((raw, index) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const match = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    const where = `${source} line ${index + 1}`;
    if (!match) throw malformed(`${where} is not '<sha256>  <file>': ${JSON.stringify(line.slice(0, 120))}`);
    const [, hex, name] = match as unknown as [string, string, string];
    if (!isBasename(name)) throw malformed(`${where} names '${name}', which is not a bare file name`);
    if (entries.has(name)) throw malformed(`${where} lists '${name}' a second time`);
    entries.set(name, hex.toLowerCase());
  });
  return entries;
}

function malformed(message: string): VoxError {
  return new VoxError("E_CHECKSUMS_MALFORMED", `Cannot read checksums: ${message}`, { hint: "The checksums file is damaged or not a vox release checksums file; re-download it." });
}

function isBasename(name: string): boolean {
  return name !== "." && name !== ".." && !/[/\\\0\n]/.test(name);
}

function checkedBasename(name: string): string {
  if (!isBasename(name)) throw new VoxError("E_CHECKSUMS_NAME", `Cannot write checksums for '${name}': not a bare file name`);
  return name;
}

function checkedHex(hex: string, name: string): string {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new VoxError("E_CHECKSUMS_DIGEST", `Cannot write checksums for '${name}': '${hex}' is not 64 lowercase hex digits`);
  return hex;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
