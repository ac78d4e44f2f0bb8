// Private to pm/: parses a TOML project file and validates it against a zod schema, turning every problem into
// one line `file:line: key.path: message`. Shared by Vox.toml and vox.lock so both report errors the same way.

import { parse as parseToml, TomlError } from "smol-toml";
import type { z } from "zod";
import { VoxError } from "../errors/mod.ts";
import { formatKeyPath, type KeyPath, locateTomlKeys, type TomlKeyLocator } from "./toml_locator.ts";

/** A problem at a key, before it is given a line. */
export interface KeyProblem {
  path: KeyPath;
  message: string;
}

/** A VoxError that also carries its problems, one formatted line each, for callers and tests. */
export class ProjectFileError extends VoxError {
  readonly problems: readonly string[];

  constructor(code: string, message: string, problems: readonly string[], hint: string) {
    // Exit code 1, not 2: a wrong project file is bad input on disk, not a wrong command line.
    super(code, message, { hint, exitCode: 1 });
    this.name = "ProjectFileError";
    this.problems = problems;
  }
}

export interface TomlSchemaOptions {
  /** The file name shown in messages. */
  file: string;
  /** The error code thrown, e.g. E_MANIFEST. */
  code: string;
  hint: string;
  /** Checks that span several keys, run on the parsed document even when the schema found problems. */
  extraChecks?: (document: Record<string, unknown>) => KeyProblem[];
}

/** Parses and validates `text`; throws one ProjectFileError listing every problem with its line. */
export function parseTomlWithSchema<S extends z.ZodType>(text: string, schema: S, options: TomlSchemaOptions): z.output<S> {
  const document = parseTomlSyntax(text, options);
  const parsed = schema.safeParse(document, { reportInput: true });
  const problems: KeyProblem[] = parsed.success ? [] : parsed.error.issues.flatMap((issue) => problemsOfIssue(issue, schema));
  problems.push(...(options.extraChecks?.(document) ?? []));
  if (problems.length > 0) throw problemsError(problems, locateTomlKeys(text), options);
  return parsed.data as z.output<S>;
}

function parseTomlSyntax(text: string, options: TomlSchemaOptions): Record<string, unknown> {
  try {
    // `throw` refuses `__proto__` and `constructor` keys outright, with their line, so nothing built from
    // the document can have its prototype replaced.
    return parseToml(text, { unsafeKeyBehaviour: "throw" }) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    let reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document:\s*/, "");
    if (/unsafe property/.test(reason)) reason = "keys named __proto__ or constructor are not allowed";
    const problem = `${options.file}:${error.line}:${error.column}: ${reason}`;
    return thrower(new ProjectFileError(options.code, `Cannot read ${options.file}: it is not valid TOML\n${problem}`, [problem], options.hint));
  }
}

function thrower(error: Error): never {
  throw error;
}

/** Formats problems sorted by line (those without a line last) into one error. */
function problemsError(problems: KeyProblem[], locator: TomlKeyLocator, options: TomlSchemaOptions): ProjectFileError {
  const located = problems.map((problem, order) => ({ ...problem, order, line: problem.path.length > 0 ? locator.lineOf(problem.path) : undefined }));
  located.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || a.order - b.order);
  const lines = located.map(({ path, message, line }) => {
    const where = line === undefined ? options.file : `${options.file}:${line}`;
    return path.length === 0 ? `${where}: ${message}` : `${where}: ${formatKeyPath(path)}: ${message}`;
  });
  const count = lines.length === 1 ? "1 problem" : `${lines.length} problems`;
  return new ProjectFileError(options.code, `Cannot use ${options.file}: ${count}\n${lines.join("\n")}`, lines, options.hint);
}

/** One zod issue as key problems: unknown keys one by one, a union by its most relevant branch. */
function problemsOfIssue(issue: z.core.$ZodIssue, schema: z.ZodType, prefix: KeyPath = []): KeyProblem[] {
  const path = [...prefix, ...(issue.path as Array<string | number>)];
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({ path: [...path, key], message: unknownKeyMessage(key, objectKeysAt(schema, path)) }));
    case "invalid_union": {
      // A branch that got past the type check (a table given where a table fits) explains more than "no branch matched".
      const closest = issue.errors.find((branch) => !branch.some((inner) => inner.code === "invalid_type" && inner.path.length === 0));
      if (closest) return closest.flatMap((inner) => problemsOfIssue(inner, schema, path));
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
  }
  return [{ path, message: issue.message }];
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
  const name = type === "object" ? "table" : type;
  return `${/^[aeiou]/.test(name) ? "an" : "a"} ${name}`;
}

function unknownKeyMessage(key: string, known: string[]): string {
  const near = known.filter((candidate) => editDistance(candidate, key) <= Math.max(1, Math.floor(candidate.length / 3)));
  if (near.length > 0) return `unknown key; did you mean '${near[0]}'?`;
  return known.length > 0 ? `unknown key (known keys: ${known.join(", ")})` : "unknown key";
}

/** The keys an object schema allows at `path`, found by walking the schema (through optionals, defaults, arrays). */
function objectKeysAt(schema: z.ZodType, path: KeyPath): string[] {
  let current: SchemaNode | undefined = (schema as unknown as SchemaNode);
  for (const segment of path) {
    current = unwrap(current);
    if (!current) return [];
    const def = current._zod.def;
    current = typeof segment === "number" ? def.element : def.shape?.[segment];
  }
  current = unwrap(current);
  return current?._zod.def.shape ? Object.keys(current._zod.def.shape) : [];
}

/** The few parts of a zod schema's definition this walk reads. */
interface SchemaNode {
  _zod: { def: { type: string; shape?: Record<string, SchemaNode>; element?: SchemaNode; innerType?: SchemaNode; in?: SchemaNode } };
}

function unwrap(node: SchemaNode | undefined): SchemaNode | undefined {
  let current = node;
  while (current && (current._zod.def.innerType || current._zod.def.type === "pipe")) {
    current = current._zod.def.innerType ?? current._zod.def.in;
  }
  return current;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}
