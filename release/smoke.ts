import { access } from "node:fs/promises";
import { errorMessage } from "../errors/mod.ts";
import type { Spawner } from "../io/mod.ts";
import { findPackage, parseAssetName, TARGETS, type Target } from "../policy/mod.ts";
import { withInspectedArchive } from "./inspect.ts";

/** A way to execute a target's binaries on some host: natively or under an emulator with its sysroot. */
interface SmokeRunner {
  name: string;
  /** Host triple this runner works on. */
  host: string;
  /** Target triple it executes. */
  target: string;
  /** Files that must exist for it to work. */
  requires: readonly string[];
  argv(executable: string, args: readonly string[]): string[];
}

/** Emulated runners (data): linux arm64 glibc binaries run on x86_64 linux under qemu-user with Debian's cross libc. */
const EMULATED_RUNNERS: readonly SmokeRunner[] = [
  {
    name: "qemu-aarch64-static",
    host: "x86_64-unknown-linux-gnu",
    target: "aarch64-unknown-linux-gnu",
    requires: ["/usr/bin/qemu-aarch64-static", "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"],
    argv: (exe, args) => ["/usr/bin/qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu", exe, ...args],
  },
];

export type SmokeStatus = "passed" | "failed" | "not-smoke-tested";

export interface SmokeResult {
  basename: string;
  triple: string;
  status: SmokeStatus;
  /** How it ran (native, an emulator), or why it could not. */
  runner: string;
  detail: string;
}

/** The runner for `target` on `hostTriple`, or undefined when this host cannot execute it. */
export async function findRunner(target: Target, hostTriple: string): Promise<SmokeRunner | undefined> {
  if (target.triple === hostTriple) return { name: "native", host: hostTriple, target: target.triple, requires: [], argv: (exe, args) => [exe, ...args] };
  for (const runner of EMULATED_RUNNERS) {
    if (runner.host !== hostTriple || runner.target !== target.triple) continue;
    const present = await Promise.all(runner.requires.map((path) => access(path).then(() => true, () => false)));
    if (present.every(Boolean)) return runner;
  }
  return undefined;
}

/**
 * Checks a release archive's structure and, where this host can execute the target, runs its executable:
 * `vox --version` must print exactly `vox <version>`; `vox-bootstrap --help` must succeed.
 * A target this host cannot execute is reported as not smoke-tested, never as passed.
 */
export async function smokeArchive(archive: string, options: { basename: string; version: string; hostTriple: string; spawner: Spawner }): Promise<SmokeResult> {
  const asset = parseAssetName(options.basename, TARGETS);
  const pkg = asset && findPackage(asset.packageName);
  if (!asset || !pkg) return { basename: options.basename, triple: "?", status: "failed", runner: "none", detail: "not a release archive name" };
  const base = { basename: options.basename, triple: asset.target.triple };
  try {
    return await withInspectedArchive(archive, { packageName: pkg.name, target: asset.target }, async (path, inspected) => {
      const runner = await findRunner(asset.target, options.hostTriple);
      const structure = `one entry '${inspected.entry}', mode 0755, ${inspected.size} bytes`;
      if (!runner) return { ...base, status: "not-smoke-tested", runner: "none", detail: `structure ok (${structure}); this host (${options.hostTriple}) cannot execute ${asset.target.triple}` };
      const result = await options.spawner.run(runner.argv(path, pkg.smoke.args), { timeoutMs: 120_000 });
      const firstLine = result.stdout.split("\n")[0] ?? "";
      const expected = `${pkg.name} ${options.version}`;
      const ok = result.code === 0 && (!pkg.smoke.expectVersionLine || firstLine === expected);
      const detail = ok
        ? `${pkg.name} ${pkg.smoke.args.join(" ")} → ${pkg.smoke.expectVersionLine ? JSON.stringify(firstLine) : "exit 0"}`
        : `${pkg.name} ${pkg.smoke.args.join(" ")} exited ${result.code ?? result.signal}${pkg.smoke.expectVersionLine ? `, printed ${JSON.stringify(firstLine)}, expected ${JSON.stringify(expected)}` : ""}${result.stderr ? `: ${result.stderr.trim().slice(0, 300)}` : ""}`;
      return { ...base, status: ok ? "passed" : "failed", runner: runner.name, detail };
    });
  } catch (error) {
    return { ...base, status: "failed", runner: "none", detail: errorMessage(error) };
  }
}
