import type { CommandSpec } from "./command.ts";
import { walkCommands } from "./tree.ts";

export const SHELLS = ["bash", "zsh", "fish", "powershell"] as const;
export type Shell = (typeof SHELLS)[number];

/** Where each shell's script is committed, relative to the checkout. */
export const COMPLETION_FILES: Readonly<Record<Shell, string>> = {
  bash: "contracts/cli/completions/vox.bash",
  zsh: "contracts/cli/completions/_vox",
  fish: "contracts/cli/completions/vox.fish",
  powershell: "contracts/cli/completions/vox.ps1",
};

/** What a shell offers after a command path: subcommands, flags, the flags that take a value, and the values known. */
interface Completable {
  path: string;
  subs: string[];
  flags: string[];
  takes: string[];
  values: Array<{ flag: string; values: string[] }>;
}

function completables(roots: readonly CommandSpec[]): Completable[] {
  return roots.flatMap((root) =>
    walkCommands(root).map(({ path, spec }) => {
      const options = Object.entries(spec.options ?? {});
      const names = (key: string, short: string | undefined) => [`--${key}`, ...(short ? [`-${short}`] : [])];
      return {
        path: path.join(" "),
        subs: (spec.subcommands ?? []).map((s) => s.name),
        flags: [...options.flatMap(([key, o]) => names(key, o.short)), "--help", "-h"],
        takes: options.filter(([, o]) => o.type === "string").flatMap(([key, o]) => names(key, o.short)),
        values: options.flatMap(([key, o]) => {
          const choices = choicesOf(o.valueName);
          return choices ? names(key, o.short).map((flag) => ({ flag, values: choices })) : [];
        }),
      };
    }),
  );
}

/** `<stable|next>` → `["stable", "next"]`; any other placeholder names free text or a file. */
function choicesOf(valueName: string | undefined): string[] | undefined {
  const match = /^<([a-z0-9-]+(?:\|[a-z0-9-]+)+)>$/.exec(valueName ?? "");
  return match?.[1]!.split("|");
}

const quote = (words: readonly string[], sep = " "): string => words.join(sep);
const list = (words: readonly string[]): string => words.map((w) => `'${w}'`).join(", ");
const programs = (roots: readonly CommandSpec[]) => roots.map((r) => r.name);

/**
 * The completion script of `shell` for every program in `roots`, generated from their command tables: one line per
 * command path (so that `completionWords()` can read any script back), then a small completer function.
 *
 * @example
 * ```ts
 * renderCompletions("bash", [{ name: "tool", summary: "t", options: { json: { type: "boolean", description: "j" } } }]).includes("--json"); // true
 * ```
 */
export function renderCompletions(shell: Shell, roots: readonly CommandSpec[]): string {
  const table = completables(roots);
  const names = programs(roots);
  const head = `${shell === "zsh" ? `#compdef ${names.join(" ")}\n` : ""}# ${shell} completion for ${names.join(" and ")}, generated from their command tables by \`vox completions ${shell}\`; do not edit.\n`;
  return head + RENDERERS[shell](table, names);
}

const RENDERERS: Record<Shell, (table: Completable[], names: string[]) => string> = {
  bash: (table, names) => `# Load it with: source <(vox completions bash)
_vox_command() {
  case "$1" in
${table.map((c) => `    '${c.path}') subs='${quote(c.subs)}'; flags='${quote(c.flags)}'; takes='${quote(c.takes)}' ;;`).join("\n")}
    *) subs=''; flags=''; takes='' ;;
  esac
}
_vox_values() {
  case "$1" in
${table.flatMap((c) => c.values.map((v) => `    '${c.path} ${v.flag}') values='${quote(v.values)}' ;;`)).join("\n")}
    *) values='' ;;
  esac
}
_vox_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd=\${COMP_WORDS[0]##*/} i word subs flags takes values skip=0
  _vox_command "$cmd"
  # Walk the words before the cursor: subcommand names extend the path; a flag's value is not a subcommand.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    if [[ " $takes " == *" $word "* ]]; then skip=1; continue; fi
    if [[ " $subs " == *" $word "* ]]; then cmd="$cmd $word"; _vox_command "$cmd"; fi
  done
  if [[ $prev == -* && " $takes " == *" $prev "* ]]; then
    _vox_values "$cmd $prev"
    if [[ -n $values ]]; then mapfile -t COMPREPLY < <(compgen -W "$values" -- "$cur"); else mapfile -t COMPREPLY < <(compgen -f -- "$cur"); fi
  elif [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
  elif [[ -n $subs ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -F _vox_complete ${names.join(" ")}
`,
  zsh: (table, names) => `# Load it with: source <(vox completions zsh), or put it on $fpath as _vox
_vox_command() {
  case "$1" in
${table.map((c) => `    '${c.path}') subs=(${quote(c.subs)}); flags=(${quote(c.flags)}); takes=(${quote(c.takes)}) ;;`).join("\n")}
    *) subs=(); flags=(); takes=() ;;
  esac
}
_vox_values() {
  case "$1" in
${table.flatMap((c) => c.values.map((v) => `    '${c.path} ${v.flag}') values=(${quote(v.values)}) ;;`)).join("\n")}
    *) values=() ;;
  esac
}
_vox() {
  local cmd=\${words[1]:t} prev=\${words[CURRENT-1]} cur=\${words[CURRENT]} i word skip=0
  local -a subs flags takes values
  _vox_command "$cmd"
  for ((i = 2; i < CURRENT; i++)); do
    word=\${words[i]}
    if ((skip)); then skip=0; continue; fi
    if ((\${takes[(Ie)$word]})); then skip=1; continue; fi
    if ((\${subs[(Ie)$word]})); then cmd="$cmd $word"; _vox_command "$cmd"; fi
  done
  if [[ $prev == -* ]] && ((\${takes[(Ie)$prev]})); then
    _vox_values "$cmd $prev"
    if (($#values)); then compadd -a values; else _files; fi
  elif [[ $cur == -* ]]; then
    compadd -a flags
  elif (($#subs)); then
    compadd -a subs
  else
    _files
  fi
}
compdef _vox ${names.join(" ")}
`,
  fish: (table, names) => `# Load it with: vox completions fish | source
function __vox_command
    switch $argv[1]
${table.map((c) => `        case '${c.path}'; set -g __vox_subs ${quote(c.subs)}; set -g __vox_flags ${quote(c.flags)}; set -g __vox_takes ${quote(c.takes)}`).join("\n")}
        case '*'; set -g __vox_subs; set -g __vox_flags; set -g __vox_takes
    end
end
function __vox_values
    switch $argv[1]
${table.flatMap((c) => c.values.map((v) => `        case '${c.path} ${v.flag}'; printf '%s\\n' ${quote(v.values)}`)).join("\n")}
    end
end
function __vox_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l cmd (string replace -r '.*/' '' -- $tokens[1])
    set -l skip 0
    __vox_command $cmd
    for word in $tokens[2..-1]
        if test $skip = 1; set skip 0; continue; end
        if contains -- $word $__vox_takes; set skip 1; continue; end
        if contains -- $word $__vox_subs; set cmd "$cmd $word"; __vox_command $cmd; end
    end
    if test (count $tokens) -gt 1; and contains -- $tokens[-1] $__vox_takes
        set -l values (__vox_values "$cmd $tokens[-1]")
        if test (count $values) -gt 0; printf '%s\\n' $values; else; __fish_complete_path $cur; end
    else if string match -q -- '-*' $cur
        printf '%s\\n' $__vox_flags
    else if test (count $__vox_subs) -gt 0
        printf '%s\\n' $__vox_subs
    else
        __fish_complete_path $cur
    end
end
${names.map((n) => `complete -c ${n} -f -a '(__vox_complete)'`).join("\n")}
`,
  powershell: (table, names) => `# Load it with: vox completions powershell | Out-String | Invoke-Expression
$voxCommands = @{
${table.map((c) => `    '${c.path}' = @{ subs = @(${list(c.subs)}); flags = @(${list(c.flags)}); takes = @(${list(c.takes)}) }`).join("\n")}
}
$voxValues = @{
${table.flatMap((c) => c.values.map((v) => `    '${c.path} ${v.flag}' = @(${list(v.values)})`)).join("\n")}
}
Register-ArgumentCompleter -Native -CommandName ${quote(names, ", ")} -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $tokens = @($commandAst.CommandElements | ForEach-Object { $_.ToString() })
    $count = if ($wordToComplete -ne '') { $tokens.Count - 1 } else { $tokens.Count }
    $cmd = [System.IO.Path]::GetFileNameWithoutExtension($tokens[0])
    $skip = $false
    for ($i = 1; $i -lt $count; $i++) {
        $entry = $voxCommands[$cmd]
        if ($skip) { $skip = $false; continue }
        if ($entry.takes -ccontains $tokens[$i]) { $skip = $true; continue }
        if ($entry.subs -ccontains $tokens[$i]) { $cmd = "$cmd $($tokens[$i])" }
    }
    $entry = $voxCommands[$cmd]
    $prev = if ($count -gt 1) { $tokens[$count - 1] } else { '' }
    if ($entry.takes -ccontains $prev) { $candidates = $voxValues["$cmd $prev"] }
    elseif ($wordToComplete -like '-*') { $candidates = $entry.flags }
    else { $candidates = $entry.subs }
    $candidates | Where-Object { $_ -clike "$wordToComplete*" } | ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_) }
}
`,
};

/** How each shell's script states the words of one command path (see the renderers above). */
const LINE_PATTERNS: Readonly<Record<Shell, RegExp>> = {
  bash: /^\s*'([^']+)'\) subs='([^']*)'; flags='([^']*)'; takes=/,
  zsh: /^\s*'([^']+)'\) subs=\(([^)]*)\); flags=\(([^)]*)\); takes=/,
  fish: /^\s*case '([^'*]+)'; set -g __vox_subs ?([^;]*); set -g __vox_flags ?([^;]*); set -g __vox_takes/,
  powershell: /^\s*'([^']+)' = @\{ subs = @\(([^)]*)\); flags = @\(([^)]*)\); takes =/,
};

/**
 * Reads a completion script back: the words (subcommands and flags) it offers after each command path. Works on a
 * committed, possibly stale, script as well as on a fresh one, so that differences can be named word by word.
 */
export function completionWords(shell: Shell, script: string): Map<string, Set<string>> {
  const words = new Map<string, Set<string>>();
  for (const line of script.split("\n")) {
    const match = LINE_PATTERNS[shell].exec(line);
    if (!match) continue;
    const split = (text: string) => text.split(shell === "powershell" ? /,\s*/ : /\s+/).map((w) => w.replace(/^'|'$/g, "")).filter(Boolean);
    words.set(match[1]!, new Set([...split(match[2]!), ...split(match[3]!)]));
  }
  return words;
}

/** The words every command path should offer according to the command tables. */
export function expectedCompletionWords(roots: readonly CommandSpec[]): Map<string, Set<string>> {
  return new Map(completables(roots).map((c) => [c.path, new Set([...c.subs, ...c.flags])]));
}
