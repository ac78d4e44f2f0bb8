import type { CommandSpec, OptionSpec } from "./command.ts";
import { commandExitCodes } from "./tree.ts";

/** Renders help for `command` reached by `path` (e.g. `["vox", "ci"]`); returns text, prints nothing. */
export function renderHelp(command: CommandSpec, path: readonly string[]): string {
  const name = path.join(" ");
  const positionals = (command.positionals ?? []).map((p) => {
    const label = `<${p.name}>${p.variadic ? "..." : ""}`;
    return p.required ? label : `[${label}]`;
  });
  const subcommands = command.subcommands ?? [];
  const usage = [name, subcommands.length > 0 ? "<command>" : "", "[options]", ...positionals].filter(Boolean).join(" ");
  const sections = [`${name}: ${command.summary}`, `Usage: ${usage}`];
  if (subcommands.length > 0) {
    sections.push(["Commands:", ...table(subcommands.map((c) => [c.name, c.summary]))].join("\n"));
  }
  const options: Array<[string, string]> = Object.entries(command.options ?? {}).map(([key, spec]) => [optionLabel(key, spec), optionText(spec)]);
  options.push(["-h, --help", "Show this help"]);
  sections.push(["Options:", ...table(options)].join("\n"));
  if (command.details) sections.push(command.details.trim());
  if (command.env?.length) sections.push(`Environment: ${command.env.join(", ")} (each explained by 'vox policy').`);
  if (command.load) sections.push(`Exit codes: ${renderExitCodes(command)}.`);
  return `${sections.join("\n\n")}\n`;
}

function optionLabel(key: string, spec: OptionSpec): string {
  const flag = spec.short ? `-${spec.short}, --${key}` : `--${key}`;
  return spec.type === "string" ? `${flag} ${spec.valueName ?? "<value>"}` : flag;
}

function optionText(spec: OptionSpec): string {
  const notes = [spec.multiple ? "repeatable" : "", spec.defaultText ? `default: ${spec.defaultText}` : ""].filter(Boolean);
  return notes.length > 0 ? `${spec.description} (${notes.join("; ")})` : spec.description;
}

function table(rows: Array<[string, string]>): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/** `0 success; 1 failure; …`, as help and the README show a command's exit codes. */
export function renderExitCodes(command: CommandSpec): string {
  return Object.entries(commandExitCodes(command)).map(([code, meaning]) => `${code} ${meaning}`).join("; ");
}

/**
 * Each way a help text (as `--help` printed it) leaves out or contradicts `command`'s table entry: flags, their
 * defaults, subcommands, environment variables and exit codes, named one by one.
 */
export function helpDifferences(command: CommandSpec, help: string): string[] {
  const section = (title: string): string[] => {
    const start = help.split("\n").findIndex((line) => line === `${title}:`);
    if (start < 0) return [];
    const lines = help.split("\n").slice(start + 1);
    const end = lines.findIndex((line) => !line.startsWith("  "));
    return end < 0 ? lines : lines.slice(0, end);
  };
  const shown = new Set(section("Options").flatMap((line) => [.../^\s+(?:-\w, )?--([a-z0-9-]+)/.exec(line)?.slice(1) ?? []].map((name) => `--${name}`)));
  const options = Object.entries(command.options ?? {});
  const problems = [
    ...options.filter(([key]) => !shown.has(`--${key}`)).map(([key]) => `lacks --${key}`),
    ...[...shown].filter((flag) => flag !== "--help" && !options.some(([key]) => `--${key}` === flag)).map((flag) => `shows ${flag}, not in the command table`),
    ...options.filter(([, spec]) => spec.defaultText && !help.includes(`default: ${spec.defaultText}`)).map(([key, spec]) => `--${key}: lacks its default (${spec.defaultText})`),
  ];
  const subcommands = new Set(section("Commands").map((line) => line.trim().split(/\s+/)[0]));
  problems.push(...(command.subcommands ?? []).filter((s) => !subcommands.has(s.name)).map((s) => `lacks the subcommand ${s.name}`));
  const environment = help.split("\n").find((line) => line.startsWith("Environment: ")) ?? "";
  problems.push(...(command.env ?? []).filter((name) => !environment.split(/[ ,]+/).includes(name)).map((name) => `lacks the environment variable ${name}`));
  if (command.load) {
    const exitLine = help.split("\n").find((line) => line.startsWith("Exit codes: ")) ?? "";
    problems.push(...Object.entries(commandExitCodes(command)).filter(([code, meaning]) => !exitLine.includes(`${code} ${meaning}`)).map(([code, meaning]) => `lacks exit code ${code} (${meaning})`));
  }
  return problems;
}
