// `validatePlatformManifest()`: manifest text in, the normalized manifest with its content hash and applied
// defaults out, or every problem with its line, key and next step. Pure: no I/O, no clock, no environment.

import { formatKeyPath, locateTomlKeys } from "../pm/toml_locator.ts";
import { type KeyProblem, parseTomlDocument, schemaProblems } from "../pm/toml_problems.ts";
import { platformContentHash } from "./hash.ts";
import { invariantProblems } from "./invariants.ts";
import { type AppliedDefault, draftManifest } from "./normalize.ts";
import { PlatformInputSchema, REFUSED_KEYS } from "./schema.ts";
import { PLATFORM_SCHEMAS, type PlatformManifest } from "./types.ts";

export type PlatformValidation =
  | { ok: true; manifest: PlatformManifest; contentHash: `sha256:${string}`; defaults: AppliedDefault[] }
  | { ok: false; problems: PlatformProblem[] };

export interface PlatformProblem {
  /** The file name given as `source`. */
  source: string;
  /** 1-based; undefined when the key is not written (a required key, or a default that breaks a rule). */
  line: number | undefined;
  /** The key path, as `ports[1].port`; "" for the file as a whole. */
  key: string;
  message: string;
  /** What to do next. */
  hint: string;
  /**
   * Which check found it: "syntax" (not TOML), "schema" (a check the exported JSON Schema makes too, refused keys
   * included), or the name of a rule JSON Schema cannot express (`resources.cpu_precision`, or one of INVARIANT_RULES).
   */
  rule: string;
}

/** Larger text is refused before parsing: a control plane validates whatever it is sent. */
export const MAX_MANIFEST_BYTES = 1 << 20;
/** Deeper than any valid manifest (3 levels), so nesting cannot be used to exhaust the parser. */
const MAX_DEPTH = 8;
const SCHEMA_HINT = "`vox deploy schema --platform` prints every key and accepted form as JSON Schema";
const KNOWN = PLATFORM_SCHEMAS.join(", ");

/**
 * Validates manifest text: syntax, schema version, every key and unit, the refused keys (privileged, capabilities,
 * host namespaces and paths, secret values) and the rules across tables; then applies every default explicitly.
 * The same text and options always give the same result.
 *
 * @example
 * ```ts
 * const result = validatePlatformManifest('schema = "vox.platform/v1"\n[[ports]]\nport = 8080\n', { source: "vox.platform.toml", defaultName: "hello" });
 * result.ok && result.manifest.ports[0]; // { name: "http", port: 8080, protocol: "tcp", app_protocol: "http", exposure: "internal" }
 * result.ok && result.contentHash; // "sha256:…"
 * ```
 */
export function validatePlatformManifest(text: string, options: { source: string; defaultName: string }): PlatformValidation {
  const fail = (problems: PlatformProblem[]): PlatformValidation => ({ ok: false, problems });
  const fileProblem = (line: number | undefined, message: string, hint: string): PlatformProblem => ({ source: options.source, line, key: "", message, hint, rule: "syntax" });
  if (text.length > MAX_MANIFEST_BYTES) return fail([fileProblem(undefined, `is ${text.length} characters; a manifest is at most ${MAX_MANIFEST_BYTES}`, "Keep the manifest to what the workload declares")]);
  const { document, syntax } = parseTomlDocument(text, { maxDepth: MAX_DEPTH });
  if (syntax) return fail([fileProblem(syntax.line, `is not valid TOML: ${syntax.message} (column ${syntax.column})`, "Fix the TOML syntax at that line")]);
  const locator = locateTomlKeys(text);
  const located = (problems: KeyProblem[]): PlatformProblem[] =>
    problems
      .map((problem, order) => ({ order, problem: { source: options.source, line: problem.path.length > 0 ? locator.lineOf(problem.path) : undefined, key: formatKeyPath(problem.path), message: problem.message, hint: problem.hint ?? SCHEMA_HINT, rule: problem.rule ?? "schema" } }))
      .sort((a, b) => (a.problem.line ?? Infinity) - (b.problem.line ?? Infinity) || a.order - b.order)
      .map(({ problem }) => problem);

  // The version decides how everything else is read, so nothing else is checked against the wrong one.
  const version = document.schema;
  if (typeof version !== "string" || !(PLATFORM_SCHEMAS as readonly string[]).includes(version)) {
    const message = version === undefined ? `is required; the versions this vox knows: ${KNOWN}` : `${JSON.stringify(version)} is not a version this vox knows (${KNOWN})`;
    return fail(located([{ path: ["schema"], message, hint: `Write schema = "${PLATFORM_SCHEMAS.at(-1)}" on the first line, or upgrade vox if the manifest was written for a newer one` }]));
  }
  const { problems } = schemaProblems(PlatformInputSchema, document, { refused: REFUSED_KEYS });
  const draft = draftManifest(document, options.defaultName);
  problems.push(...invariantProblems(draft));
  if (problems.length > 0) return fail(located(problems));
  return { ok: true, manifest: draft.manifest, contentHash: platformContentHash(draft.manifest), defaults: draft.defaults };
}
