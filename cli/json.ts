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
  return `${JSON.stringify({ schema, ...document }, snakeReplacer(), options.indent)}\n`;
}

/** Keys renamed once each: a document repeats a few dozen names. */
const SNAKE_CACHE = new Map<string, string>();

/**
 * A `JSON.stringify` replacer that writes every object with snake_case keys, except inside the values of
 * `VERBATIM_KEYS`: the native serializer walks the document once and only objects are copied (renaming a whole copy
 * first cost `vox policy --json` a third of its start-up). The holder of a value is `this`; a verbatim value marks
 * itself, so that whatever it holds is left alone too.
 */
function snakeReplacer(): (this: unknown, key: string, value: unknown) => unknown {
  const verbatim = new WeakSet<object>();
  return function (this: unknown, key: string, value: unknown): unknown {
    if (value === null || typeof value !== "object") return value;
    if (verbatim.has(this as object) || VERBATIM_KEYS.has(key)) {
      verbatim.add(value);
      return value;
    }
    if (Array.isArray(value)) return value;
    const renamed: Record<string, unknown> = {};
    for (const name of Object.keys(value)) {
      let snake = SNAKE_CACHE.get(name);
      if (snake === undefined) SNAKE_CACHE.set(name, (snake = snakeCase(name)));
      renamed[snake] = (value as Record<string, unknown>)[name];
    }
    return renamed;
  };
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
