// `vox oci unpack` end to end through the CLI: images written by Python's tarfile (never by vox), compared with
// `umoci unpack` on benign multi-layer images, the hostile corpus with a sentinel outside the bundle, integrity
// damage refused before anything is materialized, and SIGKILL at random moments never leaving a finished-looking bundle.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { bun, repoRoot, runVoxSource, tempDir } from "./support/helpers.ts";
import { HOSTILE_CASES, type ImageSpec, snapshot, stageCase, writeLayout } from "./support/hostile_layers.ts";

const work = tempDir("unpack");
const KEEP_SETUID = join(work, "keep-setuid.toml");
writeFileSync(KEEP_SETUID, 'setuid = "keep"\n');

/** Layers that exercise what a layer applier must get right, each a case umoci handles per the OCI image spec. */
const BENIGN: ImageSpec = {
  config: { User: "app", Env: ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"], Entrypoint: ["/usr/bin/app"], Cmd: ["--serve"], WorkingDir: "/srv", Labels: { "org.example": "yes" } },
  layers: [
    {
      entries: [
        { name: "./", type: "dir", mode: 0o755 },
        { name: "etc", type: "dir" },
        { name: "etc/passwd", text: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n" },
        { name: "etc/group", text: "root:x:0:\napp:x:1000:\nwheel:x:10:app\n" },
        { name: "etc/removed", text: "gone in layer 2\n" },
        { name: "etc/shadow", text: "secret\n", mode: 0o600 },
        { name: "usr", type: "dir" },
        { name: "usr/bin", type: "dir" },
        { name: "usr/bin/app", text: "#!/bin/sh\necho app\n", mode: 0o755 },
        { name: "usr/bin/su", text: "#!/bin/sh\n", mode: 0o4755 },
        { name: "usr/bin/app-link", type: "hardlink", linkname: "usr/bin/app" },
        { name: "usr/lib", type: "dir" },
        { name: "usr/lib/libx.so", text: "elf\n", mode: 0o444 },
        { name: "usr/lib64", type: "symlink", linkname: "lib" },
        { name: "bin", type: "symlink", linkname: "usr/bin" },
        { name: "sbin", type: "symlink", linkname: "/usr/bin" },
        { name: "home", type: "dir" },
        { name: "home/app", type: "dir", mode: 0o700, uid: 1000, gid: 1000 },
        { name: "home/app/notes", text: "mine\n", uid: 1000, gid: 1000, mode: 0o640 },
        { name: "tmp", type: "dir", mode: 0o1777 },
        { name: "var", type: "dir" },
        { name: "var/cache", type: "dir" },
        { name: "var/cache/big", size: 24 << 20 },
        { name: "opt", type: "dir" },
        { name: "opt/old", text: "lower\n" },
        { name: "opt/sub", type: "dir" },
        { name: "opt/sub/deep", text: "lower\n" },
        { name: "data", type: "dir" },
        { name: "data/lower", text: "lower\n" },
        { name: "srv", type: "dir", mode: 0o2775, gid: 50 },
        { name: "empty", text: "" },
        { name: "swap", text: "a file that becomes a directory\n" },
        { name: "flip", type: "dir" },
        { name: "flip/child", text: "a directory that becomes a file\n" },
      ],
    },
    {
      entries: [
        { name: "etc/.wh.removed", text: "" },
        { name: ".wh.var", text: "" },
        { name: "usr/.wh.lib64", text: "" },
        { name: "opt/.wh..wh..opq", text: "" },
        { name: "opt/new", text: "upper\n" },
        { name: "data/new", text: "same layer as the whiteout: kept\n" },
        { name: ".wh.data", text: "" },
        { name: "swap", type: "dir", mode: 0o750 },
        { name: "swap/inside", text: "now a directory\n" },
        { name: "flip", text: "now a file\n", mode: 0o600 },
        { name: "usr/bin/app", text: "#!/bin/sh\necho app v2\n", mode: 0o755 },
        { name: "usr/bin/again", type: "hardlink", linkname: "usr/lib/libx.so" },
      ],
    },
    {
      compression: "none",
      entries: [
        { name: "lib", type: "symlink", linkname: "usr/lib" },
        { name: "lib/libz.so", text: "through a relative link\n", mode: 0o755 },
        { name: "sbin/tool", text: "through an absolute link\n", mode: 0o755 },
        { name: "empty", type: "symlink", linkname: "/dev/null" },
      ],
    },
  ],
};

function vox(args: readonly string[], env: Record<string, string> = {}) {
  return runVoxSource(args, { env: { VOX_CACHE_DIR: join(work, "cache"), ...env } });
}

/** Snapshot of a rootfs plus, for each file, how many names it has: hard links must stay links. */
function tree(rootfs: string): Record<string, string> {
  const shot = snapshot(rootfs);
  for (const path of Object.keys(shot)) if (shot[path]!.startsWith("file ")) shot[path] += ` links=${lstatSync(join(rootfs, path)).nlink}`;
  return shot;
}

test("vox oci unpack makes the rootfs umoci unpack makes from the same multi-layer image (whiteouts, opaque dirs, links, modes, owners, a large file)", () => {
  const layout = join(work, "benign");
  writeLayout(layout, "1", BENIGN);
  const theirs = join(work, "umoci-bundle");
  execFileSync("umoci", ["unpack", "--image", `${layout}:1`, theirs], { stdio: "ignore" });
  const ours = join(work, "vox-bundle");
  const result = vox(["oci", "unpack", `oci:${layout}:1`, ours, "--policy", KEEP_SETUID, "--json"]);
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(tree(join(ours, "rootfs")), tree(join(theirs, "rootfs")));
  const report = JSON.parse(result.stdout) as { rootfs: string; entries: number };
  assert.equal(report.rootfs, join(ours, "rootfs"));
  // Spot checks that both agree for the right reasons.
  assert.equal(readFileSync(join(ours, "rootfs/usr/lib/libz.so"), "utf8"), "through a relative link\n");
  assert.equal(readFileSync(join(ours, "rootfs/usr/bin/tool"), "utf8"), "through an absolute link\n");
  assert.ok(!existsSync(join(ours, "rootfs/var")) && existsSync(join(ours, "rootfs/usr/lib/libx.so")), "a whited-out directory goes; a whited-out link's target stays");
  assert.deepEqual(readdirSync(join(ours, "rootfs/data")), ["new"], "what the whiteout's own layer adds stays");
  assert.deepEqual(readdirSync(join(ours, "rootfs/opt")), ["new"]);
});

test("config.json carries the image's args, env, cwd and user as umoci writes them (hostname and created aside)", () => {
  const strip = (path: string) => {
    const spec = JSON.parse(readFileSync(path, "utf8"));
    delete spec.hostname;
    delete spec.annotations["org.opencontainers.image.created"];
    return spec;
  };
  const ours = strip(join(work, "vox-bundle", "config.json"));
  assert.deepEqual(ours, strip(join(work, "umoci-bundle", "config.json")));
  assert.deepEqual(ours.process.args, ["/usr/bin/app", "--serve"]);
  assert.deepEqual(ours.process.user, { uid: 1000, gid: 1000, additionalGids: [10] });
  assert.ok(ours.process.env.includes("HOME=/home/app") && ours.process.env.includes("PATH=/usr/bin:/bin"));
});

test("the default policy strips setuid bits and records each change as an audit event", () => {
  const bundle = join(work, "default-bundle");
  const audit = join(work, "default-audit.jsonl");
  const result = vox(["oci", "unpack", `oci:${join(work, "benign")}:1`, bundle, "--audit", audit]);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(lstatSync(join(bundle, "rootfs/usr/bin/su")).mode & 0o7777, 0o755);
  const events = readFileSync(audit, "utf8").trim().split("\n").map((line) => JSON.parse(line));
  assert.ok(events.some((e) => e.kind === "materialize" && e.detail.decision === "setuid-stripped" && e.detail.path === "usr/bin/su" && e.detail.from === "04755"));
  assert.ok(events.some((e) => e.kind === "materialize" && e.detail.decision === "link-contained" && e.detail.via === "sbin -> /usr/bin"));
  const done = events.at(-1);
  assert.equal(done.kind, "materialize");
  assert.equal(done.outcome, "ok");
  assert.ok(typeof done.time === "string" && done.digest.startsWith("sha256:"));
});

test("as an unprivileged user, owners map to the caller (audited once per layer), as umoci --rootless does, and config.json is the rootless variant", () => {
  // The scratch directories are private (0700); nobody must be able to reach the layout and its own bundle directory.
  for (let dir = work; dir !== dirname(dir) && dir.startsWith(dirname(dirname(work))); dir = dirname(dir)) chmodSync(dir, 0o755);
  const nobody = Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" }).trim());
  const home = join(work, "nobody");
  mkdirSync(join(home, "ours"), { recursive: true });
  mkdirSync(join(home, "theirs"), { recursive: true });
  chownSync(home, nobody, nobody);
  for (const dir of ["ours", "theirs"]) chownSync(join(home, dir), nobody, nobody);
  const layout = join(work, "benign");
  const asNobody = (argv: string[]) => spawnSync("runuser", ["-u", "nobody", "--", "env", `HOME=${home}`, `VOX_CACHE_DIR=${join(home, "cache")}`, ...argv], { encoding: "utf8" });
  const theirs = asNobody(["umoci", "unpack", "--rootless", "--image", `${layout}:1`, join(home, "theirs", "b")]);
  assert.equal(theirs.status, 0, theirs.stderr);
  const ours = asNobody([bun, join(repoRoot, "main.ts"), "oci", "unpack", `oci:${layout}:1`, join(home, "ours", "b"), "--policy", KEEP_SETUID, "--audit", join(home, "audit.jsonl")]);
  assert.equal(ours.status, 0, ours.stderr);
  assert.deepEqual(tree(join(home, "ours", "b", "rootfs")), tree(join(home, "theirs", "b", "rootfs")));
  assert.equal(lstatSync(join(home, "ours", "b", "rootfs", "home", "app", "notes")).uid, nobody);
  const mapped = readFileSync(join(home, "audit.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line)).filter((e) => e.detail?.decision === "ownership-mapped");
  assert.deepEqual(mapped.map((e) => e.detail.to), Array(BENIGN.layers.length).fill(`${nobody}:${nobody}`), "one event per layer");
  const spec = JSON.parse(readFileSync(join(home, "ours", "b", "config.json"), "utf8"));
  assert.deepEqual(spec.linux.uidMappings, [{ containerID: 0, hostID: nobody, size: 1 }]);
  assert.ok(spec.linux.namespaces.some((n: { type: string }) => n.type === "user"));
});

test("xattrs listed in the policy are kept, every other one (security.capability too) is dropped and audited", () => {
  const layout = join(work, "xattrs");
  writeLayout(layout, "t", { layers: [{ entries: [{ name: "ping", text: "x", mode: 0o755, pax: { "SCHILY.xattr.user.note": "kept", "SCHILY.xattr.security.capability": "\u0001\u0000\u0000\u0002" } }] }] });
  const policy = join(work, "xattrs.toml");
  writeFileSync(policy, 'xattrs = ["user.*"]\n');
  const bundle = join(work, "xattrs-bundle");
  const audit = join(work, "xattrs.jsonl");
  const result = vox(["oci", "unpack", `oci:${layout}:t`, bundle, "--policy", policy, "--audit", audit]);
  assert.equal(result.status, 0, result.stderr);
  const read = (name: string) => execFileSync("python3", ["-c", `import os, sys\ntry: print(os.getxattr(sys.argv[1], sys.argv[2]).decode("latin1"))\nexcept OSError: print("<none>")`, join(bundle, "rootfs", "ping"), name], { encoding: "utf8" }).trim();
  assert.equal(read("user.note"), "kept");
  assert.equal(read("security.capability"), "<none>");
  const dropped = readFileSync(audit, "utf8").trim().split("\n").map((line) => JSON.parse(line)).find((e) => e.detail?.decision === "xattrs-dropped");
  assert.deepEqual(dropped?.detail.xattrs, ["security.capability"]);
});

test("a bundle that already holds rootfs or config.json is refused and left alone", () => {
  const bundle = join(work, "occupied");
  mkdirSync(join(bundle, "rootfs"), { recursive: true });
  writeFileSync(join(bundle, "rootfs", "mine"), "keep\n");
  const result = vox(["oci", "unpack", `oci:${join(work, "benign")}:1`, bundle]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /already holds rootfs/);
  assert.deepEqual(readdirSync(bundle), ["rootfs"]);
  assert.equal(readFileSync(join(bundle, "rootfs", "mine"), "utf8"), "keep\n");
});

test("a policy file with mistakes is a usage error naming line and key", () => {
  const policy = join(work, "bad.toml");
  writeFileSync(policy, '\nsetuid = "maybe"\n');
  const result = vox(["oci", "unpack", `oci:${join(work, "benign")}:1`, join(work, "never"), "--policy", policy]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /bad\.toml:2: setuid: must be one of "strip", "refuse", "keep"/);
  assert.ok(!existsSync(join(work, "never")));
});

for (const [index, hostile] of HOSTILE_CASES.entries()) {
  const refused = "refused" in hostile.expect;
  test(`hostile layer ${refused ? "refused" : "contained"}: ${hostile.name} (${hostile.from})`, () => {
    const dir = join(work, `hostile-${index}`);
    const { sentinel, layout, bundle, policyFile, snapshotBefore } = stageCase(dir, hostile);
    const audit = join(dir, "audit.jsonl");
    const result = vox(["oci", "unpack", `oci:${layout}:t`, bundle, "--audit", audit, ...(policyFile ? ["--policy", policyFile] : [])]);
    const events = readFileSync(audit, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    if ("refused" in hostile.expect) {
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, /Cannot unpack .*\nhint: Nothing was left in/);
      assert.deepEqual(readdirSync(bundle), [], "nothing is left in the bundle");
      assert.equal(events.find((e) => e.kind === "refuse")?.detail.rule, hostile.expect.refused);
    } else {
      assert.equal(result.status, 0, result.stderr);
      hostile.expect.contained(join(bundle, "rootfs"), sentinel);
      assert.ok(events.some((e) => e.kind === "materialize" && e.outcome === "ok"));
    }
    assert.deepEqual(snapshot(sentinel), snapshotBefore, "the sentinel outside the bundle is unchanged");
  });
}

for (const tamper of ["flip-byte", "wrong-diff-id", "wrong-size", "missing-blob"] as const) {
  test(`an image with a ${tamper} is refused before anything is materialized`, () => {
    const layout = join(work, `tamper-${tamper}`);
    writeLayout(layout, "t", { layers: [{ entries: [{ name: "a", text: "first\n" }] }, { entries: [{ name: "b", size: 300_000 }] }], tamper });
    const bundle = join(work, `tamper-${tamper}-bundle`);
    const audit = join(work, `tamper-${tamper}.jsonl`);
    const result = vox(["oci", "unpack", `oci:${layout}:t`, bundle, "--audit", audit]);
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.stderr, /^error: Cannot /m);
    assert.ok(!existsSync(join(bundle, "rootfs")) && !existsSync(join(bundle, "config.json")));
    assert.deepEqual(existsSync(bundle) ? readdirSync(bundle) : [], []);
    const events = existsSync(audit) ? readFileSync(audit, "utf8").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line)) : [];
    assert.ok(!events.some((e) => e.kind === "materialize"), "no materialize event");
  });
}

/** Seeded, so a failing run can be repeated: the moments differ between kills, not between runs. */
function moments(count: number, maxMs: number): number[] {
  let state = 0x2545f491;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return 20 + (state % maxMs);
  });
}

function killAfter(args: readonly string[], env: Record<string, string>, trigger: { ms: number } | { pause: string }): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(bun, [join(repoRoot, "main.ts"), ...args], { env: { ...process.env, VOX_CACHE_DIR: join(work, "cache"), ...env, ...("pause" in trigger ? { VOX_UNPACK_PAUSE_AT: trigger.pause } : {}) }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      if ("pause" in trigger && stderr.includes(`paused at ${trigger.pause}`)) child.kill("SIGKILL");
    });
    const timer = "ms" in trigger ? setTimeout(() => child.kill("SIGKILL"), trigger.ms) : undefined;
    child.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test("SIGKILL at random moments (and at each checkpoint) never leaves a bundle that looks finished; the next unpack completes", async () => {
  const layout = join(work, "benign");
  const expected = tree(join(work, "vox-bundle", "rootfs"));
  const triggers = [{ pause: "layer-applied" }, { pause: "rootfs-renamed" }, ...moments(8, 2500).map((ms) => ({ ms }))];
  for (const [i, trigger] of triggers.entries()) {
    const bundle = join(work, `killed-${i}`);
    await killAfter(["oci", "unpack", `oci:${layout}:1`, bundle, "--policy", KEEP_SETUID], {}, trigger);
    const finished = existsSync(join(bundle, "config.json"));
    if (finished) assert.deepEqual(tree(join(bundle, "rootfs")), expected, `kill ${JSON.stringify(trigger)}: a bundle with config.json is complete`);
    else if (existsSync(join(bundle, "rootfs"))) rmSync(join(bundle, "rootfs"), { recursive: true });
    if (finished) continue;
    const again = vox(["oci", "unpack", `oci:${layout}:1`, bundle, "--policy", KEEP_SETUID]);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(tree(join(bundle, "rootfs")), expected);
    assert.deepEqual(readdirSync(bundle).sort(), ["config.json", "rootfs"], "what the killed unpack left was cleared");
  }
});
