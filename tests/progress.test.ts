// Progress for the long operations (deploy build's layers, pushes and pulls of blobs): drawn on a terminal (a real
// pty from util-linux `script`), and nothing at all when stderr is a pipe, through the real CLI and docker-registry.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bun, repoRoot, tempDir } from "./support/helpers.ts";
import { type RunningRegistry, startRegistry } from "./support/registry.ts";

/** Runs vox with stderr on a pseudo-terminal; what the terminal showed is returned (stdout and stderr both). */
function voxOnTerminal(args: string[], cwd: string): { status: number | null; screen: string } {
  const transcript = join(tempDir("tty"), "typescript");
  const command = [bun, join(repoRoot, "main.ts"), ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const result = spawnSync("script", ["--quiet", "--return", "--command", command, transcript], { cwd, encoding: "utf8", env: { ...process.env, DOCKER_CONFIG: tempDir("docker-config") } });
  return { status: result.status, screen: readFileSync(transcript, "utf8") };
}

function voxPiped(args: string[], cwd: string) {
  return spawnSync(bun, [join(repoRoot, "main.ts"), ...args], { cwd, encoding: "utf8", env: { ...process.env, DOCKER_CONFIG: tempDir("docker-config") } });
}

/** A project on `scratch` with one 3 MiB incompressible file, so that layers take more than one progress step. */
function project(): string {
  const dir = tempDir("progress");
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app", "data.bin"), randomBytes(3 << 20));
  writeFileSync(join(dir, "Vox.toml"), '[package]\nname = "progress"\nversion = "0.1.0"\nkind = "application"\n\n[deploy]\nbase = "scratch"\nplatforms = ["linux/amd64"]\nentrypoint = ["/app/data.bin"]\n\n[[deploy.copy]]\nfrom = "app"\nto = "/app"\n');
  return dir;
}

describe("progress of build, push and pull", () => {
  let registry: RunningRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry.stop());

  test("on a terminal, deploy build draws its layer packing and push draws each blob; oci pull draws each blob", () => {
    const dir = project();
    const ref = `${registry.host}/progress/tty:1`;
    const built = voxOnTerminal(["deploy", "build", "--output", `oci:${join(dir, "oci")}:1`, "--push", ref, "--insecure"], dir);
    assert.equal(built.status, 0, built.screen);
    assert.match(built.screen, /packing layers \[#{20}\] 3\.0\/3\.0 MiB/);
    assert.match(built.screen, /pushing sha256:[0-9a-f]{12} \[#{20}\]/);
    const pulled = voxOnTerminal(["oci", "pull", ref, "--platform", "linux/amd64", "--insecure"], dir);
    assert.equal(pulled.status, 0, pulled.screen);
    assert.match(pulled.screen, /pulling sha256:[0-9a-f]{12} \[#{20}\] 3\.0\/3\.0 MiB/);
  });

  test("when stderr is not a terminal, the same commands print no progress at all", () => {
    const dir = project();
    const ref = `${registry.host}/progress/pipe:1`;
    const built = voxPiped(["deploy", "build", "--output", `oci:${join(dir, "oci")}:1`, "--push", ref, "--insecure"], dir);
    assert.equal(built.status, 0, built.stderr);
    const pulled = voxPiped(["oci", "pull", ref, "--platform", "linux/amd64", "--insecure"], dir);
    assert.equal(pulled.status, 0, pulled.stderr);
    for (const output of [built.stderr, pulled.stderr]) {
      assert.doesNotMatch(output, /packing layers|pushing sha256|pulling sha256|\r/);
    }
  });
});
