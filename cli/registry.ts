import { stringify } from "yaml";
import type { CommandSpec } from "./command.ts";
import { commandExitCodes, walkCommands } from "./tree.ts";

/** One flag as the registry records it; `default` is null for a string flag nobody defaults. */
export interface RegistryFlag {
  name: string;
  short?: string;
  type: "string" | "boolean";
  value?: string;
  repeatable: boolean;
  default: string | boolean | null;
  description: string;
}

export interface RegistryCommand {
  path: string;
  summary: string;
  status: "stable" | "experimental";
  /** False for a group that only lists its subcommands. */
  runnable: boolean;
  subcommands: string[];
  positionals: Array<{ name: string; required: boolean; variadic: boolean }>;
  flags: RegistryFlag[];
  env: string[];
  exit_codes: Record<string, string>;
}

export interface CommandRegistry {
  schema: "vox.command-registry/1";
  executables: Array<{ name: string; global_env: string[]; commands: RegistryCommand[] }>;
}

/** Where the registry is committed, relative to the checkout. */
export const REGISTRY_PATH = "contracts/cli/command-registry.yaml";

const HEADER = [
  "# The vox command registry: every command of vox and vox-bootstrap with its flags, environment and exit codes.",
  "# Generated from the command tables (commands/vox.ts, commands/vox_bootstrap.ts): do not edit; change a table,",
  "# then run `vox ci command-compliance --fix`. Every command also takes -h/--help.",
].join("\n");

/**
 * The registry of `roots` (one per executable): data only, in table order, so that the YAML is stable.
 *
 * @example
 * ```ts
 * const registry = commandRegistry([{ name: "tool", summary: "t", load: async () => async () => {} }], { globalEnv: [] });
 * registry.executables[0]!.commands[0]!.exit_codes; // { "0": "success", "1": "failure", "2": "usage error" }
 * ```
 */
export function commandRegistry(roots: readonly CommandSpec[], options: { globalEnv: readonly string[] }): CommandRegistry {
  return {
    schema: "vox.command-registry/1",
    executables: roots.map((root) => ({
      name: root.name,
      global_env: [...options.globalEnv],
      commands: walkCommands(root).map(({ path, spec, status }) => ({
        path: path.join(" "),
        summary: spec.summary,
        status,
        runnable: spec.load !== undefined,
        subcommands: (spec.subcommands ?? []).map((s) => s.name),
        positionals: (spec.positionals ?? []).map((p) => ({ name: p.name, required: p.required ?? false, variadic: p.variadic ?? false })),
        flags: Object.entries(spec.options ?? {}).map(([name, option]) => ({
          name: `--${name}`,
          ...(option.short ? { short: `-${option.short}` } : {}),
          type: option.type,
          ...(option.type === "string" ? { value: option.valueName ?? "<value>" } : {}),
          repeatable: option.multiple ?? false,
          default: option.defaultText ?? (option.type === "boolean" ? false : null),
          description: option.description,
        })),
        env: [...(spec.env ?? [])],
        exit_codes: Object.fromEntries(Object.entries(commandExitCodes(spec))),
      })),
    })),
  };
}

/** The committed form of a registry: the header, then YAML with one key order and no line folding. */
export function renderRegistry(registry: CommandRegistry): string {
  return `${HEADER}\n${stringify(registry, { lineWidth: 0 })}`;
}

/**
 * Each way `committed` (the parsed YAML on disk) differs from `expected`, named by command and flag, e.g.
 * `vox deploy build: flag --platform: default is "a" here, "b" in the command table`.
 */
export function registryDifferences(expected: CommandRegistry, committed: unknown): string[] {
  const found = asRecord(committed);
  if (found?.schema !== expected.schema) return [`schema is ${JSON.stringify(found?.schema)}, expected ${expected.schema}`];
  const problems: string[] = [];
  const theirs = new Map<string, Record<string, unknown>>();
  for (const executable of asArray(found.executables)) {
    const record = asRecord(executable);
    if (!record) continue;
    problems.push(...fieldDifferences(`${String(record.name)}`, { global_env: record.global_env }, { global_env: expected.executables.find((e) => e.name === record.name)?.global_env ?? null }));
    for (const command of asArray(record.commands)) {
      const entry = asRecord(command);
      if (entry) theirs.set(String(entry.path), entry);
    }
  }
  const ours = new Map(expected.executables.flatMap((e) => e.commands.map((c) => [c.path, c] as const)));
  for (const [path, command] of ours) {
    const other = theirs.get(path);
    if (!other) {
      problems.push(`${path}: missing (the command table has it)`);
      continue;
    }
    const { flags, ...fields } = command;
    const { flags: otherFlags, ...otherFields } = other;
    problems.push(...fieldDifferences(path, otherFields, fields));
    const otherByName = new Map(asArray(otherFlags).flatMap((f) => (asRecord(f) ? [[String(asRecord(f)!.name), asRecord(f)!] as const] : [])));
    for (const flag of flags) {
      const otherFlag = otherByName.get(flag.name);
      if (!otherFlag) problems.push(`${path}: flag ${flag.name}: missing (the command table has it)`);
      else problems.push(...fieldDifferences(`${path}: flag ${flag.name}`, otherFlag, flag));
    }
    for (const name of otherByName.keys()) if (!flags.some((f) => f.name === name)) problems.push(`${path}: flag ${name}: not in the command table`);
  }
  for (const path of theirs.keys()) if (!ours.has(path)) problems.push(`${path}: not in the command table`);
  return problems;
}

function fieldDifferences(where: string, theirs: Record<string, unknown>, ours: object): string[] {
  const keys = new Set([...Object.keys(theirs), ...Object.keys(ours)]);
  return [...keys].flatMap((key) => {
    const a = JSON.stringify(theirs[key] ?? null);
    const b = JSON.stringify((ours as Record<string, unknown>)[key] ?? null);
    return a === b ? [] : [`${where}: ${key} is ${a} here, ${b} in the command table`];
  });
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
