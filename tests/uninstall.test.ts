// End to end: `vox self uninstall` touches only the executables in the receipt's own directory, the known profiles
// under $HOME and the empty directories install created; PATH-block edits keep a profile's mode, owner and links.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { tempDir } from "./support/helpers.ts";
import { type RunningServer, startNginx } from "./support/nginx.ts";
import { hostRelease } from "./support/releases.ts";

const TRIPLE = "x86_64-unknown-linux-gnu";
const NOBODY = 65534;
const r1 = hostRelease("v0.1.0");
const r2 = hostRelease("v0.2.0");
const www = tempDir("www");
chmodSync(www, 0o755);
let nginx: RunningServer;
let base = "";

const tools = tempDir("tools");
execFileSync("tar", ["-xzf", join(r1.dir, `vox-bootstrap-v0.1.0-${TRIPLE}.tar.gz`), "-C", tools]);
const bootstrap = join(tools, "vox-bootstrap");
// Other users must reach the bootstrap and their homes through the per-process scratch root (0700 by mkdtemp).
chmodSync(dirname(tools), 0o755);
chmodSync(tools, 0o755);

const asNobody = ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"];

/** Runs `argv` (optionally as nobody) with only PATH and `env`, from a neutral working directory. */
function run(argv: string[], env: Record<string, string>, options: { nobody?: boolean } = {}) {
  const [command, ...args] = options.nobody ? [...asNobody, ...argv] : argv;
  return spawnSync(command!, args, { cwd: "/", env: { PATH: process.env.PATH!, ...env }, encoding: "utf8" });
}

/** Installs v0.1.0 from the mirror into `<home>/.vox/bin`; returns the installed executable. */
function install(home: string, options: { nobody?: boolean } = {}): string {
  const result = run([bootstrap, "--install", "--base-url", base, "--version", "v0.1.0", "--no-fallback"], { HOME: home }, options);
  assert.equal(result.status, 0, result.stderr);
  return join(home, ".vox", "bin", "vox");
}

function uninstall(vox: string, home: string, args: string[] = [], options: { nobody?: boolean } = {}) {
  return run([vox, "self", "uninstall", ...args], { HOME: home }, options);
}

/** Every entry under `dirs`: type, mode, owner, and the bytes or link target, to prove what changed and what did not. */
function snapshot(...dirs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (root: string, dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const stat = lstatSync(path);
      const what = entry.isSymbolicLink() ? `-> ${readlinkSync(path)}` : entry.isDirectory() ? "dir" : createHash("sha256").update(readFileSync(path)).digest("hex");
      out[join(root, relative(root, path))] = `${(stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid} ${what}`;
      if (entry.isDirectory()) walk(root, path);
    }
  };
  for (const dir of dirs) walk(dir, dir);
  return out;
}

before(async () => {
  nginx = await startNginx(www);
  for (const release of [r1, r2]) cpSync(release.dir, join(www, "releases", "download", release.tag), { recursive: true });
  base = `${nginx.url}/releases`;
});
after(() => nginx.stop());

describe("vox self uninstall removes what install and upgrades left, and nothing else", () => {
  test("after an upgrade it also removes vox.previous and a parked .vox.old, leaving the home as it was", () => {
    const home = tempDir("home");
    writeFileSync(join(home, ".profile"), "# mine\n");
    const before = snapshot(home);
    const vox = install(home);
    const upgraded = run([vox, "upgrade", "--base-url", base, "--version", "v0.2.0"], { HOME: home, VOX_STATE_DIR: tempDir("state") });
    assert.equal(upgraded.status, 0, upgraded.stderr);
    assert.ok(existsSync(join(home, ".vox", "bin", "vox.previous")));
    // What a Windows swap parks beside the running .exe (named the same way for every target).
    copyFileSync(vox, join(home, ".vox", "bin", ".vox.old"));
    const result = uninstall(vox, home);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(snapshot(home), before);
  });

  test("a receipt naming anything but its own directory's executables, $HOME's known profiles or the install directory chain is refused, and nothing is touched", () => {
    const home = tempDir("home");
    writeFileSync(join(home, ".profile"), "# mine\n");
    const vox = install(home);
    const dir = dirname(vox);
    const receiptPath = join(dir, ".vox-receipt.json");
    const honest = readFileSync(receiptPath, "utf8");
    const receipt = JSON.parse(honest);
    const elsewhere = tempDir("elsewhere");
    writeFileSync(join(elsewhere, "victim"), "precious\n");
    writeFileSync(join(elsewhere, ".profile"), `# theirs\n${readFileSync(join(home, ".profile"), "utf8").slice("# mine\n".length)}`);
    writeFileSync(join(elsewhere, "empty"), "");
    mkdirSync(join(elsewhere, "emptydir"));
    writeFileSync(join(home, "notes.txt"), readFileSync(join(home, ".profile"), "utf8"));
    writeFileSync(join(dir, "data"), "not an executable install wrote\n");
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ["a file elsewhere", { files: [...receipt.files, join(elsewhere, "victim")] }, /names .*elsewhere-\w+\/victim.*, which is not one of the executables vox installs in/],
      ["a file reached through ..", { files: [`${dir}/../../notes.txt`] }, /names .*\/\.\.\/\.\.\/notes\.txt/],
      ["another file in the install directory", { files: [join(dir, "data")] }, /names .*\/data, which is not one of the executables/],
      ["a profile elsewhere", { profileEdits: [join(elsewhere, ".profile")] }, /names .*elsewhere-\w+\/\.profile, which is not one of the shell profiles .* under /],
      ["a file under $HOME that is not a known profile", { profileEdits: [join(home, "notes.txt")] }, /names .*\/notes\.txt, which is not one of the shell profiles/],
      ["a created profile elsewhere", { createdProfiles: [join(elsewhere, "empty")] }, /names .*elsewhere-\w+\/empty, which is not one of the shell profiles/],
      ["a directory outside the install directory chain", { createdDirs: [join(elsewhere, "emptydir")] }, /names .*elsewhere-\w+\/emptydir, which is not the install directory or one of its parents/],
      ["a relative path", { files: ["vox"] }, /names vox, which is not one of the executables/],
      ["an installDir other than where the receipt lies", { installDir: elsewhere }, /says it belongs to .*elsewhere-\w+, but it lies in .*\/\.vox\/bin/],
    ];
    for (const [label, change, expected] of cases) {
      writeFileSync(receiptPath, JSON.stringify({ ...receipt, ...change }));
      const before = snapshot(home, elsewhere);
      const result = uninstall(vox, home);
      assert.equal(result.status, 1, `${label}: ${result.stdout}`);
      assert.match(result.stderr, /^error: Cannot uninstall from .*\/\.vox\/bin: the receipt /, label);
      assert.match(result.stderr, expected, label);
      assert.match(result.stderr, /\nhint: /, label);
      assert.deepEqual(snapshot(home, elsewhere), before, `${label}: nothing may change`);
    }
    writeFileSync(receiptPath, honest);
    const result = uninstall(vox, home);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(readdirSync(dir).sort(), ["data"]);
    assert.equal(readFileSync(join(home, ".profile"), "utf8"), "# mine\n");
  });

  test("a receipt reached through a symlinked install directory is honoured (real paths are compared)", () => {
    const home = tempDir("home");
    const real = join(home, "real");
    mkdirSync(real);
    symlinkSync(real, join(home, "link"));
    const result = run([bootstrap, "--install", "--install-dir", join(home, "link"), "--base-url", base, "--version", "v0.1.0", "--no-modify-path"], { HOME: home });
    assert.equal(result.status, 0, result.stderr);
    const removed = uninstall(join(real, "vox"), home);
    assert.equal(removed.status, 0, removed.stderr);
    assert.deepEqual(readdirSync(real), []);
  });

  test("a receipt another user owns or could have written is refused; its owner can still uninstall", () => {
    const home = tempDir("home");
    chownSync(home, NOBODY, NOBODY);
    const before = snapshot(home);
    const vox = install(home, { nobody: true });
    const receiptPath = join(dirname(vox), ".vox-receipt.json");
    assert.equal(lstatSync(receiptPath).uid, NOBODY);
    const installed = snapshot(home);

    const asRoot = uninstall(vox, home);
    assert.equal(asRoot.status, 1, asRoot.stdout);
    assert.match(asRoot.stderr, new RegExp(`Cannot uninstall from .*/\\.vox/bin: the receipt is owned by uid ${NOBODY}, not by you \\(uid 0\\)`));
    assert.match(asRoot.stderr, /hint: Run 'vox self uninstall' as the user who installed vox/);
    assert.deepEqual(snapshot(home), installed);

    chmodSync(receiptPath, 0o666);
    const writable = uninstall(vox, home, [], { nobody: true });
    assert.equal(writable.status, 1, writable.stdout);
    assert.match(writable.stderr, /the receipt is writable by others \(mode 0666\)/);
    chmodSync(receiptPath, 0o644);

    const asOwner = uninstall(vox, home, [], { nobody: true });
    assert.equal(asOwner.status, 0, asOwner.stderr);
    assert.deepEqual(snapshot(home), before);
  });
});

test("a FIFO or a symbolic link planted as the receipt is refused without blocking or following it", () => {
  const home = tempDir("home");
  const vox = install(home);
  const receipt = join(home, ".vox", "bin", ".vox-receipt.json");
  const saved = readFileSync(receipt);
  rmSync(receipt);
  execFileSync("mkfifo", [receipt]);
  // The timeout only guards the suite against the hang this test is about; the assertions are on the output.
  const fifo = spawnSync(vox, ["self", "uninstall"], { cwd: "/", env: { PATH: process.env.PATH!, HOME: home }, encoding: "utf8", timeout: 60_000 });
  assert.equal(fifo.status, 1, fifo.stderr);
  assert.match(fifo.stderr, /Cannot read the install receipt in .*: it is not a regular file/);
  rmSync(receipt);
  writeFileSync(join(home, "elsewhere.json"), saved);
  symlinkSync(join(home, "elsewhere.json"), receipt);
  const linked = uninstall(vox, home);
  assert.equal(linked.status, 1);
  assert.match(linked.stderr, /Cannot read the install receipt .*: it is a symbolic link/);
  assert.ok(existsSync(vox), "nothing was removed");
});

describe("PATH-block edits keep a profile's mode, owner and links (install and uninstall)", () => {
  test("a 0600 .profile stays 0600 and a symlinked .bashrc stays a link whose target gets the block", () => {
    const home = tempDir("home");
    writeFileSync(join(home, ".profile"), "export TOKEN=secret\n", { mode: 0o600 });
    mkdirSync(join(home, "dotfiles"));
    writeFileSync(join(home, "dotfiles", "bashrc"), "# bash\n", { mode: 0o640 });
    symlinkSync("dotfiles/bashrc", join(home, ".bashrc"));
    const before = snapshot(home);
    install(home);
    assert.equal(lstatSync(join(home, ".profile")).mode & 0o777, 0o600);
    assert.match(readFileSync(join(home, ".profile"), "utf8"), /^export TOKEN=secret\n# >>> vox >>>/);
    assert.ok(lstatSync(join(home, ".bashrc")).isSymbolicLink());
    assert.equal(readlinkSync(join(home, ".bashrc")), "dotfiles/bashrc");
    assert.equal(lstatSync(join(home, "dotfiles", "bashrc")).mode & 0o777, 0o640);
    assert.match(readFileSync(join(home, "dotfiles", "bashrc"), "utf8"), /^# bash\n# >>> vox >>>/);
    assert.deepEqual(readdirSync(join(home, "dotfiles")), ["bashrc"], "no temp file is left beside the target");
    const result = uninstall(join(home, ".vox", "bin", "vox"), home);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(snapshot(home), before);
  });

  test("run as root with a user's HOME, the user's profiles stay theirs and a new .profile is created as theirs", () => {
    const home = tempDir("home");
    writeFileSync(join(home, ".bashrc"), "# bash\n", { mode: 0o600 });
    chownSync(home, NOBODY, NOBODY);
    chownSync(join(home, ".bashrc"), NOBODY, NOBODY);
    const before = snapshot(home);
    const vox = install(home);
    for (const name of [".bashrc", ".profile"]) {
      const stat = lstatSync(join(home, name));
      assert.deepEqual([name, stat.uid, stat.gid], [name, NOBODY, NOBODY]);
    }
    assert.equal(lstatSync(join(home, ".bashrc")).mode & 0o777, 0o600);
    const result = uninstall(vox, home);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(snapshot(home), before);
  });

  test("run as root, a profile link leading to a file HOME's owner does not own is refused (vox still installed, with its receipt), and that file is untouched", () => {
    const home = tempDir("home");
    const outside = tempDir("outside");
    chmodSync(outside, 0o755);
    writeFileSync(join(outside, "root-owned"), "# root's\n");
    chownSync(home, NOBODY, NOBODY);
    symlinkSync(join(outside, "root-owned"), join(home, ".profile"));
    const before = snapshot(outside);
    const result = run([bootstrap, "--install", "--base-url", base, "--version", "v0.1.0", "--no-fallback"], { HOME: home });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /warning: cannot add .* to PATH in .*\/\.profile \(Cannot edit .*\/\.profile: it leads to .*root-owned, which is owned by uid 0, not by uid 65534 who owns [^)]*\); add it yourself: export PATH=/);
    assert.deepEqual(snapshot(outside), before);
    const receipt = JSON.parse(readFileSync(join(home, ".vox", "bin", ".vox-receipt.json"), "utf8"));
    assert.deepEqual([receipt.profileEdits, receipt.createdProfiles], [[], []], "the receipt says no profile was edited");
  });
});
