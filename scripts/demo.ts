// `npm run demo`: the main job end to end on this machine. Builds the host's vox and vox-bootstrap as release
// v0.1.0 into a temp dir (trusting a throw-away minisign key), signs checksums.txt, verifies the release with the
// freshly built vox, smoke-tests it, and prints a summary.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", "bun");
const work = mkdtempSync(join(tmpdir(), "vox-demo-"));
const dist = join(work, "dist");
const tag = "v0.1.0";

function step(title: string): void {
  console.log(`\n== ${title}`);
}

function vox(args: string[], options: { capture?: boolean } = {}): string {
  const result = spawnSync(bun, [join(root, "main.ts"), ...args], { cwd: root, encoding: "utf8", stdio: ["ignore", options.capture ? "pipe" : "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`vox ${args.join(" ")} exited ${result.status}`);
  return result.stdout ?? "";
}

try {
  step("throw-away release key (minisign -G -W); only its public half is embedded");
  execFileSync("minisign", ["-G", "-W", "-p", join(work, "demo.pub"), "-s", join(work, "demo.sec")], { stdio: "ignore" });
  console.log(readFileSync(join(work, "demo.pub"), "utf8").trim());

  step(`vox ci release-build --version ${tag} (host triple, both packages, smoke-tested)`);
  const report = JSON.parse(vox(["ci", "release-build", "--version", tag, "--out-dir", dist, "--trusted-key", join(work, "demo.pub"), "--json"], { capture: true })) as {
    sourceDateEpoch: number;
    artifacts: Array<{ basename: string; sha256: string; size: number; triple: string }>;
    smoke: Array<{ basename: string; status: string; runner: string; detail: string }>;
  };

  step("vox ci sign checksums.txt (trusted comment binds repo, tag, version)");
  vox(["ci", "sign", "--key", join(work, "demo.sec"), "--tag", tag, join(dist, "checksums.txt")]);
  console.log(readFileSync(join(dist, "checksums.txt.minisig"), "utf8").split("\n")[2]);

  step("the built vox verifies its own release (signature → sha256 → archive structure)");
  const bin = join(work, "bin");
  execFileSync("mkdir", ["-p", bin]);
  const host = report.artifacts.find((a) => a.basename.startsWith("vox-v"))!;
  execFileSync("tar", ["-xzf", join(dist, host.basename), "-C", bin]);
  console.log(execFileSync(join(bin, "vox"), ["ci", "verify", dist, "--tag", tag], { encoding: "utf8" }).trimEnd());

  step("independent oracles: sha256sum -c, minisign -V, tar -tvzf");
  console.log(execFileSync("sha256sum", ["-c", "checksums.txt"], { cwd: dist, encoding: "utf8" }).trimEnd());
  console.log(execFileSync("minisign", ["-V", "-p", join(work, "demo.pub"), "-m", join(dist, "checksums.txt")], { encoding: "utf8" }).trimEnd());
  console.log(execFileSync("tar", ["-tvzf", join(dist, host.basename)], { encoding: "utf8" }).trimEnd());

  step("summary");
  console.log(`release ${tag}, SOURCE_DATE_EPOCH=${report.sourceDateEpoch}, host ${host.triple}`);
  for (const artifact of report.artifacts) {
    const smoke = report.smoke.find((s) => s.basename === artifact.basename);
    console.log(`  ${artifact.basename.padEnd(52)} ${(artifact.size / 1048576).toFixed(1).padStart(5)} MiB  sha256 ${artifact.sha256.slice(0, 16)}…  smoke ${smoke?.status} (${smoke?.detail})`);
  }
  console.log(`  $ ${join(bin, "vox")} --version → ${execFileSync(join(bin, "vox"), ["--version"], { encoding: "utf8" }).trim()}`);
  console.log("demo: ok");
} finally {
  rmSync(work, { recursive: true, force: true });
}
