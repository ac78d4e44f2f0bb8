// Shared plumbing for end-to-end tests: the checkout, its pinned Bun, temp dirs, real minisign keys.
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const bun = join(repoRoot, "node_modules", ".bin", "bun");

/** One scratch root per test process, removed when the process exits: end-to-end tests copy 100 MB binaries around. */
const scratchRoot = mkdtempSync(join(tmpdir(), `vox-e2e-${process.pid}-`));
process.on("exit", () => rmSync(scratchRoot, { recursive: true, force: true }));

export function tempDir(prefix: string): string {
  return mkdtempSync(join(scratchRoot, `${prefix}-`));
}

/** Runs `vox` from source under Bun (as `bun main.ts …`), never through a shell. */
export function runVoxSource(args: readonly string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): SpawnSyncReturns<string> {
  return spawnSync(bun, [join(repoRoot, "main.ts"), ...args], { cwd: options.cwd ?? repoRoot, env: { ...process.env, ...options.env }, encoding: "utf8", maxBuffer: 64 << 20 });
}

/** A key pair made by the real minisign tool, unencrypted. */
export function minisignKeys(): { dir: string; pub: string; sec: string; keyId: string } {
  const dir = tempDir("keys");
  const pub = join(dir, "release.pub");
  const sec = join(dir, "release.sec");
  execFileSync("minisign", ["-G", "-W", "-p", pub, "-s", sec], { stdio: "ignore" });
  // minisign prints the id without leading zeros; vox always shows all 16 digits.
  const keyId = /minisign public key ([0-9A-F]{1,16})\n/.exec(readFileSync(pub, "utf8"))![1]!.padStart(16, "0");
  return { dir, pub, sec, keyId };
}

/** Like spawnSync, but leaves the event loop free: needed when the server under test runs in this process. */
export function runAsync(command: string, args: readonly string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * A second checkout at another path: every tracked and unignored file plus its own node_modules tree
 * (hard-linked where the filesystem allows). A symlinked node_modules would not do: Bun names chunks after
 * module paths relative to the project, and a real second checkout has its dependencies inside it.
 */
export function copyCheckout(): string {
  const copy = join(tempDir("checkout"), "elsewhere", "vox");
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: repoRoot, encoding: "utf8" }).split("\0").filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    copyFileSync(join(repoRoot, file), join(copy, file));
  }
  const linked = spawnSync("cp", ["-al", join(repoRoot, "node_modules"), join(copy, "node_modules")]);
  if (linked.status !== 0) execFileSync("cp", ["-a", join(repoRoot, "node_modules"), join(copy, "node_modules")]);
  return copy;
}

