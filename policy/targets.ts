import type { ExecutableFormat } from "../binary/mod.ts";

export type { ExecutableFormat };

export interface Target {
  triple: string;
  /** The `--target` value `bun build --compile` takes for this triple. */
  bunTarget: string;
  os: "linux" | "darwin" | "windows";
  /** `process.arch` of a host running this target. */
  arch: "x64" | "arm64";
  archive: "tar.gz" | "zip";
  /** Appended to executable names (`vox` → `vox.exe`). */
  exeSuffix: "" | ".exe";
  format: ExecutableFormat;
  /** `seed`: in the original release contract; `added`: new in this implementation. */
  status: "seed" | "added";
}

/** Every triple a release is built for. install.sh, install.ps1, the release workflow and the docs agree with this table (tests/policy_agreement.test.ts). */
export const TARGETS: readonly Target[] = [
  { triple: "x86_64-unknown-linux-gnu", bunTarget: "bun-linux-x64-baseline", os: "linux", arch: "x64", archive: "tar.gz", exeSuffix: "", format: { kind: "elf", cpu: "x86_64", libc: "gnu" }, status: "seed" },
  { triple: "x86_64-pc-windows-msvc", bunTarget: "bun-windows-x64-baseline", os: "windows", arch: "x64", archive: "zip", exeSuffix: ".exe", format: { kind: "pe", cpu: "x86_64" }, status: "seed" },
  { triple: "x86_64-apple-darwin", bunTarget: "bun-darwin-x64", os: "darwin", arch: "x64", archive: "tar.gz", exeSuffix: "", format: { kind: "macho", cpu: "x86_64" }, status: "seed" },
  { triple: "aarch64-apple-darwin", bunTarget: "bun-darwin-arm64", os: "darwin", arch: "arm64", archive: "tar.gz", exeSuffix: "", format: { kind: "macho", cpu: "aarch64" }, status: "seed" },
  { triple: "aarch64-unknown-linux-gnu", bunTarget: "bun-linux-arm64", os: "linux", arch: "arm64", archive: "tar.gz", exeSuffix: "", format: { kind: "elf", cpu: "aarch64", libc: "gnu" }, status: "added" },
  { triple: "x86_64-unknown-linux-musl", bunTarget: "bun-linux-x64-musl-baseline", os: "linux", arch: "x64", archive: "tar.gz", exeSuffix: "", format: { kind: "elf", cpu: "x86_64", libc: "musl" }, status: "added" },
  { triple: "aarch64-unknown-linux-musl", bunTarget: "bun-linux-arm64-musl", os: "linux", arch: "arm64", archive: "tar.gz", exeSuffix: "", format: { kind: "elf", cpu: "aarch64", libc: "musl" }, status: "added" },
  { triple: "aarch64-pc-windows-msvc", bunTarget: "bun-windows-arm64", os: "windows", arch: "arm64", archive: "zip", exeSuffix: ".exe", format: { kind: "pe", cpu: "aarch64" }, status: "added" },
];

/** The target for `triple`, or undefined when it is not supported. */
export function findTarget(triple: string): Target | undefined {
  return TARGETS.find((t) => t.triple === triple);
}
