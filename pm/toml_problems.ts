// TOML text checked against a zod schema, as a list of problems that each name a key path (and a hint when the
// schema knows the next step). Pure (no I/O): Vox.toml, vox.lock and the platform manifest all report through it.

import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import type { KeyPath } from "./toml_locator.ts";

/** A problem at a key, before it is given a line. */
export interface KeyProblem {
  path: KeyPath;
  message: string;
  /** What to do, when it differs from the file's general hint. */
  hint?: string;
  /** The named rule that found it, when a refinement says (`params: { rule }` on a custom issue). */
  rule?: string;
}

/** A key that is refused wherever it appears, with why and what to do instead (e.g. `privileged`). */
export interface RefusedKey {
  message: string;
  hint: string;
}

/** A TOML syntax error, with where it is. */
export interface TomlSyntaxProblem {
  line: number;
  column: number;
  message: string;
}

/**
 * Parses TOML text into a plain document, or says where its syntax is wrong. Keys named `__proto__` or
 * `constructor` are a syntax problem, so nothing built from the document can have its prototype replaced.
 *
 * @example
 * ```ts
 * parseTomlDocument('a = 1\n'); // { document: { a: 1 } }
 * parseTomlDocument('a = \n').syntax?.line; // 1
 * ```
 */
export function parseTomlDocument(text: string, options: { maxDepth?: number } = {}): { document: Record<string, unknown>; syntax?: undefined } | { document?: undefined; syntax: TomlSyntaxProblem } {
  try {
    return { document: parseToml(text, { unsafeKeyBehaviour: "throw", ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }) }) as Record<string, unknown> };
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    let reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document:\s*/, "");
    if (/unsafe property/.test(reason)) reason = "keys named __proto__ or constructor are not allowed";
    return { syntax: { line: error.line, column: error.column, message: reason } };
  }
}

/**
 * Every problem zod finds in `document`, phrased for people: unknown keys one by one (with the nearest known key,
 * or the refusal a key in `refused` carries), a union by its most relevant branch, zod's generic wording replaced.
 *
 * @example
 * ```ts
 * schemaProblems(z.strictObject({ port: z.int() }), { prot: 1 }); // [{ path: ["prot"], message: "unknown key; did you mean 'port'?" }, …]
 * ```
 */
export function schemaProblems(schema: z.ZodType, document: unknown, options: { refused?: Readonly<Record<string, RefusedKey>> } = {}): { problems: KeyProblem[]; data: unknown } {
  const parsed = schema.safeParse(document, { reportInput: true });
  if (parsed.success) return { problems: [], data: parsed.data };
  return { problems: parsed.error.issues.flatMap((issue) => problemsOfIssue(issue, schema, options.refused ?? {})), data: undefined };
}

function problemsOfIssue(issue: z.core.$ZodIssue, schema: z.ZodType, refused: Readonly<Record<string, RefusedKey>>, prefix: KeyPath = []): KeyProblem[] {
  const path = [...prefix, ...(issue.path as Array<string | number>)];
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const refusal = Object.hasOwn(refused, key) ? refused[key] : undefined;
        return refusal ? { path: [...path, key], message: refusal.message, hint: refusal.hint } : { path: [...path, key], message: unknownKeyMessage(key, objectKeysAt(schema, path)) };
      });
    case "invalid_union": {
      // A branch that got past the type check (a table given where a table fits) explains more than "no branch matched".
      const closest = issue.errors.find((branch) => !branch.some((inner) => inner.code === "invalid_type" && inner.path.length === 0));
      if (closest) return closest.flatMap((inner) => problemsOfIssue(inner, schema, refused, path));
      return [{ path, message: issue.message === "Invalid input" ? `has the wrong type (${describeExpected(issue.errors)})` : issue.message }];
    }
    case "invalid_key":
      return [{ path, message: `key is not allowed: ${issue.issues[0]?.message ?? issue.message}` }];
    case "invalid_type":
      if (!isZodDefault(issue.message)) break;
      return [{ path, message: issue.input === undefined ? `is required (${article(issue.expected)})` : `must be ${article(issue.expected)}, not ${article(typeName(issue.input))}` }];
    case "invalid_value":
      if (!isZodDefault(issue.message)) break;
      return [{ path, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}` }];
    case "custom":
      if (typeof issue.params?.rule === "string") return [{ path, message: issue.message, rule: issue.params.rule }];
  }
  return [{ path, message: issue.message }];
}

/**
 * The JSON Schema (draft 2020-12) of what a file may say (`io: "input"`: defaults shown, not required), headed with
 * its `$id`, title and description, for editors and other validators. Same output on every call.
 *
 * @example
 * ```ts
 * jsonSchemaDocument(z.strictObject({ port: z.int() }), { id: "https://x/s.json", title: "s", description: "d" }).additionalProperties; // false
 * ```
 */
export function jsonSchemaDocument(schema: z.ZodType, head: { id: string; title: string; description: string; unrepresentable?: "any" | "throw" }): Record<string, any> {
  const { $schema, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: head.unrepresentable ?? "throw" }) as Record<string, unknown>;
  return { $schema, $id: head.id, title: head.title, description: head.description, ...rest };
}

/** Zod's own wording, which we replace; a message the schema chose is kept as written. */
function isZodDefault(message: string): boolean {
  return /^Invalid (input|option)\b/.test(message);
}

function describeExpected(branches: z.core.$ZodIssue[][]): string {
  const expected = branches.flatMap((branch) => branch.filter((i) => i.code === "invalid_type").map((i) => (i as { expected: string }).expected));
  return `expected ${[...new Set(expected)].join(" or ")}`;
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  if (typeof value === "object") return value instanceof Date ? "date" : "table";
  return typeof value;
}

function article(type: string): string {
  const name = type === "object" ? "table" : type === "int" ? "whole number" : type;
  return `${/^[aeiou]/.test(name) ? "an" : "a"} ${name}`;
}

function unknownKeyMessage(key: string, known: string[]): string {
  const near = known.filter((candidate) => editDistance(candidate, key) <= Math.max(1, Math.floor(candidate.length / 3)));
  if (near.length > 0) return `unknown key; did you mean '${near[0]}'?`;
  return known.length > 0 ? `unknown key (known keys: ${known.join(", ")})` : "unknown key";
}

/** The keys an object schema allows at `path`, found by walking the schema (through optionals, defaults, arrays, unions). */
function objectKeysAt(schema: z.ZodType, path: KeyPath): string[] {
  let nodes: SchemaNode[] = [schema as unknown as SchemaNode];
  for (const segment of path) {
    nodes = nodes.flatMap(unwrap).flatMap((node) => {
      const next = typeof segment === "number" ? node._zod.def.element : node._zod.def.shape?.[segment];
      return next ? [next] : [];
    });
  }
  return [...new Set(nodes.flatMap(unwrap).flatMap((node) => Object.keys(node._zod.def.shape ?? {})))];
}

/** The few parts of a zod schema's definition this walk reads. */
interface SchemaNode {
  _zod: { def: { type: string; shape?: Record<string, SchemaNode>; element?: SchemaNode; innerType?: SchemaNode; in?: SchemaNode; options?: SchemaNode[] } };
}

/** The object (or other) schemas a node stands for, looking through wrappers, pipes and union branches. */
function unwrap(node: SchemaNode): SchemaNode[] {
  let current = node;
  while (current._zod.def.innerType || current._zod.def.type === "pipe") current = current._zod.def.innerType ?? current._zod.def.in!;
  return current._zod.def.type === "union" ? current._zod.def.options!.flatMap(unwrap) : [current];
}

/** Edit distance counting a swap of neighbours as one edit ("prot" is one from "port"), as typos usually are. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
