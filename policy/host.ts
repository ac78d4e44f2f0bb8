import { readExecutableFormat } from "../binary/mod.ts";
import { BUILD_BUN_TARGET } from "../build/constants.ts";
import { VoxError } from "../errors/mod.ts";
import { TARGETS, type Target } from "./targets.ts";

/** What identifies the running host; injectable so detection is testable for every platform. */
export interface HostFacts {
  platform: string;
  arch: string;
  /** For Linux: the libc of the running executable, read from its ELF interpreter. */
  libc?: "gnu" | "musl";
}

const PLATFORM_TO_OS: Record<string, Target["os"]> = { linux: "linux", darwin: "darwin", win32: "windows" };

/**
 * Maps host facts to a supported target.
 *
 * @example
 * ```ts
 * targetForHost({ platform: "linux", arch: "arm64", libc: "musl" }).triple; // "aarch64-unknown-linux-musl"
 * ```
 */
export function targetForHost(facts: HostFacts): Target {
  const os = PLATFORM_TO_OS[facts.platform];
  const libc = os === "linux" ? (facts.libc ?? "gnu") : undefined;
  const target = TARGETS.find((t) => t.os === os && t.arch === facts.arch && t.format.libc === libc);
  if (!target) {
    throw new VoxError("E_UNSUPPORTED_HOST", `Cannot map this host (${facts.platform}/${facts.arch}${libc ? `/${libc}` : ""}) to a supported target`, {
      hint: `Supported targets: ${TARGETS.map((t) => t.triple).join(", ")}. Build from source instead (vox-bootstrap --source-only).`,
    });
  }
  return target;
}

/**
 * Facts about the running process: musl vs glibc comes from the ELF interpreter of `execPath`, not from probing
 * files. A compiled vox asked about itself knows the target it was built for (reading its header cost `vox policy`
 * about 2 ms of start-up).
 */
export async function detectHostFacts(execPath: string = process.execPath): Promise<HostFacts> {
  if (process.platform !== "linux") return { platform: process.platform, arch: process.arch };
  const built = execPath === process.execPath ? TARGETS.find((t) => t.bunTarget === BUILD_BUN_TARGET) : undefined;
  const libc = built ? built.format.libc : (await readExecutableFormat(execPath).catch(() => undefined))?.libc;
  return { platform: process.platform, arch: process.arch, ...(libc ? { libc } : {}) };
}

/** The target of the running host. */
export async function detectHostTarget(execPath?: string): Promise<Target> {
  return targetForHost(await detectHostFacts(execPath));
}
