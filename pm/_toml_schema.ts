// Private to pm/: parses a TOML project file and validates it against a zod schema, turning every problem into
// one line `file:line: key.path: message`. Shared by Vox.toml and vox.lock so both report errors the same way.

import type { z } from "zod";
import { VoxError } from "../errors/mod.ts";
import { formatKeyPath, locateTomlKeys, type TomlKeyLocator } from "./toml_locator.ts";
import { type KeyProblem, parseTomlDocument, schemaProblems } from "./toml_problems.ts";

export type { KeyProblem } from "./toml_problems.ts";

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
  const { document, syntax } = parseTomlDocument(text);
  if (syntax) {
    const problem = `${options.file}:${syntax.line}:${syntax.column}: ${syntax.message}`;
    throw new ProjectFileError(options.code, `Cannot read ${options.file}: it is not valid TOML\n${problem}`, [problem], options.hint);
  }
  const { problems, data } = schemaProblems(schema, document);
  problems.push(...(options.extraChecks?.(document) ?? []));
  if (problems.length > 0) throw problemsError(problems, locateTomlKeys(text), options);
  return data as z.output<S>;
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
