/** The executables a release ships: name, entry module in the checkout, and what their smoke test runs. */
export interface Package {
  /** Also the archive prefix and the executable's base name. */
  name: "vox" | "vox-bootstrap";
  entry: string;
  /** The argv a smoke test runs and whether it must print `<name> <version>`. */
  smoke: { args: readonly string[]; expectVersionLine: boolean };
}

export const PACKAGES: readonly Package[] = [
  { name: "vox", entry: "main.ts", smoke: { args: ["--version"], expectVersionLine: true } },
  { name: "vox-bootstrap", entry: "bootstrap/main.ts", smoke: { args: ["--help"], expectVersionLine: false } },
];

export function findPackage(name: string): Package | undefined {
  return PACKAGES.find((p) => p.name === name);
}
