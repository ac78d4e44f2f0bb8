import { VoxError } from "../../errors/mod.ts";
import { formatKeyPath, type KeyPath, locateTomlKeys } from "../../pm/toml_locator.ts";
import { parseTomlDocument } from "../../pm/toml_problems.ts";

/** What to do with character and block devices and FIFOs. */
export type DevicePolicy = "refuse" | "skip" | "allow";
/** What to do with setuid and setgid bits on files. */
export type SetuidPolicy = "strip" | "refuse" | "keep";
/**
 * Who owns what is unpacked: `auto` keeps the image's owners when running as root and gives everything to the caller
 * otherwise (as `umoci --rootless`); `keep` needs root; `caller` always maps to the caller; `force` sets one owner.
 */
export type OwnershipPolicy = { mode: "auto" } | { mode: "keep" } | { mode: "caller" } | { mode: "force"; uid: number; gid: number };

/** Limits checked while the layers stream, before the bytes they govern are written. */
export interface UnpackLimits {
  /** Entries over all layers (whiteouts included). */
  entries: number;
  /** Bytes of one file. */
  fileSize: number;
  /** Bytes of all files over all layers. */
  totalSize: number;
  /** Bytes of one entry's path. */
  pathLength: number;
  /** Components of one entry's path. */
  depth: number;
  /** Uncompressed bytes per compressed byte of a layer, checked once a layer has inflated past RATIO_FLOOR. */
  compressionRatio: number;
}

/** The unpack policy: the security boundary between an image and the host. */
export interface UnpackPolicy {
  devices: DevicePolicy;
  setuid: SetuidPolicy;
  /** Extended attributes kept (`name`, or `prefix.*`); every other one, `security.capability` included, is dropped. */
  xattrs: readonly string[];
  ownership: OwnershipPolicy;
  limits: UnpackLimits;
}

/** A layer inflating this far is not judged by its ratio yet: small layers of zeros compress absurdly well. */
export const RATIO_FLOOR = 8 << 20;

const GIB = 1024 ** 3;

/** The policy when no file is given, and the value of every key a file leaves out. */
export const DEFAULT_UNPACK_POLICY: UnpackPolicy = Object.freeze({
  devices: "refuse",
  setuid: "strip",
  xattrs: Object.freeze([]),
  ownership: Object.freeze({ mode: "auto" }),
  limits: Object.freeze({ entries: 1_000_000, fileSize: 8 * GIB, totalSize: 32 * GIB, pathLength: 4096, depth: 256, compressionRatio: 100 }),
}) as UnpackPolicy;

const ENUMS = { devices: ["refuse", "skip", "allow"], setuid: ["strip", "refuse", "keep"], ownership: ["auto", "keep", "caller", "force"] } as const;
const LIMIT_KEYS: Record<string, keyof UnpackLimits> = {
  entries: "entries",
  file_size: "fileSize",
  total_size: "totalSize",
  path_length: "pathLength",
  depth: "depth",
  compression_ratio: "compressionRatio",
};
const SIZE_KEYS = new Set(["file_size", "total_size"]);
const UNITS: Record<string, number> = { "": 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: GIB, TiB: 1024 ** 4 };
const XATTR_NAME = /^(security|system|trusted|user)\.[^\s*]+(\.\*)?$|^(security|system|trusted|user)\.\*$/;
const MAX_ID = 2 ** 32 - 2;

/**
 * Reads an unpack policy from TOML, checked by hand (it is the security boundary): every unknown key, wrong type
 * or out-of-range value is reported at once, each as `<source>:<line>: <key>: <problem>`; left-out keys keep their
 * safe defaults.
 *
 * @example
 * ```ts
 * const policy = parseUnpackPolicy('devices = "skip"\n[limits]\nfile_size = "1 GiB"\n', "policy.toml");
 * policy.devices; // "skip"
 * policy.limits.fileSize; // 1073741824
 * policy.setuid; // "strip" (the default)
 * ```
 */
export function parseUnpackPolicy(text: string, source: string): UnpackPolicy {
  const parsed = parseTomlDocument(text, { maxDepth: 4 });
  if (parsed.syntax) throw policyError(source, [`${source}:${parsed.syntax.line}: ${parsed.syntax.message}`]);
  const locator = locateTomlKeys(text);
  const problems: string[] = [];
  const report = (path: KeyPath, message: string) => problems.push(`${source}:${locator.lineOf(path) ?? 1}: ${formatKeyPath(path)}: ${message}`);
  const document = parsed.document;

  const policy = { ...DEFAULT_UNPACK_POLICY, limits: { ...DEFAULT_UNPACK_POLICY.limits } } as { -readonly [K in keyof UnpackPolicy]: UnpackPolicy[K] } & { limits: UnpackLimits };
  for (const [key, value] of Object.entries(document)) {
    if (key === "devices" || key === "setuid") {
      const choice = oneOf(value, ENUMS[key], [key], report);
      if (choice) (policy as Record<string, unknown>)[key] = choice;
    } else if (key === "xattrs") {
      policy.xattrs = xattrList(value, report);
    } else if (key === "ownership") {
      policy.ownership = ownership(value, report) ?? policy.ownership;
    } else if (key === "limits") {
      if (!isTable(value)) report(["limits"], `must be a table, not ${typeName(value)}`);
      else {
        for (const [name, limit] of Object.entries(value)) {
          const field = Object.hasOwn(LIMIT_KEYS, name) ? LIMIT_KEYS[name] : undefined;
          if (!field) report(["limits", name], `unknown key (known keys: ${Object.keys(LIMIT_KEYS).join(", ")})`);
          else {
            const parsedLimit = SIZE_KEYS.has(name) ? size(limit, ["limits", name], report) : positive(limit, ["limits", name], report);
            if (parsedLimit !== undefined) policy.limits[field] = parsedLimit;
          }
        }
      }
    } else {
      report([key], "unknown key (known keys: devices, setuid, xattrs, ownership, limits)");
    }
  }
  if (problems.length > 0) throw policyError(source, problems);
  return policy;
}

type Report = (path: KeyPath, message: string) => void;

function oneOf<T extends string>(value: unknown, choices: readonly T[], path: KeyPath, report: Report): T | undefined {
  if (typeof value === "string" && (choices as readonly string[]).includes(value)) return value as T;
  report(path, `must be one of ${choices.map((c) => `"${c}"`).join(", ")}, not ${typeof value === "string" ? JSON.stringify(value) : typeName(value)}`);
  return undefined;
}

function xattrList(value: unknown, report: Report): string[] {
  if (!Array.isArray(value)) {
    report(["xattrs"], `must be an array of attribute names, not ${typeName(value)}`);
    return [];
  }
  return value.filter((name, index) => {
    if (typeof name === "string" && XATTR_NAME.test(name)) return true;
    report(["xattrs", index], `must be an attribute name like "user.comment" or a namespace pattern like "user.*", not ${typeof name === "string" ? JSON.stringify(name) : typeName(name)}`);
    return false;
  }) as string[];
}

function ownership(value: unknown, report: Report): OwnershipPolicy | undefined {
  if (!isTable(value)) {
    report(["ownership"], `must be a table (mode = "auto" | "keep" | "caller" | "force"), not ${typeName(value)}`);
    return undefined;
  }
  for (const key of Object.keys(value)) if (!["mode", "uid", "gid"].includes(key)) report(["ownership", key], "unknown key (known keys: mode, uid, gid)");
  const mode = value.mode === undefined ? "auto" : oneOf(value.mode, ENUMS.ownership, ["ownership", "mode"], report);
  if (mode !== "force") {
    for (const key of ["uid", "gid"]) if (value[key] !== undefined) report(["ownership", key], 'is only used with mode = "force"');
    return mode ? { mode } : undefined;
  }
  const [uid, gid] = (["uid", "gid"] as const).map((key) => {
    if (value[key] === undefined) return void report(["ownership"], `mode = "force" needs ${key}`);
    const id = value[key];
    if (typeof id === "bigint" || typeof id === "number") {
      const n = Number(id);
      if (Number.isSafeInteger(n) && n >= 0 && n <= MAX_ID) return n;
    }
    return void report(["ownership", key], `must be a whole number from 0 to ${MAX_ID}, not ${typeName(id)}`);
  });
  return uid === undefined || gid === undefined ? undefined : { mode, uid, gid };
}

function positive(value: unknown, path: KeyPath, report: Report): number | undefined {
  const n = typeof value === "bigint" ? Number(value) : value;
  if (typeof n === "number" && Number.isSafeInteger(n) && n > 0) return n;
  report(path, `must be a whole number above 0, not ${typeName(value)}`);
  return undefined;
}

function size(value: unknown, path: KeyPath, report: Report): number | undefined {
  if (typeof value !== "string") return positive(value, path, report);
  const match = /^(\d+)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(value.trim());
  const bytes = match ? Number(match[1]) * UNITS[match[2] ?? ""]! : NaN;
  if (Number.isSafeInteger(bytes) && bytes > 0) return bytes;
  report(path, `must be a byte count (1073741824) or a size like "1 GiB" (B, KiB, MiB, GiB, TiB), not ${JSON.stringify(value)}`);
  return undefined;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function typeName(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  if (typeof value === "object" && value !== null) return "a table";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return `a ${typeof value}`;
}

function policyError(source: string, problems: string[]): VoxError {
  return new VoxError("E_UNPACK_POLICY", `Cannot read the unpack policy ${source}:\n  ${problems.join("\n  ")}`, {
    hint: "Fix the keys named above; a key left out keeps its safe default (see 'Unpacking images' in the README).",
    exitCode: 2,
  });
}
