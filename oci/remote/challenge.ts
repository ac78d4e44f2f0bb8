/** One authentication challenge from a `WWW-Authenticate` header. */
export interface Challenge {
  /** Lower-cased: `bearer`, `basic`, … */
  scheme: string;
  /** Lower-cased parameter names; values unquoted. */
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header into its challenges. Quoted values may hold commas and escaped quotes
 * (`scope="repository:a:pull,push"`), so this is a small tokenizer rather than a split on commas.
 *
 * @example
 * ```ts
 * parseChallenges('Bearer realm="https://auth.example/token",service="r.example",scope="repository:a:pull,push"');
 * // [{ scheme: "bearer", params: { realm: "https://auth.example/token", service: "r.example", scope: "repository:a:pull,push" } }]
 * ```
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (pattern: RegExp) => {
    while (i < header.length && pattern.test(header[i]!)) i++;
  };
  const token = () => {
    const start = i;
    skip(/[^\s,=]/);
    return header.slice(start, i);
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const name = token();
    if (!name) break;
    skip(/\s/);
    if (header[i] !== "=") {
      challenges.push({ scheme: name.toLowerCase(), params: Object.create(null) as Record<string, string> });
      continue;
    }
    i++;
    skip(/\s/);
    const value = header[i] === '"' ? quoted() : token();
    const current = challenges.at(-1);
    if (current) current.params[name.toLowerCase()] = value;
  }
  return challenges;

  function quoted(): string {
    let value = "";
    for (i++; i < header.length && header[i] !== '"'; i++) value += header[i] === "\\" ? (header[++i] ?? "") : header[i];
    i++;
    return value;
  }
}
