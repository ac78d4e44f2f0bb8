// `npm run bench`: measured figures, each next to its baseline from the same run; medians of repeated runs.
// Writes bench/results.json and bench/results.md. Not a test: nothing here passes or fails on a number.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUSYBOX_DEBS, busyboxBaseLayout, pushBusyboxBase } from "../tests/support/base_image.ts";
import { layoutWithLayer } from "../tests/support/big_layout.ts";
import { startNginx } from "../tests/support/nginx.ts";
import { writeLayout } from "../tests/support/hostile_layers.ts";
import { compileArgv } from "../policy/source_install.ts";
import { hostRelease, mirrorTree, type ReleaseFixture, testKey } from "../tests/support/releases.ts";
import { pushLayout } from "../tests/support/pull_images.ts";
import { startRegistry } from "../tests/support/registry.ts";
import { writeSampleProject } from "./sample_tree.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", "bun");
const work = join(root, "bench", ".scratch");
const RUNS = { startup: 20, rounds: 10, rss: 15, archive: 5, install: 6, bigInstall: 3 };

interface Row {
  group: string;
  name: string;
  command: string;
  medianMs: number;
  peakRssMiB?: number;
  runs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Case {
  group: string;
  name: string;
  argv: string[];
  runs: number;
  shell?: boolean;
  prepare?: string;
  /** Warm-up runs before the timed ones; default min(5, runs). */
  warmup?: number;
}

/**
 * Wall-time medians from hyperfine (no shell unless asked, warm-up runs), taken in `rounds` interleaved passes so
 * that a burst of background load lands on every case alike rather than on one; peak RSS medians from GNU time.
 */
function measure(cases: Case[], rounds = 1): Row[] {
  const exported = join(work, "hyperfine.json");
  const times = new Map<Case, number[]>(cases.map((c) => [c, []]));
  const commandOf = (c: Case) => (c.shell ? c.argv.join(" ") : c.argv.map((a) => (/[\s"']/.test(a) ? `'${a}'` : a)).join(" "));
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      execFileSync("hyperfine", [...(c.shell ? [] : ["-N"]), "--warmup", String(c.warmup ?? Math.min(5, c.runs)), "--runs", String(c.runs), ...(c.prepare ? ["--prepare", c.prepare] : []), "--export-json", exported, commandOf(c)], { stdio: ["ignore", "ignore", "ignore"] });
      times.get(c)!.push(...(JSON.parse(readFileSync(exported, "utf8")).results[0].times as number[]).map((sec) => sec * 1000));
    }
  }
  return cases.map((c) => {
    const rss: number[] = [];
    for (let i = 0; i < Math.min(c.runs, RUNS.rss); i++) {
      if (c.prepare) execFileSync("sh", ["-c", c.prepare]);
      const timed = spawnSync("/usr/bin/time", ["-f", "%M", ...(c.shell ? ["sh", "-c", commandOf(c)] : c.argv)], { encoding: "utf8" });
      rss.push(Number(timed.stderr.trim().split("\n").at(-1)) / 1024);
    }
    return { group: c.group, name: c.name, command: commandOf(c), medianMs: round(median(times.get(c)!)), peakRssMiB: round(median(rss)), runs: c.runs * rounds };
  });
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The ~200 MB four-layer image unpack and materialize are timed on (written once per bench run). */
function unpackSample(): string {
  const layout = join(work, "unpack-image");
  if (existsSync(join(layout, "index.json"))) return layout;
  console.error("bench: writing the ~200 MB four-layer image for unpack");
  const small = (layer: number) => Array.from({ length: 5000 }, (_, i) => ({ name: `srv/l${layer}/d${i % 50}/f${i}`, size: 4096 + (i % 7) * 512 }));
  writeLayout(layout, "1", {
    config: { Cmd: ["/bin/sh"] },
    layers: [
      { entries: [...small(0), { name: "opt/big0", size: 48 << 20 }, { name: "usr/lib64", type: "symlink", linkname: "lib" }] },
      { entries: [...small(1), { name: "opt/big1", size: 48 << 20 }, { name: "opt/big1-link", type: "hardlink", linkname: "opt/big1" }] },
      { entries: [...small(2), { name: "opt/.wh.big0", text: "" }, { name: "opt/big2", size: 48 << 20 }] },
      { entries: [...small(3), { name: "srv/l0/.wh..wh..opq", text: "" }, { name: "opt/big3", size: 24 << 20 }] },
    ],
  });
  return layout;
}

/**
 * MicroVM disks and boots: `vox oci materialize --format ext4` of the ~200 MB unpack sample (pull-verify, unpack,
 * mke2fs -d, debugfs time pass, e2fsck -fn, sha256), and `vox microvm run` of the busybox test base with a command
 * that exits at once, its disk already cached: the guest-reported time from starting qemu to the entrypoint (TCG,
 * Debian's cloud kernel from scripts/prepare.mjs), and the whole command.
 */
function benchMicrovm(vox: string): Row[] {
  const layout = unpackSample();
  const disk = join(work, "rootfs.ext4");
  const kernelRoot = "/var/cache/vox-test/kernel/root";
  const deb = join(work, "busybox-deb");
  execFileSync("sh", ["-c", `mkdir -p ${deb} && dpkg-deb -x ${BUSYBOX_DEBS}/busybox-static_*_amd64.deb ${deb}`]);
  const env = {
    VOX_MICROVM_KERNEL: join(kernelRoot, "boot", readdirSync(join(kernelRoot, "boot")).find((n) => n.startsWith("vmlinux-"))!),
    VOX_MICROVM_BUSYBOX: join(deb, "bin", "busybox"),
    VOX_CACHE_DIR: join(work, "microvm-cache"),
  };
  const manifest = join(work, "exit0.toml");
  writeFileSync(manifest, 'schema = "vox.platform/v1"\nname = "bench"\n[process]\ncmd = ["/bin/sh", "-c", "exit 0"]\n[resources]\nmemory_limit = "64Mi"\n');
  const boot = [vox, "microvm", "run", `oci:${busyboxBaseLayout()}:amd64`, "--manifest", manifest, "--json"];
  const bootMs: number[] = [];
  for (let i = 0; i < 4; i++) {
    const run = spawnSync(boot[0]!, boot.slice(1), { encoding: "utf8", env: { ...process.env, ...env } });
    if (run.status !== 0) throw new Error(`vox microvm run failed: ${run.stderr}`);
    // The first run materializes and caches the disk; the rest boot it.
    if (i > 0) bootMs.push(JSON.parse(run.stderr.trim().split("\n").at(-1)!).boot_ms);
  }
  const envPrefix = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ");
  const rows = measure([
    { group: "microvm", name: "vox oci materialize --format ext4 of the ~200 MB unpack sample (verify, unpack, mke2fs -d, debugfs, e2fsck, sha256)", argv: [vox, "oci", "materialize", `oci:${layout}:1`, "--output", disk], runs: 3, prepare: `rm -f ${disk}` },
    { group: "microvm", name: "vox microvm run of the busybox base, disk cached, `exit 0` (qemu microvm, TCG)", argv: [`${envPrefix} ${boot.join(" ")} 2>/dev/null`], runs: 3, shell: true },
  ]);
  rows.push({ group: "microvm", name: "of which qemu start → guest at the entrypoint (reported by the guest's init)", command: boot.join(" "), medianMs: round(median(bootMs)), runs: bootMs.length });
  rmSync(disk, { force: true });
  return rows;
}

/**
 * `vox deploy run` of a Release whose image is already in the cache, from the command to healthy (busybox httpd, an
 * http check every 100 ms), against `runc run --detach` of the same bundle by hand (its own network namespace, no
 * CNI, no check). Each vox run starts after `vox deploy rm`; one extra run's audit events split the vox time into
 * pull-verify + unpack, configure + network + launch, and launch → healthy.
 */
async function benchRun(vox: string): Promise<Row[]> {
  const registry = await startRegistry();
  try {
    pushBusyboxBase(registry.host);
    const dir = join(work, "run-project");
    mkdirSync(join(dir, "www"), { recursive: true });
    writeFileSync(join(dir, "www", "index.html"), "bench\n");
    writeFileSync(join(dir, "Vox.toml"), '[package]\nname = "bench"\nversion = "0.1.0"\nkind = "application"\n[deploy]\ntarget = "container"\nplatforms = ["linux/amd64"]\nbase = "docker.io/library/busybox:1.35"\n[[deploy.copy]]\nfrom = "www"\nto = "/www"\n');
    writeFileSync(join(dir, "vox.platform.toml"), 'schema = "vox.platform/v1"\nname = "bench"\n[process]\nentrypoint = ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]\n[[ports]]\nport = 8080\nexposure = "public"\n[health]\nkind = "http"\nport = 8080\npath = "/index.html"\ninterval = "100ms"\ntimeout = "100ms"\nretries = 50\n');
    const env: Record<string, string> = { VOX_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, VOX_CACHE_DIR: join(work, "run-cache"), VOX_STATE_DIR: join(work, "run-state"), VOX_DATA_DIR: join(work, "run-data"), DOCKER_CONFIG: join(work, "run-docker"), VOX_AUDIT_LOG: join(work, "run-audit.jsonl") };
    const inDir = (args: string[]) => execFileSync(vox, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
    inDir(["deploy", "build", "--insecure", "--push", `${registry.host}/bench/run:1`]);
    const digest = JSON.parse(readFileSync(join(dir, ".vox", "release.json"), "utf8")).image_digest as string;
    inDir(["deploy", "release", "--insecure", "--image", `${registry.host}/bench/run@${digest}`]);
    const port = 40_000 + (process.pid % 20_000);
    const run = ["deploy", "run", "--release", "1", "--insecure", "--publish", `8080:${port}`];
    // The first run pulls into the cache; the timed ones find the blobs there (re-verified on read).
    inDir(run);
    const instance = JSON.parse(inDir(["deploy", "ps", "--json"])).workloads[0].instance as string;
    const bundle = join(work, "run-bundle");
    rmSync(bundle, { recursive: true, force: true });
    execFileSync("cp", ["-a", join(env.VOX_STATE_DIR!, "run", "instances", instance, "bundle"), bundle]);
    const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    config.linux.namespaces = config.linux.namespaces.map((ns: { type: string }) => (ns.type === "network" ? { type: "network" } : ns));
    config.mounts = config.mounts.filter((m: { type: string }) => m.type !== "bind");
    writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
    rmSync(env.VOX_AUDIT_LOG!, { force: true });
    inDir(["deploy", "rm", "--name", "bench"]);
    inDir(run);
    const events = readFileSync(env.VOX_AUDIT_LOG!, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { kind: string; time: string; outcome: string; detail?: { rootfs?: string } });
    const at = (predicate: (e: (typeof events)[number]) => boolean) => Date.parse(events.find(predicate)!.time);
    const first = Date.parse(events[0]!.time);
    const unpacked = at((e) => e.kind === "materialize" && e.detail?.rootfs !== undefined);
    const launched = at((e) => e.kind === "launch");
    const healthy = at((e) => e.kind === "healthy");
    const prefix = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ");
    const runcRoot = join(work, "run-runc");
    const rows = measure(
      [
        { group: "run", name: "vox deploy run → healthy (image cached: verify, unpack, config, netns + CNI, runc run, http check)", argv: [`cd ${dir} && ${prefix} ${vox} ${run.join(" ")} >/dev/null`], runs: 5, shell: true, prepare: `cd ${dir} && ${prefix} ${vox} deploy rm --name bench >/dev/null` },
        // Detached, the container keeps whatever stdio runc had: pipes would hold hyperfine and GNU time open forever.
        { group: "run", name: "runc run --detach of the same bundle by hand (own netns, no CNI, no check)", argv: [`runc --root ${runcRoot} run --detach --bundle ${bundle} bench-by-hand </dev/null >/dev/null 2>&1`], runs: 5, shell: true, prepare: `runc --root ${runcRoot} delete --force bench-by-hand 2>/dev/null; true` },
      ],
      2,
    );
    execFileSync("sh", ["-c", `runc --root ${runcRoot} delete --force bench-by-hand 2>/dev/null; true`]);
    inDir(["deploy", "rm", "--name", "bench"]);
    console.error("bench: run rows measured");
    rows.push(
      { group: "run", name: "of one vox run: first audit event → bundle unpacked (cache re-verify + unpack)", command: "audit log", medianMs: unpacked - first, runs: 1 },
      { group: "run", name: "of one vox run: unpacked → launched (secrets/volumes, config.json, netns, CNI ADD, runc run)", command: "audit log", medianMs: launched - unpacked, runs: 1 },
      { group: "run", name: "of one vox run: launched → healthy (first passing http check)", command: "audit log", medianMs: healthy - launched, runs: 1 },
    );
    return rows;
  } finally {
    await registry.stop();
  }
}

/** `bench/run.ts --only=<group>`: build vox and run that group alone, printing its rows (results files untouched). */
const only = process.argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length);

/**
 * A push of a 1 GiB layer of random bytes from an image layout to Debian's docker-registry on loopback, each run into a
 * new repository so that every byte goes up: vox's registry client with the layout source `vox deploy build --push`
 * uses (under Bun, as the compiled vox runs), against `skopeo copy` of the same layout. Peak RSS is the point.
 */
async function benchPushLayer(): Promise<Row[]> {
  console.error("bench: writing a 1 GiB layer and starting docker-registry for the push");
  const { dir } = layoutWithLayer(join(work, "push-layout"), 1 << 30);
  const registry = await startRegistry();
  const fresh = `${registry.host}/bench/push-$(date +%s%N)`;
  try {
    return measure([
      { group: "push", name: "vox registry client: push of a 1 GiB layer from an OCI layout to docker-registry (Bun)", argv: [`${bun} ${join(root, "tests", "support", "push_layout.ts")} ${dir} ${fresh}:1`], runs: 3, shell: true },
      // As nobody with a fresh HOME each run: root's skopeo keeps a blob-info cache in /var/lib/containers and would
      // mount the layer from the last run's repository instead of uploading it.
      { group: "push", name: "skopeo copy of the same layout to docker-registry", argv: [`d=$(mktemp -d -p ${work}) && chmod 777 $d && setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=$d XDG_RUNTIME_DIR=$d REGISTRY_AUTH_FILE=$d/auth.json skopeo copy --quiet --dest-tls-verify=false oci:${dir} docker://${fresh}:1`], runs: 3, shell: true },
    ]);
  } finally {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

/**
 * What a host agent runs to turn a reference into a bundle: `vox oci pull` then `vox oci unpack` of a registry
 * reference, against `skopeo copy docker://… oci:…` then `umoci unpack`, of the ~200 MB four-layer unpack sample
 * (pushed by skopeo to docker-registry on loopback), as root (owners kept, as umoci does). Cold: an empty cache, a new
 * layout. Warm: every blob already there (vox re-hashes each; skopeo skips the ones it has). Finished bundles are
 * moved aside and deleted when the group ends: on this machine's ext4 (no journal), creating files within minutes of
 * deleting tens of thousands makes the kernel scan past every recently freed inode, for both tools alike, which would
 * time that guard rather than the tools.
 */
async function benchPullUnpack(vox: string): Promise<Row[]> {
  const layout = unpackSample();
  console.error("bench: docker-registry, and the unpack sample pushed to it by skopeo");
  const registry = await startRegistry();
  const aside = join(work, "bundles-aside");
  mkdirSync(aside, { recursive: true });
  try {
    const reference = pushLayout(layout, "1", `${registry.host}/bench/unpack:1`);
    const cache = join(work, "pull-cache");
    const copied = join(work, "pull-skopeo");
    const bundle = join(work, "pull-bundle");
    const moveAside = `{ [ ! -e ${bundle} ] || mv ${bundle} ${aside}/$(date +%s%N); }`;
    const ours = `VOX_CACHE_DIR=${cache} ${vox} oci pull --insecure ${reference} >/dev/null 2>&1 && VOX_CACHE_DIR=${cache} ${vox} oci unpack --insecure ${reference} ${bundle} >/dev/null 2>&1`;
    const theirs = `skopeo copy --quiet --src-tls-verify=false docker://${reference} oci:${copied}:1 && umoci unpack --image ${copied}:1 ${bundle} >/dev/null`;
    const heavy = { runs: 3, warmup: 1, shell: true };
    return measure(
      [
        { group: "pull+unpack", name: "vox oci pull && vox oci unpack, cold cache (sizes, digests, diff_ids verified; unpack policy applied)", argv: [ours], ...heavy, prepare: `rm -rf ${cache}; ${moveAside}` },
        { group: "pull+unpack", name: "skopeo copy docker://… oci:… && umoci unpack, into a new layout", argv: [theirs], ...heavy, prepare: `rm -rf ${copied}; ${moveAside}` },
        { group: "pull+unpack", name: "vox oci pull && vox oci unpack, warm cache (every blob re-hashed, tag resolved again)", argv: [ours], ...heavy, prepare: moveAside },
        { group: "pull+unpack", name: "skopeo copy into the layout it already filled && umoci unpack", argv: [theirs], ...heavy, prepare: moveAside },
      ],
      2,
    );
  } finally {
    await registry.stop();
    rmSync(aside, { recursive: true, force: true });
  }
}

function pullUnpackSummary(rows: Row[]): string {
  return `oci pull + unpack / skopeo copy + umoci unpack = ${round(rows[0]!.medianMs / rows[1]!.medianMs)}x cold, ${round(rows[2]!.medianMs / rows[3]!.medianMs)}x warm at ${Math.max(rows[0]!.peakRssMiB!, rows[2]!.peakRssMiB!)} MiB`;
}

/**
 * Start-up against its floor, interleaved in one run: a hello-world compiled by the same Bun with its defaults (the
 * floor), and one compiled with vox's own flags (`compileArgv`), so that what a flag saves shows as such.
 * `vox policy --json` loads the command table and the argument parser and reads this executable's ELF header.
 */
function benchStartup(vox: string): Row[] {
  const hello = join(work, "hello.ts");
  writeFileSync(hello, 'console.log("hello");\n');
  execFileSync(bun, ["build", "--compile", "--minify", "--outfile", join(work, "hello"), hello], { stdio: "ignore" });
  const flagged = compileArgv({ bun: [], bunTarget: hostBunTarget(vox), entry: hello, outfile: join(work, "hello-vox-flags"), defines: { version: "0.0.0", trustedKeys: [] } });
  execFileSync(bun, flagged, { stdio: "ignore" });
  // Every executable as a host has it after reading it from disk. The page cache keeps a file in pieces as large as
  // the writes that filled it: Bun writes its output in large writes, GNU tar in 10 KiB ones, and the same vox started
  // 1.3x slower from tar's copy than from a copy written in 1 MiB writes; dropped and read back, the two start alike.
  // Written back first: the kernel drops only clean pages.
  for (const executable of [join(work, "hello"), join(work, "hello-vox-flags"), vox]) {
    execFileSync("sync", [executable]);
    execFileSync("dd", [`if=${executable}`, "iflag=nocache", "count=0", "status=none"]);
  }
  return measure(
    [
      { group: "startup", name: "hello-world compiled by the same Bun (floor)", argv: [join(work, "hello")], runs: RUNS.startup },
      { group: "startup", name: "hello-world compiled with vox's flags (compileArgv)", argv: [join(work, "hello-vox-flags")], runs: RUNS.startup },
      { group: "startup", name: "vox --version", argv: [vox, "--version"], runs: RUNS.startup },
      { group: "startup", name: "vox policy --json", argv: [vox, "policy", "--json"], runs: RUNS.startup },
      { group: "startup", name: "node -e 0", argv: [process.execPath, "-e", "0"], runs: RUNS.startup },
      { group: "startup", name: "gh --version (Go)", argv: ["gh", "--version"], runs: RUNS.startup },
    ],
    RUNS.rounds,
  );
}

function startupSummary(rows: Row[]): string {
  const [floor, flagged, version, policy] = rows.map((r) => r.medianMs);
  return `vox --version / floor = ${round(version! / floor!)}x (/ same-flags hello ${round(version! / flagged!)}x); vox policy --json / floor = ${round(policy! / floor!)}x`;
}

/** The Bun target of this host, as `vox policy` names it. */
function hostBunTarget(vox: string): string {
  const policy = JSON.parse(execFileSync(vox, ["policy", "--json"], { encoding: "utf8" })) as { host_triple: string; targets: { triple: string; bun_target: string }[] };
  return policy.targets.find((t) => t.triple === policy.host_triple)!.bun_target;
}

/**
 * `vox-bootstrap --install` and `vox upgrade` from nginx on loopback against `curl | tee >(sha256sum) | tar -xz` of
 * the same archive, each with peak RSS (GNU time's, which covers the smoke run of the staged vox: a waited-for
 * child). Twice over: the real ~110 MB executable, and v0.3.0 whose executable carries a 256 MiB incompressible
 * asset, so a peak that grows with the asset's size would show.
 */
async function benchInstall(vox: string): Promise<Row[]> {
  console.error("bench: signed host releases v0.1.0, v0.2.0 and a padded v0.3.0, served by nginx on loopback");
  const triple = execFileSync(vox, ["policy", "--json"], { encoding: "utf8" }).match(/"host_triple": "([^"]+)"/)![1]!;
  const release = hostRelease("v0.1.0");
  const www = join(work, "www");
  const base = mirrorTree(www, [release, hostRelease("v0.2.0"), paddedRelease("v0.3.0", triple, hostBunTarget(vox), 256 << 20)]).replace(www, "");
  const nginx = await startNginx(www);
  const bootstrap = join(work, "bootstrap", "vox-bootstrap");
  mkdirSync(dirname(bootstrap));
  execFileSync("tar", ["-xzf", join(release.dir, `vox-bootstrap-v0.1.0-${triple}.tar.gz`), "-C", dirname(bootstrap)]);
  const target = join(work, "installed");
  const upgradeDir = join(work, "upgrade");
  // Every run starts with nothing left to write back (`sync` in its prepare, untimed, on both sides): the installer
  // fsyncs what it installs, and on ext4 that also waits for whatever an earlier row or group left dirty (one full
  // run measured install at 1.1x of curl | tar right after the deploy group, 0.87x when the group ran alone).
  const install = (tag: string, runs: number): Omit<Case, "group" | "name"> => ({
    argv: [bootstrap, "--install", "--base-url", `${nginx.url}${base}`, "--version", tag, "--install-dir", target, "--no-modify-path", "--no-fallback"],
    runs,
    prepare: `rm -rf ${target} && sync`,
  });
  const upgradeEnv = `HOME=${upgradeDir} VOX_STATE_DIR=${upgradeDir}/state`;
  // The vox being upgraded is the one vox-bootstrap installed, as on a real host: how an executable's pages entered
  // the page cache changes how much of it a process maps (a `cp` copy mapped 3-4 MiB more than this).
  const upgrade = (tag: string, runs: number): Omit<Case, "group" | "name"> => ({
    argv: [`${upgradeEnv} ${upgradeDir}/bin/vox upgrade --version ${tag} --base-url ${nginx.url}${base}`],
    runs,
    shell: true,
    prepare: `rm -rf ${upgradeDir} && ${upgradeEnv} ${bootstrap} --install --base-url ${nginx.url}${base} --version v0.1.0 --install-dir ${upgradeDir}/bin --no-modify-path --no-fallback >/dev/null && sync`,
  });
  const pipeline = (tag: string, runs: number): Omit<Case, "group" | "name"> => ({
    argv: [`bash -c 'mkdir -p ${target} && curl -s ${nginx.url}${base}/download/${tag}/vox-${tag}-${triple}.tar.gz | tee >(sha256sum >/dev/null) | tar -xzf - -C ${target}'`],
    runs,
    shell: true,
    prepare: `rm -rf ${target} && sync`,
  });
  const curl = "curl -s URL | tee >(sha256sum) | tar -xzf - (no verification)";
  try {
    return [
      ...measure(
        [
          { group: "install", name: "vox-bootstrap --install from the nginx mirror (verify signature + sha256, extract, run, rename)", ...install("v0.1.0", RUNS.install) },
          { group: "install", name: curl, ...pipeline("v0.1.0", RUNS.install) },
          { group: "install", name: "vox-bootstrap --install of v0.3.0 (executable + 256 MiB incompressible asset)", ...install("v0.3.0", RUNS.bigInstall) },
          { group: "install", name: `${curl}, v0.3.0`, ...pipeline("v0.3.0", RUNS.bigInstall) },
        ],
        2,
      ),
      ...measure(
        [
          { group: "upgrade", name: "vox upgrade 0.1.0 → 0.2.0 from the nginx mirror (verify, stage, run, keep previous, swap)", ...upgrade("v0.2.0", RUNS.install) },
          { group: "upgrade", name: curl, ...pipeline("v0.2.0", RUNS.install) },
          { group: "upgrade", name: "vox upgrade 0.1.0 → 0.3.0 (executable + 256 MiB incompressible asset)", ...upgrade("v0.3.0", RUNS.bigInstall) },
          { group: "upgrade", name: `${curl}, v0.3.0`, ...pipeline("v0.3.0", RUNS.bigInstall) },
        ],
        2,
      ),
    ];
  } finally {
    await nginx.stop();
  }
}

function installSummary(rows: Row[]): string {
  const over = (i: number) => `${round(rows[i]!.medianMs / rows[i + 1]!.medianMs)}x at ${rows[i]!.peakRssMiB} MiB`;
  return `install / curl|tee|tar = ${over(0)} (+256 MiB asset: ${over(2)}); upgrade / curl|tee|tar = ${over(4)} (+256 MiB asset: ${over(6)})`;
}

/**
 * A signed host release of vox whose executable embeds `padBytes` of random bytes (`bun build --asset`): still a
 * working vox for the smoke run, but an archive gzip cannot shrink, as large as a release may plausibly grow.
 */
function paddedRelease(tag: string, triple: string, bunTarget: string, padBytes: number): ReleaseFixture {
  const dir = join(work, `release-${tag}`);
  const staged = join(work, `padded-${tag}`);
  mkdirSync(dir);
  mkdirSync(staged);
  const pad = join(work, "pad.bin");
  execFileSync("sh", ["-c", `head -c ${padBytes} /dev/urandom > ${pad}`]);
  const argv = compileArgv({ bun: [], bunTarget, entry: "main.ts", outfile: join(staged, "vox"), defines: { version: tag.slice(1), trustedKeys: [] } });
  execFileSync(bun, [...argv, `--asset=${pad}`], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  execFileSync("tar", ["--format=ustar", "--owner=0", "--group=0", "--numeric-owner", "-czf", join(dir, `vox-${tag}-${triple}.tar.gz`), "-C", staged, "vox"]);
  const key = testKey();
  execFileSync(bun, ["main.ts", "ci", "checksums", dir], { cwd: root, stdio: "ignore" });
  execFileSync(bun, ["main.ts", "ci", "sign", "--key", key.sec, "--tag", tag, join(dir, "checksums.txt")], { cwd: root, stdio: "ignore" });
  rmSync(pad);
  rmSync(staged, { recursive: true });
  return { tag, dir, key };
}

function ratio(rows: Row[], ours: number, theirs: number): number {
  return round(rows[ours]!.medianMs / rows[theirs]!.medianMs);
}

/** A release archive of one target's binary (the host vox, ~110 MB) against GNU tar -czf + sha256sum of it. */
function benchArchive(vox: string): Row[] {
  return measure([
    { group: "archive", name: "vox release archive (tar + parallel libdeflate-wasm gzip + sha256, streamed, Bun)", argv: [bun, join(root, "bench", "archive_one.ts"), vox, join(work, "ours.tar.gz")], runs: RUNS.archive },
    { group: "archive", name: "tar -czf + sha256sum (GNU, gzip -6)", argv: [`cd ${work} && tar -czf theirs.tar.gz vox && sha256sum theirs.tar.gz`], runs: RUNS.archive, shell: true },
  ], 2);
}

/** `vox deploy build` of the 209 MB sample project for two platforms against tar | gzip -6 | sha256sum of its tree. */
function benchDeploy(vox: string): Row[] {
  console.error("bench: writing the 200 MB packaging sample (many small files, a few large ones)");
  const sample = writeSampleProject(join(work, "sample"));
  const layoutDir = join(work, "image");
  execFileSync(vox, ["lock"], { cwd: sample, stdio: ["ignore", "ignore", "inherit"] });
  return measure(
    [
      { group: "deploy", name: "vox deploy build --locked (scratch base, linux/amd64 + linux/arm64) into an OCI layout", argv: [`cd ${sample} && ${vox} deploy build --locked --output oci:${layoutDir}`], runs: RUNS.archive, shell: true, prepare: `rm -rf ${layoutDir}` },
      { group: "deploy", name: "tar -c | gzip -6 | sha256sum of the same tree (GNU)", argv: [`tar -c -C ${sample} tree | gzip -6 | sha256sum`], runs: RUNS.archive, shell: true },
    ],
    2,
  );
}

/** Every group in the order a full run takes them, each with the one-line summary `--only=<group>` prints. */
const GROUPS: Record<string, { run(vox: string): Row[] | Promise<Row[]>; summary(rows: Row[]): string }> = {
  startup: { run: benchStartup, summary: startupSummary },
  archive: { run: benchArchive, summary: (rows) => `our archive / tar+sha256sum = ${ratio(rows, 0, 1)}x at ${rows[0]!.peakRssMiB} MiB` },
  deploy: { run: benchDeploy, summary: (rows) => `deploy build / tar|gzip|sha256sum = ${ratio(rows, 0, 1)}x at ${rows[0]!.peakRssMiB} MiB` },
  install: { run: benchInstall, summary: installSummary },
  push: { run: benchPushLayer, summary: (rows) => `1 GiB layer push / skopeo copy = ${ratio(rows, 0, 1)}x at ${rows[0]!.peakRssMiB} MiB (skopeo ${rows[1]!.peakRssMiB} MiB)` },
  microvm: { run: benchMicrovm, summary: (rows) => `materialize ${rows[0]!.medianMs} ms; boot to entrypoint ${rows.at(-1)!.medianMs} ms` },
  run: { run: benchRun, summary: (rows) => `vox deploy run / runc run = ${ratio(rows, 0, 1)}x` },
  pull: { run: benchPullUnpack, summary: pullUnpackSummary },
};

if (only !== undefined && !(only in GROUPS)) throw new Error(`bench: no group '${only}'; groups: ${Object.keys(GROUPS).join(", ")}`);

console.error("bench: building the host vox (release v0.1.0)");
execFileSync(bun, ["main.ts", "ci", "release-build", "--version", "v0.1.0", "--package", "vox", "--no-smoke", "--out-dir", join(work, "dist")], { cwd: root, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, SOURCE_DATE_EPOCH: "1700000000" } });
const archive = execFileSync("sh", ["-c", `ls ${join(work, "dist")}/vox-v0.1.0-*.tar.gz`], { encoding: "utf8" }).trim();
execFileSync("tar", ["-xzf", archive, "-C", work]);
const vox = join(work, "vox");
const bunVersion = execFileSync(bun, ["--version"], { encoding: "utf8" }).trim();

const byGroup: Record<string, Row[]> = {};
for (const name of only === undefined ? Object.keys(GROUPS) : [only]) byGroup[name] = await GROUPS[name]!.run(vox);
const rows = Object.values(byGroup).flat();
const summaries = Object.entries(byGroup).map(([name, groupRows]) => GROUPS[name]!.summary(groupRows));
const table = [
  "| group | what | median wall (ms) | median peak RSS (MiB) | runs |",
  "|---|---|---:|---:|---:|",
  ...rows.map((r) => `| ${r.group} | ${r.name.replaceAll("|", "\\|")} | ${r.medianMs} | ${r.peakRssMiB ?? ""} | ${r.runs} |`),
  "",
  `${summaries.join("; ")} (Bun ${bunVersion}, ${execFileSync("nproc", { encoding: "utf8" }).trim()} cores)`,
].join("\n");
console.log(table);

if (only === undefined) {
  const { startup, archive: archiveRows, deploy, install, push, pull } = byGroup as Record<string, Row[]>;
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: execFileSync("nproc", { encoding: "utf8" }).trim(), bun: bunVersion, node: process.version },
    rows,
    derived: {
      voxVersionOverFloor: ratio(startup!, 2, 0),
      policyJsonOverFloor: ratio(startup!, 3, 0),
      archiveOverBaseline: ratio(archiveRows!, 0, 1),
      archivePeakRssMiB: archiveRows![0]!.peakRssMiB,
      deployBuildOverPipeline: ratio(deploy!, 0, 1),
      deployBuildPeakRssMiB: deploy![0]!.peakRssMiB,
      installOverPipeline: ratio(install!, 0, 1),
      installPeakRssMiB: Math.max(install![0]!.peakRssMiB!, install![2]!.peakRssMiB!),
      upgradeOverPipeline: ratio(install!, 4, 5),
      upgradePeakRssMiB: Math.max(install![4]!.peakRssMiB!, install![6]!.peakRssMiB!),
      pushLayerOverSkopeo: ratio(push!, 0, 1),
      pushLayerPeakRssMiB: push![0]!.peakRssMiB,
      pullUnpackColdOverSkopeoUmoci: ratio(pull!, 0, 1),
      pullUnpackWarmOverSkopeoUmoci: ratio(pull!, 2, 3),
      pullUnpackPeakRssMiB: Math.max(pull![0]!.peakRssMiB!, pull![2]!.peakRssMiB!),
    },
  };
  // Paths are written relative to the checkout: results describe the code, not this machine's directories.
  writeFileSync(join(root, "bench", "results.json"), `${JSON.stringify(results, null, 2).replaceAll(`${root}/`, "./")}\n`);
  writeFileSync(join(root, "bench", "results.md"), `${table.replaceAll(`${root}/`, "./")}\n`);
}
rmSync(work, { recursive: true, force: true });
