// `vox ci command-compliance [--fix] [--json]`: the command tables against everything derived from them (the
// committed registry, the README's table, every --help, the shell completions); --fix regenerates what is generated.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { type CommandContext, type CommandSpec, CLI_ENV, type Handler, runCli, walkCommands } from "../cli/mod.ts";
import { renderCommandTable, TABLE_BEGIN, TABLE_END, tableDifferences, tableInReadme, withTable } from "../cli/command_table.ts";
import { COMPLETION_FILES, completionWords, expectedCompletionWords, renderCompletions, SHELLS } from "../cli/completions.ts";
import { helpDifferences } from "../cli/help.ts";
import { commandRegistry, REGISTRY_PATH, registryDifferences, renderRegistry } from "../cli/registry.ts";
import { errorMessage, ExitCode } from "../errors/mod.ts";
import { bufferOutput, fixedClock, mapEnv, writeFileAtomic } from "../io/mod.ts";
import { ENV_VARS, findCheckout } from "../policy/mod.ts";
import { COMMAND_ROOTS } from "./_command_roots.ts";
import { renderJson } from "../cli/json.ts";

const README = "README.md";

/** One disagreement: the place (a file, or `<command> --help`) and what differs there. */
export interface ComplianceProblem {
  place: string;
  problem: string;
}

/** The files generated from the command tables, by path relative to the checkout. */
export function generatedFiles(roots: readonly CommandSpec[]): Map<string, string> {
  return new Map<string, string>([
    [REGISTRY_PATH, renderRegistry(commandRegistry(roots, { globalEnv: CLI_ENV }))],
    ...SHELLS.map((shell) => [COMPLETION_FILES[shell], renderCompletions(shell, roots)] as const),
  ]);
}

/**
 * Every disagreement between `roots` and the checkout at `root`. Reads files; runs each `--help` through the
 * same runner the executables use, with a private output, so nothing is printed.
 */
export async function complianceProblems(roots: readonly CommandSpec[], root: string): Promise<ComplianceProblem[]> {
  const problems: ComplianceProblem[] = [];
  const add = (place: string, found: readonly string[]) => problems.push(...found.map((problem) => ({ place, problem })));
  add("policy/env_names.ts", unknownEnvNames(roots));
  const registryText = await readText(join(root, REGISTRY_PATH));
  const expectedRegistry = commandRegistry(roots, { globalEnv: CLI_ENV });
  if (registryText === undefined) add(REGISTRY_PATH, ["missing"]);
  else {
    const parsed = parseYaml(registryText);
    const found = "error" in parsed ? [`does not parse as YAML: ${parsed.error}`] : registryDifferences(expectedRegistry, parsed.value);
    add(REGISTRY_PATH, found.length > 0 || registryText === renderRegistry(expectedRegistry) ? found : ["not in its generated form"]);
  }
  const readme = (await readText(join(root, README))) ?? "";
  const table = tableInReadme(readme);
  add(README, table === undefined ? [`no command table between ${TABLE_BEGIN} and ${TABLE_END}`] : tableDifferences(renderCommandTable(roots), table));
  for (const spec of roots) {
    for (const entry of walkCommands(spec)) add(`${entry.path.join(" ")} --help`, helpDifferences(entry.spec, await helpOf(spec, entry.path)));
  }
  const expectedWords = expectedCompletionWords(roots);
  for (const shell of SHELLS) {
    add(`vox completions ${shell}`, completionDifferences(expectedWords, completionWords(shell, renderCompletions(shell, roots))));
    const committed = await readText(join(root, COMPLETION_FILES[shell]));
    if (committed === undefined) add(COMPLETION_FILES[shell], ["missing"]);
    else {
      const found = completionDifferences(expectedWords, completionWords(shell, committed));
      add(COMPLETION_FILES[shell], found.length > 0 || committed === renderCompletions(shell, roots) ? found : ["not in its generated form"]);
    }
  }
  return problems;
}

/** Rewrites every generated file and the README's table; returns the paths that changed. */
export async function fixCompliance(roots: readonly CommandSpec[], root: string): Promise<string[]> {
  const changed: string[] = [];
  const write = async (path: string, text: string) => {
    if ((await readText(join(root, path))) === text) return;
    await writeFileAtomic(join(root, path), text);
    changed.push(path);
  };
  for (const [path, text] of generatedFiles(roots)) await write(path, text);
  const readme = await readText(join(root, README));
  const updated = readme === undefined ? undefined : withTable(readme, renderCommandTable(roots));
  if (updated !== undefined) await write(README, updated);
  return changed;
}

/** `vox ci command-compliance [--fix] [--json]` */
export const commandComplianceCommand: Handler = async (args, context) => {
  const root = await findCheckout(context.cwd, context.env);
  const fixed = args.flag("fix") ? await fixCompliance(COMMAND_ROOTS, root) : [];
  const problems = await complianceProblems(COMMAND_ROOTS, root);
  if (args.flag("json")) {
    context.out.stdout(renderJson("vox.command-compliance/1", { ok: problems.length === 0, root, fixed, problems }));
  } else {
    for (const path of fixed) context.out.stderr(`regenerated ${path}\n`);
    for (const { place, problem } of problems) context.out.stderr(`${place}: ${problem}\n`);
    const commands = COMMAND_ROOTS.reduce((n, spec) => n + walkCommands(spec).length, 0);
    context.out.stdout(problems.length === 0 ? `command tables agree with the registry, the README, every --help and the completions (${commands} commands)\n` : `${problems.length} difference(s); run 'vox ci command-compliance --fix' to regenerate\n`);
  }
  return problems.length === 0 ? ExitCode.ok : ExitCode.failure;
};

function unknownEnvNames(roots: readonly CommandSpec[]): string[] {
  const known = new Set(Object.keys(ENV_VARS));
  const global = CLI_ENV.filter((name) => !known.has(name)).map((name) => `every command reads ${name}, which the env table does not list`);
  return [...global, ...roots.flatMap((spec) => walkCommands(spec).flatMap(({ path, spec: command }) => (command.env ?? []).filter((name) => !known.has(name)).map((name) => `${path.join(" ")} reads ${name}, which the env table does not list`)))];
}

function completionDifferences(expected: Map<string, Set<string>>, found: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  for (const [path, words] of expected) {
    const offered = found.get(path);
    if (!offered) {
      problems.push(`${path}: no completions`);
      continue;
    }
    const lacks = [...words].filter((w) => !offered.has(w));
    const extra = [...offered].filter((w) => !words.has(w));
    if (lacks.length > 0) problems.push(`${path}: lacks ${lacks.join(", ")}`);
    if (extra.length > 0) problems.push(`${path}: offers ${extra.join(", ")}, not in the command table`);
  }
  for (const path of found.keys()) if (!expected.has(path)) problems.push(`${path}: completions for a command the table does not have`);
  return problems;
}

async function helpOf(spec: CommandSpec, path: readonly string[]): Promise<string> {
  const out = bufferOutput();
  // Help runs no handler: a spawner that refuses keeps it that way.
  const context: CommandContext = { env: mapEnv({}), out, clock: fixedClock(new Date(0)), spawner: { run: () => Promise.reject(new Error("help spawns nothing")) }, cwd: "/", execPath: "" };
  await runCli(spec, [...path.slice(1), "--help"], context);
  return out.out;
}

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
}

function parseYaml(text: string): { value: unknown } | { error: string } {
  try {
    return { value: parse(text) };
  } catch (error) {
    return { error: errorMessage(error) };
  }
}
