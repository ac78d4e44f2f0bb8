/**
 * Keys whose values are data keyed by their own names (environment variables, OCI annotations, labels, also as an
 * embedded image config spells them): copied as they are, never renamed.
 */
export const VERBATIM_KEYS: ReadonlySet<string> = new Set(["env", "annotations", "labels", "Labels"]);

/** A camelCase field name (`indexDigest`); names with dots, dashes, capitals first or no capital are left alone. */
const CAMEL = /^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+$/;

/**
 * `indexDigest` → `index_digest`, `hostIP` → `host_ip` (an acronym is one word); any other key unchanged.
 *
 * @example
 * ```ts
 * snakeCase("sourceDateEpoch"); // "source_date_epoch"
 * snakeCase("org.opencontainers.image.source"); // unchanged
 * ```
 */
export function snakeCase(key: string): string {
  if (!CAMEL.test(key)) return key;
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z])([A-Z][a-z])/g, "$1_$2").toLowerCase();
}

/**
 * A machine-readable document as vox prints and writes it: `schema` first (`vox.<thing>/<n>`), then every field,
 * with field names in snake_case at every depth except inside the values of `VERBATIM_KEYS`. One place for the
 * convention, so that the domain types keep their TypeScript names and every output agrees.
 *
 * @example
 * ```ts
 * renderJson("vox.build/1", { indexDigest: "sha256:…", annotations: { "org.opencontainers.image.title": "x" } });
 * // '{"schema":"vox.build/1","index_digest":"sha256:…","annotations":{"org.opencontainers.image.title":"x"}}\n'
 * ```
 */
export function renderJson(schema: string, document: object, options: { indent?: number } = {}): string {
  return `${writeJson({ schema, ...document }, options.indent ? " ".repeat(options.indent) : "", "\n", false)}\n`;
}

/** Renamed keys, computed once each: a document repeats the same few dozen names. */
const SNAKE_CACHE = new Map<string, string>();

/**
 * `JSON.stringify(snakeKeys(value), null, step)` in one pass, without the renamed copy: `vox policy --json` spent a
 * third of its start-up building and walking that copy (start-up code runs once, in the interpreter).
 */
function writeJson(value: unknown, step: string, newline: string, verbatim: boolean): string {
  if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function") return writeJson((value as { toJSON(): unknown }).toJSON(), step, newline, verbatim);
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  const inner = step === "" ? "" : newline + step;
  const separator = step === "" ? ":" : ": ";
  let out = "";
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      out += `${i === 0 ? "" : ","}${inner}${item === undefined || typeof item === "function" || typeof item === "symbol" ? "null" : writeJson(item, step, inner, verbatim)}`;
    }
    return out === "" ? "[]" : `[${out}${step === "" ? "" : newline}]`;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
    let name = key;
    if (!verbatim) {
      name = SNAKE_CACHE.get(key) ?? snakeCase(key);
      SNAKE_CACHE.set(key, name);
    }
    out += `${out === "" ? "" : ","}${inner}${JSON.stringify(name)}${separator}${writeJson(item, step, inner, verbatim || VERBATIM_KEYS.has(key))}`;
  }
  return out === "" ? "{}" : `{${out}${step === "" ? "" : newline}}`;
}

/** `value` with every object key in snake_case (see `renderJson`); arrays and scalars keep their shape. */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== "object") return value;
  // toJSON first: what JSON.stringify would have written (URLs, dates) is what gets renamed.
  const plain = typeof (value as { toJSON?: unknown }).toJSON === "function" ? (value as { toJSON(): unknown }).toJSON() : value;
  if (plain !== value) return snakeKeys(plain);
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [snakeCase(key), VERBATIM_KEYS.has(key) ? inner : snakeKeys(inner)]));
}

/** Field names that break the convention anywhere in `value` (outside verbatim values), as dotted paths. */
export function conventionProblems(value: unknown, path = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => conventionProblems(item, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, inner]) => [
    ...(/^[a-z][a-z0-9_]*$/.test(key) || !/^[a-z]/.test(key) || /[.\-/:@]/.test(key) ? [] : [`${path}.${key}: not snake_case`]),
    ...(VERBATIM_KEYS.has(key) ? [] : conventionProblems(inner, `${path}.${key}`)),
  ]);
}
