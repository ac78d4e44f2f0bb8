// End to end: `vox ci release-build` from two checkouts, two runtimes and two umasks gives identical archives
// that GNU tar, unzip, sha256sum and minisign accept; the built executables run (natively and under qemu).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { renderJson } from "../cli/json.ts";
import { describePolicy } from "../policy/mod.ts";
import { copyCheckout, minisignKeys, runVoxSource, tempDir } from "./support/helpers.ts";

const TRIPLES = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-pc-windows-msvc"];
const EPOCH = "1700000000";

interface Report {
  artifacts: Array<{ basename: string; sha256: string }>;
  smoke: Array<{ basename: string; status: string; runner: string; detail: string }>;
}

describe("vox ci release-build", () => {
  const keys = minisignKeys();
  const d1 = join(tempDir("d1"), "dist");
  const d2 = join(tempDir("d2"), "out");
  let report: Report;

  before(() => {
    const targets = TRIPLES.flatMap((t) => ["--target", t]);
    const first = runVoxSource(["ci", "release-build", ...targets, "--version", "v0.1.0", "--out-dir", d1, "--trusted-key", keys.pub, "--json"], { env: { SOURCE_DATE_EPOCH: EPOCH, VOX_COMPRESSION_WORKERS: "4" } });
    assert.equal(first.status, 0, first.stderr);
    report = JSON.parse(first.stdout) as Report;
    // The second build: another checkout path, another working directory, umask 077, Node (tsx) instead of Bun, and one
    // compression worker instead of four (archive/writers_test.ts covers 1, 2 and 4 on one runtime).
    const copy = copyCheckout();
    const workdir = tempDir("cwd");
    const command = ["umask 077", `exec node --import "$3" "$0" ci release-build ${targets.join(" ")} --version v0.1.0 --out-dir "$1" --trusted-key "$2" --no-smoke`].join("; ");
    const second = spawnSync("sh", ["-c", command, join(copy, "main.ts"), d2, keys.pub, import.meta.resolve("tsx")], { cwd: workdir, env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH, VOX_REPO_ROOT: copy, VOX_COMPRESSION_WORKERS: "1" }, encoding: "utf8" });
    assert.equal(second.status, 0, second.stderr);
  });

  test("two builds from different checkouts, directories, umasks, runtimes and worker counts give byte-identical archives", () => {
    const sums1 = readFileSync(join(d1, "checksums.txt"), "utf8");
    assert.equal(readFileSync(join(d2, "checksums.txt"), "utf8"), sums1);
    assert.equal(sums1.trimEnd().split("\n").length, 8, "six archives and the two install scripts");
    for (const name of readdirSync(d1).filter((n) => n !== "checksums.txt")) {
      assert.ok(readFileSync(join(d1, name)).equals(readFileSync(join(d2, name))), name);
    }
  });

  test("each tar.gz holds one root-owned 0755 executable at its root, and the zip one 0755 vox.exe", () => {
    for (const triple of TRIPLES.filter((t) => !t.includes("windows"))) {
      for (const pkg of ["vox", "vox-bootstrap"]) {
        const listing = execFileSync("tar", ["-tvzf", join(d1, `${pkg}-v0.1.0-${triple}.tar.gz`)], { encoding: "utf8" });
        assert.match(listing, new RegExp(`^-rwxr-xr-x root/root\\s+\\d+ 2023-11-1[45] \\d\\d:\\d\\d ${pkg}\\n$`));
      }
    }
    const zip = execFileSync("unzip", ["-Z", join(d1, "vox-v0.1.0-x86_64-pc-windows-msvc.zip")], { encoding: "utf8" });
    assert.match(zip, /number of entries: 1\n-rwxr-xr-x .* unx .* vox\.exe\n/);
  });

  test("GNU sha256sum -c accepts checksums.txt", () => {
    const output = execFileSync("sha256sum", ["-c", "--strict", "checksums.txt"], { cwd: d1, encoding: "utf8" });
    assert.equal(output.match(/: OK$/gm)?.length, 8);
  });

  test("smoke runs linux x64 natively and linux arm64 under qemu, and reports windows as not smoke-tested", () => {
    const status = Object.fromEntries(report.smoke.map((s) => [s.basename, `${s.status} ${s.runner}`]));
    assert.equal(status["vox-v0.1.0-x86_64-unknown-linux-gnu.tar.gz"], "passed native");
    assert.equal(status["vox-v0.1.0-aarch64-unknown-linux-gnu.tar.gz"], "passed qemu-aarch64-static");
    assert.equal(status["vox-bootstrap-v0.1.0-aarch64-unknown-linux-gnu.tar.gz"], "passed qemu-aarch64-static");
    assert.equal(status["vox-v0.1.0-x86_64-pc-windows-msvc.zip"], "not-smoke-tested none");
    assert.match(report.smoke.find((s) => s.basename === "vox-v0.1.0-aarch64-unknown-linux-gnu.tar.gz")!.detail, /"vox 0\.1\.0"/);
    const arm = tempDir("arm");
    execFileSync("tar", ["-xzf", join(d1, "vox-v0.1.0-aarch64-unknown-linux-gnu.tar.gz")], { cwd: arm });
    assert.equal(execFileSync("qemu-aarch64-static", ["-L", "/usr/aarch64-linux-gnu", join(arm, "vox"), "--version"], { encoding: "utf8" }), "vox 0.1.0\n");
  });

  test("vox ci sign writes a signature that minisign -V accepts, binding repo, tag and version", () => {
    const signed = runVoxSource(["ci", "sign", "--key", keys.sec, "--tag", "v0.1.0", join(d1, "checksums.txt")], { env: { SOURCE_DATE_EPOCH: EPOCH } });
    assert.equal(signed.status, 0, signed.stderr);
    const output = execFileSync("minisign", ["-V", "-p", keys.pub, "-m", join(d1, "checksums.txt")], { encoding: "utf8" });
    assert.match(output, /Trusted comment: timestamp:1700000000\tfile:checksums\.txt\trepo:vox-foundation\/vox\ttag:v0\.1\.0\tversion:0\.1\.0/);
  });

  describe("the compiled vox", () => {
    const bin = tempDir("bin");
    before(() => execFileSync("tar", ["-xzf", join(d1, "vox-v0.1.0-x86_64-unknown-linux-gnu.tar.gz")], { cwd: bin }));

    test("prints exactly its tagged version and the same policy as the source", () => {
      assert.equal(execFileSync(join(bin, "vox"), ["--version"], { encoding: "utf8" }), "vox 0.1.0\n");
      const policy = JSON.parse(execFileSync(join(bin, "vox"), ["policy", "--json"], { encoding: "utf8", env: { ...process.env, VOX_UPGRADE_BASE_URL: "" } }));
      const described = describePolicy({ tag: "v0.1.0", hostTriple: "x86_64-unknown-linux-gnu" });
      assert.deepEqual(policy, JSON.parse(renderJson(described.schema, described)));
    });

    test("verifies the signed release with the key embedded at build time, which the source build does not trust", () => {
      runVoxSource(["ci", "sign", "--key", keys.sec, "--tag", "v0.1.0", join(d1, "checksums.txt")]);
      const verified = spawnSync(join(bin, "vox"), ["ci", "verify", d1, "--tag", "v0.1.0"], { encoding: "utf8" });
      assert.equal(verified.status, 0, verified.stderr);
      assert.match(verified.stdout, new RegExp(`signature: ok \\(key ${keys.keyId}`));
      assert.equal(verified.stdout.match(/^ok /gm)?.length, 8);
      const untrusted = runVoxSource(["ci", "verify", d1, "--tag", "v0.1.0"]);
      assert.equal(untrusted.status, 1);
      assert.match(untrusted.stderr, new RegExp(`made by key ${keys.keyId}, which is not trusted`));
    });
  });

  describe("vox ci verify refuses tampering", () => {
    function tampered(edit: (dir: string) => void): { status: number | null; stdout: string; stderr: string } {
      const dir = join(tempDir("tamper"), "release");
      cpSync(d1, dir, { recursive: true });
      runVoxSource(["ci", "sign", "--key", keys.sec, "--tag", "v0.1.0", join(dir, "checksums.txt")]);
      edit(dir);
      return runVoxSource(["ci", "verify", dir, "--tag", "v0.1.0", "--trusted-key", keys.pub]);
    }

    test("one flipped byte in an archive", () => {
      const result = tampered((dir) => {
        const path = join(dir, "vox-v0.1.0-x86_64-unknown-linux-gnu.tar.gz");
        const bytes = readFileSync(path);
        bytes[bytes.length >> 1]! ^= 1;
        writeFileSync(path, bytes);
      });
      assert.equal(result.status, 1);
      assert.match(result.stdout, /FAIL {2}vox-v0\.1\.0-x86_64-unknown-linux-gnu\.tar\.gz: sha256 is [0-9a-f]{64}, checksums\.txt says [0-9a-f]{64}/);
    });

    test("an edited line of checksums.txt", () => {
      const result = tampered((dir) => {
        const path = join(dir, "checksums.txt");
        writeFileSync(path, readFileSync(path, "utf8").replace(/^[0-9a-f]/, (c) => (c === "0" ? "1" : "0")));
      });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /does not match the file or its trusted comment/);
    });

    test("a missing signature, a foreign key, and a signature for another tag", () => {
      const missing = tampered((dir) => execFileSync("rm", [join(dir, "checksums.txt.minisig")]));
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /Cannot read .*checksums\.txt\.minisig: ENOENT/);
      const stranger = minisignKeys();
      const foreign = tampered((dir) => runVoxSource(["ci", "sign", "--key", stranger.sec, "--tag", "v0.1.0", join(dir, "checksums.txt")]));
      assert.equal(foreign.status, 1);
      assert.match(foreign.stderr, new RegExp(`key ${stranger.keyId}, which is not trusted`));
      const otherTag = tampered((dir) => runVoxSource(["ci", "sign", "--key", keys.sec, "--tag", "v0.2.0", join(dir, "checksums.txt")]));
      assert.equal(otherTag.status, 1);
      assert.match(otherTag.stderr, /signed for tag 'v0\.2\.0', expected 'v0\.1\.0'/);
    });
  });
});

describe("vox ci release-build rejects bad input with exit code 2 before compiling", () => {
  const out = tempDir("bad");

  test("an unknown triple, listing the supported ones", () => {
    const result = runVoxSource(["ci", "release-build", "--target", "sparc-sun-solaris", "--out-dir", out]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /Cannot build for 'sparc-sun-solaris': not a supported target triple/);
    assert.match(result.stderr, /Supported: x86_64-unknown-linux-gnu, x86_64-pc-windows-msvc/);
  });

  test("a version that is not v<semver>", () => {
    const result = runVoxSource(["ci", "release-build", "--version", "0.1.0", "--out-dir", out]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /Cannot use '0\.1\.0' as a release tag: expected v<semver>/);
  });

  test("an output directory that cannot be written", () => {
    writeFileSync(join(out, "a-file"), "");
    const result = runVoxSource(["ci", "release-build", "--version", "v0.1.0", "--out-dir", join(out, "a-file", "dist")], { env: { SOURCE_DATE_EPOCH: EPOCH } });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /Cannot write to output directory .*a-file\/dist/);
  });

  test("an unreadable or wrong-format signing key, and a malformed trusted key", () => {
    writeFileSync(join(out, "checksums.txt"), "x");
    const missing = runVoxSource(["ci", "sign", "--key", join(out, "nope.key"), "--tag", "v0.1.0", join(out, "checksums.txt")]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /Cannot read signing key .*nope\.key: ENOENT/);
    const keys = minisignKeys();
    const wrong = runVoxSource(["ci", "sign", "--key", keys.pub, "--tag", "v0.1.0", join(out, "checksums.txt")]);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /not a minisign secret key/);
    const badTrusted = runVoxSource(["ci", "release-build", "--trusted-key", keys.sec, "--out-dir", out, "--version", "v0.1.0"]);
    assert.equal(badTrusted.status, 2);
    assert.match(badTrusted.stderr, /not a minisign Ed25519 public key/);
  });

  test("an encrypted signing key without VOX_SIGNING_KEY_PASSWORD", () => {
    const dir = tempDir("enc");
    execFileSync("minisign", ["-G", "-p", join(dir, "k.pub"), "-s", join(dir, "k.sec")], { input: "pw\npw\n", stdio: ["pipe", "ignore", "ignore"] });
    writeFileSync(join(dir, "file"), "x");
    const result = runVoxSource(["ci", "sign", "--key", join(dir, "k.sec"), "--tag", "v0.1.0", join(dir, "file")], { env: { VOX_SIGNING_KEY_PASSWORD: "" } });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /encrypted and no password was given\nhint: Set VOX_SIGNING_KEY_PASSWORD/);
    const ok = runVoxSource(["ci", "sign", "--key", join(dir, "k.sec"), "--tag", "v0.1.0", join(dir, "file")], { env: { VOX_SIGNING_KEY_PASSWORD: "pw" } });
    assert.equal(ok.status, 0, ok.stderr);
    execFileSync("minisign", ["-V", "-p", join(dir, "k.pub"), "-m", join(dir, "file")], { stdio: "ignore" });
  });
});
