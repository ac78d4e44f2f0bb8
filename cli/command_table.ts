import type { CommandSpec } from "./command.ts";
import { walkCommands } from "./tree.ts";

/** The README block the table is generated into (`vox ci command-compliance --fix` rewrites what lies between). */
export const TABLE_BEGIN = "<!-- commands:begin (generated from the command tables by `vox ci command-compliance --fix`) -->";
export const TABLE_END = "<!-- commands:end -->";

/**
 * The README's command table: one row per runnable command, its usage (every flag and positional) and summary.
 *
 * @example
 * ```ts
 * renderCommandTable([{ name: "tool", summary: "Does it", load: async () => async () => {}, options: { json: { type: "boolean", description: "j" } } }]);
 * // "| command | what it does |\n|---|---|\n| `tool [--json]` | Does it |"
 * ```
 */
export function renderCommandTable(roots: readonly CommandSpec[]): string {
  const rows = roots.flatMap((root) =>
    walkCommands(root)
      .filter(({ spec }) => spec.load !== undefined)
      .map(({ path, spec, status }) => `| \`${escape(usage(path, spec))}\` | ${status === "experimental" ? "(experimental) " : ""}${escape(spec.summary)} |`),
  );
  return ["| command | what it does |", "|---|---|", ...rows].join("\n");
}

function usage(path: readonly string[], spec: CommandSpec): string {
  const flags = Object.entries(spec.options ?? {}).map(([key, option]) => {
    const name = option.short ? `-${option.short}\\|--${key}` : `--${key}`;
    return `[${option.type === "string" ? `${name} ${option.valueName ?? "<value>"}` : name}]${option.multiple ? "…" : ""}`;
  });
  const positionals = (spec.positionals ?? []).map((p) => {
    const label = `<${p.name}>${p.variadic ? "…" : ""}`;
    return p.required ? label : `[${label}]`;
  });
  return [...path, ...positionals, ...flags].join(" ");
}

function escape(text: string): string {
  return text.replace(/(?<!\\)\|/g, "\\|");
}

/** The table between the markers of `readme`, or undefined when the block is missing. */
export function tableInReadme(readme: string): string | undefined {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin) return undefined;
  return readme.slice(begin + TABLE_BEGIN.length, end).trim();
}

/** `readme` with `table` between the markers (which must be there: where the table goes is the README's choice). */
export function withTable(readme: string, table: string): string | undefined {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin) return undefined;
  return `${readme.slice(0, begin + TABLE_BEGIN.length)}\n${table}\n${readme.slice(end)}`;
}

/**
 * Each way the README's table differs from the generated one, named by command: rows missing or extra, flags
 * the README lacks or mentions without the table having them, and otherwise a row whose text differs.
 */
export function tableDifferences(expected: string, found: string): string[] {
  const ours = rowsByCommand(expected);
  const theirs = rowsByCommand(found);
  const problems: string[] = [];
  for (const [path, row] of ours) {
    const other = theirs.get(path);
    if (other === undefined) {
      problems.push(`${path}: no row (the command table has it)`);
      continue;
    }
    const [a, b] = [flagsOf(row), flagsOf(other)];
    const lacks = [...a].filter((f) => !b.has(f));
    const extra = [...b].filter((f) => !a.has(f));
    if (lacks.length > 0) problems.push(`${path}: lacks ${lacks.join(", ")}`);
    if (extra.length > 0) problems.push(`${path}: mentions ${extra.join(", ")}, not in the command table`);
    if (lacks.length === 0 && extra.length === 0 && row !== other) problems.push(`${path}: row differs from the generated one`);
  }
  for (const path of theirs.keys()) if (!ours.has(path)) problems.push(`${path}: a row the command table has no command for`);
  if (problems.length === 0 && expected !== found) problems.push("the table differs from the generated one (header or order)");
  return problems;
}

/** Rows keyed by command path: the usage's leading words, up to the first placeholder or flag. */
function rowsByCommand(table: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const row of table.split("\n")) {
    const usageText = /^\| `([^`]+)`/.exec(row)?.[1];
    if (!usageText) continue;
    const words = usageText.split(" ");
    const stop = words.findIndex((w) => /^[[<-]/.test(w));
    rows.set(words.slice(0, stop < 0 ? words.length : stop).join(" "), row);
  }
  return rows;
}

function flagsOf(row: string): Set<string> {
  return new Set([...(/^\| `([^`]+)`/.exec(row)?.[1] ?? "").matchAll(/--[a-z0-9][a-z0-9-]*/g)].map((m) => m[0]));
}
