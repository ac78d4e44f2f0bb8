/**
 * Canonical JSON: object keys sorted by code point, no insignificant whitespace, `undefined` members
 * dropped. Configs, manifests and indexes are hashed, so the same value must always give the same bytes.
 *
 * @example
 * ```ts
 * new TextDecoder().decode(canonicalJson({ b: 1, a: [true, null] })); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalText(value));
}

function canonicalText(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError(`Cannot encode ${value} as JSON`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : canonicalText(item))).join(",")}]`;
  const keys = Object.keys(value).filter((key) => (value as Record<string, unknown>)[key] !== undefined).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalText((value as Record<string, unknown>)[key])}`).join(",")}}`;
}
