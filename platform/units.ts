// Quantities of the platform manifest (CPU, bytes, durations): one regular expression per form, shared by the
// validator and the exported JSON Schema, and the conversions to the manifest's canonical units.

/**
 * CPU as a string: millicores (`500m`) or cores with at most three decimals (`0.5`, `2`). Never zero; at most
 * 9999.999 cores. Numbers (`cpu = 0.5`) are checked by {@link cpuPrecisionProblem} since JSON has no decimal type.
 */
export const CPU_STRING = /^(?:[1-9][0-9]{0,6}m|(?!0+(?:\.0+)?$)[0-9]{1,4}(?:\.[0-9]{1,3})?)$/;
/** CPU requests stay below this many cores, in every form. */
export const CPU_CORES_BELOW = 10000;

/**
 * Bytes: a positive integer with an optional Kubernetes suffix, decimal (`k` `M` `G` `T`) or binary (`Ki` `Mi` `Gi`
 * `Ti`). The digit counts keep every value below 2^53, so no quantity loses precision.
 */
export const BYTES_STRING = /^(?:[1-9][0-9]{0,14}|[1-9][0-9]{0,11}(?:k|Ki)|[1-9][0-9]{0,8}(?:M|Mi)|[1-9][0-9]{0,5}(?:G|Gi)|[1-9][0-9]{0,2}(?:T|Ti))$/;
/** The largest byte count written as a TOML integer (15 digits, as the string form allows). */
export const BYTES_MAX = 999_999_999_999_999;

/** A duration: hours, minutes, seconds and milliseconds in that order, each at most once, e.g. `1m30s`, `500ms`. */
export const DURATION = /^(?=[0-9])(?:[0-9]{1,4}h)?(?:[0-9]{1,5}m(?!s))?(?:[0-9]{1,7}s)?(?:[0-9]{1,9}ms)?$/;
/** A duration that is not zero. */
export const POSITIVE_DURATION = /^(?=.*[1-9])(?=[0-9])(?:[0-9]{1,4}h)?(?:[0-9]{1,5}m(?!s))?(?:[0-9]{1,7}s)?(?:[0-9]{1,9}ms)?$/;

/** The accepted forms, for messages. */
export const CPU_FORMS = '"500m" (millicores), 0.5 or "0.5" (cores, at most 3 decimals), 2 (whole cores)';
export const BYTES_FORMS = '"512Mi", "1Gi" (binary: Ki Mi Gi Ti), "1G", "500M" (decimal: k M G T), or a whole number of bytes';
export const DURATION_FORMS = '"10s", "500ms", "1m30s", "2h" (h, m, s, ms in that order, whole numbers)';

const BYTE_UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DURATION_UNITS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/**
 * Millicores of a CPU quantity already accepted by {@link CPU_STRING} or {@link cpuPrecisionProblem}.
 *
 * @example
 * ```ts
 * cpuMillicores("500m"); // 500
 * cpuMillicores(0.5); // 500
 * cpuMillicores("2"); // 2000
 * ```
 */
export function cpuMillicores(value: string | number): number {
  if (typeof value === "string" && value.endsWith("m")) return Number(value.slice(0, -1));
  // Decimal digits, not floating point: "0.3" is 300 exactly.
  const [whole, fraction = ""] = String(value).split(".");
  return Number(whole) * 1000 + Number(fraction.padEnd(3, "0").slice(0, 3));
}

/**
 * Why a CPU number is finer than a millicore, or undefined. Refused rather than rounded, so what is written is
 * what runs. (The range is the schema's to check.)
 *
 * @example
 * ```ts
 * cpuPrecisionProblem(0.5); // undefined
 * cpuPrecisionProblem(0.0005); // "0.0005 is finer than 1m …"
 * ```
 */
export function cpuPrecisionProblem(value: number): string | undefined {
  if (/^[0-9]+(?:\.[0-9]{1,3})?$/.test(String(value))) return undefined;
  return `${value} is finer than 1m (a thousandth of a core); accepted forms: ${CPU_FORMS}`;
}

/**
 * Bytes of a quantity already accepted by {@link BYTES_STRING} (or a whole number of bytes).
 *
 * @example
 * ```ts
 * byteCount("512Mi"); // 536870912
 * byteCount("1G"); // 1000000000
 * byteCount(4096); // 4096
 * ```
 */
export function byteCount(value: string | number): number {
  if (typeof value === "number") return value;
  const [, digits, unit] = /^([0-9]+)([A-Za-z]*)$/.exec(value)!;
  return Number(digits) * BYTE_UNITS[unit!]!;
}

/**
 * Milliseconds of a duration already accepted by {@link DURATION}.
 *
 * @example
 * ```ts
 * durationMs("1m30s"); // 90000
 * durationMs("500ms"); // 500
 * ```
 */
export function durationMs(value: string): number {
  let total = 0;
  for (const [, digits, unit] of value.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(digits) * DURATION_UNITS[unit!]!;
  return total;
}

/**
 * The shortest of the accepted forms for a byte count, so `--explain` shows what one would write.
 *
 * @example
 * ```ts
 * formatBytes(268435456); // "256Mi"
 * formatBytes(1500); // "1500"
 * ```
 */
export function formatBytes(bytes: number): string {
  for (const unit of ["Ti", "Gi", "Mi", "Ki", "T", "G", "M", "k"]) {
    const size = BYTE_UNITS[unit]!;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/**
 * A duration in the accepted form.
 *
 * @example
 * ```ts
 * formatDuration(90000); // "1m30s"
 * formatDuration(0); // "0s"
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let text = "";
  for (const unit of ["h", "m", "s", "ms"]) {
    const size = DURATION_UNITS[unit]!;
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text;
}
