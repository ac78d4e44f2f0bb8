/** The executables a release ships: name, entry module in the checkout, and what their smoke test runs. */
export interface Package {
  /** Also the archive prefix and the executable's base name. */
  name: "vox" | "vox-bootstrap";
  entry: string;
  /**
   * Worker entry points compiled in beside `entry`: a `bun build --compile` executable can start only workers it was
   * built with (archive/parallel_deflate.ts finds its worker at this path inside the executable).
   */
  workers?: readonly string[];
  /** The argv a smoke test runs and whether it must print `<name> <version>`. */
  smoke: { args: readonly string[]; expectVersionLine: boolean };
}

export const PACKAGES: readonly Package[] = [
  { name: "vox", entry: "main.ts", workers: ["archive/deflate_worker.js", "oci/unpack/write_worker.js"], smoke: { args: ["--version"], expectVersionLine: true } },
  { name: "vox-bootstrap", entry: "bootstrap/main.ts", smoke: { args: ["--help"], expectVersionLine: false } },
];

export function findPackage(name: string): Package | undefined {
  return PACKAGES.find((p) => p.name === name);
}
