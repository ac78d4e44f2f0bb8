import type { CommandSpec, OptionSpec } from "./command.ts";

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
