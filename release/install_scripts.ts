import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { parsePublicKey } from "../integrity/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { TRUSTED_KEYS } from "../policy/mod.ts";

/**
 * The installers published beside the archives (`<base>/latest/download/install.sh`), each with the one line that
 * lists the trusted keys: the release build rewrites it, so a script verifies with the keys its release's
 * executables trust. A template without exactly one such line is a build error, never a script with no keys.
 */
const INSTALL_SCRIPTS = [
  { name: "install.sh", keyLine: /^( {2}trusted_keys=)"[^"\n]*"$/m, render: (keys: readonly string[]) => `"${keys.join(" ")}"` },
  { name: "install.ps1", keyLine: /^( {2}\$trustedKeys = )@\([^)\n]*\)$/m, render: (keys: readonly string[]) => `@(${keys.map((k) => `'${k}'`).join(", ")})` },
] as const;

export const INSTALL_SCRIPT_NAMES: readonly string[] = INSTALL_SCRIPTS.map((s) => s.name);

/**
 * `template` with its trusted-keys line listing `keys` (base64 lines of minisign public keys, validated here).
 *
 * @example
 * ```ts
 * renderInstallScript("install.sh", '  trusted_keys="old"\n', ["RWSWAtKX4VdLFOv+Fk4OoXPOvF2D6ab57Z1tgEh/9JK+VgF5dBJNkNE+"]);
 * // '  trusted_keys="RWSWAtKX4VdLFOv+Fk4OoXPOvF2D6ab57Z1tgEh/9JK+VgF5dBJNkNE+"\n'
 * ```
 */
export function renderInstallScript(name: string, template: string, keys: readonly string[]): string {
  const script = INSTALL_SCRIPTS.find((s) => s.name === name);
  if (!script) throw new VoxError("E_INSTALL_SCRIPT", `Cannot write ${name}: not an install script (${INSTALL_SCRIPT_NAMES.join(", ")})`);
  keys.forEach((line, i) => parsePublicKey(line, `trusted key #${i + 1}`));
  const lines = template.match(new RegExp(script.keyLine.source, "gm")) ?? [];
  if (lines.length !== 1) throw new VoxError("E_INSTALL_SCRIPT", `Cannot write ${name}: the template has ${lines.length} trusted-keys lines, expected exactly one`, { hint: "Keep the single trusted-keys line the release build rewrites." });
  return template.replace(script.keyLine, (_line, prefix: string) => `${prefix}${script.render(keys)}`);
}

/** Writes install.sh and install.ps1 from the checkout into `outDir` (0644), trusting the policy's keys plus `extraKeys`. */
export async function writeInstallScripts(root: string, outDir: string, extraKeys: readonly string[]): Promise<string[]> {
  const keys = [...new Set([...TRUSTED_KEYS.map((k) => k.publicKey), ...extraKeys])];
  for (const { name } of INSTALL_SCRIPTS) {
    const template = await readFile(join(root, name), "utf8");
    await writeFileAtomic(join(outDir, name), renderInstallScript(name, template, keys), { mode: 0o644 });
  }
  return [...INSTALL_SCRIPT_NAMES];
}
