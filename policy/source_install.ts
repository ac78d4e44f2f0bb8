import { PACKAGES } from "./packages.ts";

/** Values baked into an executable at compile time (read by build/constants.ts). */
export interface BuildDefines {
  version: string;
  /** Extra trusted minisign public keys (base64 lines), next to the policy's own list. */
  trustedKeys: readonly string[];
}

/**
 * Optional peer dependencies of the CycloneDX library (schema validators, XML), loaded only when asked for; vox
 * writes JSON SBOMs and never asks, so the compiled binary leaves them out instead of failing to resolve them.
 */
export const UNBUNDLED_OPTIONAL_PEERS = ["ajv", "ajv-formats", "ajv-formats-draft2019", "libxmljs2", "xmlbuilder2"] as const;

/**
 * The one `bun build` invocation used by release builds and source installs alike. `--minify` keeps the output
 * free of checkout paths (byte-identical across directories); `--splitting` keeps `vox --version` from parsing
 * the lazily loaded command modules, and `--bytecode` (ESM, which splitting needs) ships them compiled, so a
 * command pays for loading its modules, not for parsing them (Bun's bytecode is as reproducible as the rest: same
 * bytes for the same sources and output basename). A compiled vox reads no `.env` or `bunfig.toml` from the
 * directory it runs in: a checkout's `bunfig.toml` could preload code into it, a `.env` set its environment.
 * `--smol` makes the executable collect garbage sooner: install and upgrade stream release-sized files.
 */
export function compileArgv(options: { bun: readonly string[]; bunTarget: string; entry: string; outfile: string; defines: BuildDefines }): string[] {
  return [
    ...options.bun,
    "build",
    "--compile",
    "--minify",
    "--splitting",
    "--format=esm",
    "--bytecode",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    "--compile-exec-argv=--smol",
    `--target=${options.bunTarget}`,
    ...UNBUNDLED_OPTIONAL_PEERS.flatMap((name) => ["--external", name]),
    "--define",
    `VOX_BUILD_VERSION=${JSON.stringify(options.defines.version)}`,
    "--define",
    `VOX_BUILD_TRUSTED_KEYS=${JSON.stringify(JSON.stringify(options.defines.trustedKeys))}`,
    // What the executable was built for, so that it knows its own target without reading its ELF header.
    "--define",
    `VOX_BUILD_BUN_TARGET=${JSON.stringify(options.bunTarget)}`,
    // The entry first: Bun runs the first entry point; the package's workers follow it.
    options.entry,
    ...(PACKAGES.find((pkg) => pkg.entry === options.entry)?.workers ?? []),
    "--outfile",
    options.outfile,
  ];
}

/**
 * Building from a checkout, the counterpart of `cargo install --locked --path …`: `npm ci` installs exactly the
 * committed lockfile, then the Bun it pinned compiles the entry point with `compileArgv`.
 */
export const SOURCE_INSTALL = {
  /** A file whose presence identifies a checkout of this repository (searched upward from the working directory). */
  marker: "policy/source_install.ts",
  lockfile: "package-lock.json",
  installDependencies: ["npm", "ci", "--no-audit", "--no-fund"],
  bun: ["npx", "--no-install", "bun"],
} as const;

/** The full source-install argv list for one executable. */
export function sourceInstallSteps(options: { bunTarget: string; entry: string; outfile: string; defines: BuildDefines }): string[][] {
  return [[...SOURCE_INSTALL.installDependencies], compileArgv({ bun: SOURCE_INSTALL.bun, ...options })];
}
