import { readFile, stat } from "node:fs/promises";
import { dirname, join, sep } from "node:path";

/** Path fragments that mean a package manager owns the binary, and what to run instead. */
const MANAGED_PATHS: ReadonlyArray<{ fragment: string; manager: string; instead: string }> = [
  { fragment: `${sep}Cellar${sep}`, manager: "Homebrew", instead: "brew upgrade vox" },
  { fragment: `${sep}homebrew${sep}`, manager: "Homebrew", instead: "brew upgrade vox" },
  { fragment: `${sep}node_modules${sep}`, manager: "npm", instead: "npm update (in the project, or -g for a global install)" },
  { fragment: `${sep}nix${sep}store${sep}`, manager: "Nix", instead: "update it through your Nix configuration" },
];

export interface ManagedBy {
  manager: string;
  instead: string;
}

/**
 * Who else owns `target`, if anyone: a `.vox-managed-by` marker beside it (its first line names the tool), a
 * package manager's tree, or a system path owned by another user (root) than the one running the upgrade.
 */
export async function managedBy(target: string, uid: number | undefined): Promise<ManagedBy | undefined> {
  const marker = (await readFile(join(dirname(target), ".vox-managed-by"), "utf8").catch(() => undefined))?.split("\n")[0]?.trim();
  if (marker) return { manager: marker, instead: `upgrade vox with ${marker}` };
  const known = MANAGED_PATHS.find((m) => target.includes(m.fragment));
  if (known) return { manager: known.manager, instead: known.instead };
  const owner = (await stat(target).catch(() => undefined))?.uid;
  if (uid !== undefined && uid !== 0 && owner === 0) return { manager: "the system package manager", instead: "upgrade vox with your system's package manager (apt, dnf, …)" };
  return undefined;
}
