// `vox deploy run|ps|logs|stop|rm` end to end, as root, with Debian's runc and CNI plugins: a busybox httpd image
// built and pushed by vox to docker-registry on loopback, released with its manifest pushed beside it, then run.
// Every test checks the host afterwards with runc, ip, iptables-save and the lease files (tests/support/cni.ts).
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pushBusyboxBase } from "./support/base_image.ts";
import { hostLeftovers, NOTHING, netnsPrefix } from "./support/cni.ts";
import { bun, repoRoot, runAsync, tempDir } from "./support/helpers.ts";
import { freePort } from "./support/nginx.ts";
import { type RunningRegistry, startRegistry } from "./support/registry.ts";

let registry: RunningRegistry;
let cacheDir: string;
let project: string;
/** Index digests of the two builds: www/index.html says "v1" or "v2". */
const images: Record<"v1" | "v2", string> = { v1: "", v2: "" };

const VOX_TOML = `[package]
name = "web"
version = "0.1.0"
kind = "application"

[deploy]
target = "container"
platforms = ["linux/amd64"]
base = "docker.io/library/busybox:1.35"
entrypoint = ["/bin/busybox", "httpd", "-f", "-v", "-p", "8080", "-h", "/www"]

[[deploy.copy]]
from = "www"
to = "/www"
`;

interface Env {
  state: string;
  data: string;
  secrets: string;
  audit: string;
  hostPort: number;
}

async function vox(args: readonly string[], env: Env, cwd = project, extra: Record<string, string> = {}) {
  return runAsync(bun, [join(repoRoot, "main.ts"), ...args], {
    cwd,
    env: { ...process.env, VOX_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, VOX_CACHE_DIR: cacheDir, DOCKER_CONFIG: tempDir("no-docker-config"), VOX_STATE_DIR: env.state, VOX_DATA_DIR: env.data, VOX_SECRETS_DIR: env.secrets, VOX_AUDIT_LOG: env.audit, ...extra },
  });
}

/** Every host state a test made: after() removes what a failed test left running. */
const envs: Env[] = [];

/** A fresh host state (its own bridge, subnet, leases) and a free loopback port to publish on. */
async function hostEnv(name: string): Promise<Env> {
  const root = tempDir(`run-${name}`);
  return envs[envs.push({ state: join(root, "state"), data: join(root, "data"), secrets: join(root, "secrets"), audit: join(root, "audit.jsonl"), hostPort: await freePort() }) - 1]!;
}

function platformToml(options: { health?: string; extra?: string; entrypoint?: string } = {}): string {
  return [
    'schema = "vox.platform/v1"',
    'name = "web"',
    ...(options.entrypoint ? ["[process]", `entrypoint = ${options.entrypoint}`] : []),
    "[[ports]]\nport = 8080\nexposure = \"public\"",
    "[resources]\ncpu = \"250m\"\nmemory_limit = \"64Mi\"",
    options.health ?? '[health]\nkind = "http"\nport = 8080\npath = "/index.html"\ninterval = "200ms"\ntimeout = "200ms"\nretries = 5\nstart_period = "2s"',
    options.extra ?? "",
  ].join("\n\n");
}

/** A Release of `image` with this manifest (its own project copy and log), pushed beside the image; returns the project dir and seq. */
async function release(env: Env, image: keyof typeof images, toml: string, dir = join(tempDir("project"), "web")): Promise<{ dir: string; seq: number; hash: string }> {
  if (!existsSync(dir)) cpSync(project, dir, { recursive: true });
  writeFileSync(join(dir, "vox.platform.toml"), toml);
  const result = await vox(["deploy", "release", "--json", "--insecure", "--image", `${registry.host}/apps/web@${images[image]}`, "--push", `${registry.host}/apps/web`], env, dir);
  assert.equal(result.status, 0, result.stderr);
  const record = (JSON.parse(result.stdout) as { release: { seq: number; manifest_content_hash: string } }).release;
  return { dir, seq: record.seq, hash: record.manifest_content_hash };
}

function deployRun(env: Env, dir: string, seq: number, extra: Record<string, string> = {}, args: string[] = []) {
  return vox(["deploy", "run", "--release", String(seq), "--insecure", "--publish", `8080:${env.hostPort}`, "--json", ...args], env, dir, extra);
}

function fetchText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path: "/index.html", agent: false, timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

function runcIn(env: Env, id: string, argv: string[]): { status: number | null; stdout: string; stderr: string } {
  try {
    return { status: 0, stdout: execFileSync("runc", ["--root", join(env.state, "run", "runc"), "exec", id, ...argv], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }), stderr: "" };
  } catch (error) {
    const e = error as { status: number | null; stdout: string; stderr: string };
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

function auditKinds(env: Env): string[] {
  return existsSync(env.audit) ? readFileSync(env.audit, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { kind: string }).kind).filter((k) => ["launch", "healthy", "unhealthy", "stop", "delete"].includes(k)) : [];
}

/** rm the workload, then nothing of ours may be left on the host. */
async function removeAndCount(env: Env): Promise<void> {
  const removed = await vox(["deploy", "rm", "--name", "web"], env);
  assert.equal(removed.status, 0, removed.stderr);
  assert.deepEqual(hostLeftovers(env.state), NOTHING);
}

before(async () => {
  registry = await startRegistry();
  pushBusyboxBase(registry.host);
  cacheDir = tempDir("run-cache");
  project = join(tempDir("web"), "web");
  mkdirSync(join(project, "www"), { recursive: true });
  writeFileSync(join(project, "Vox.toml"), VOX_TOML);
  writeFileSync(join(project, "vox.platform.toml"), platformToml());
  const env = await hostEnv("build");
  for (const version of ["v1", "v2"] as const) {
    writeFileSync(join(project, "www", "index.html"), `${version}\n`);
    const built = await vox(["deploy", "build", "--json", "--insecure", "--push", `${registry.host}/apps/web:${version}`], env);
    assert.equal(built.status, 0, built.stderr);
    images[version] = (JSON.parse(built.stdout) as { index_digest: string }).index_digest;
  }
});

after(async () => {
  for (const env of envs) if (existsSync(join(env.state, "run", "workloads", "web.json"))) await vox(["deploy", "rm", "--name", "web"], env);
  await registry?.stop();
});

test("vox deploy run: healthy over http, published on loopback; read-only root, secrets at their mode, cgroup limits, only the bridge route; ps, logs, audit; rm leaves nothing", async () => {
  const env = await hostEnv("basic");
  mkdirSync(join(env.secrets, "db"), { recursive: true });
  writeFileSync(join(env.secrets, "db", "password"), "hunter2\n", { mode: 0o600 });
  const toml = platformToml({
    extra: [
      '[[secrets]]\nbundle = "db"\nmode = "0440"',
      '[[volumes]]\nname = "state"\nmount_path = "/var/state"\npersistence = "persistent"',
      '[[volumes]]\nname = "scratch"\nmount_path = "/scratch"',
      '[network]\negress = "none"',
      "[security]\nread_only_root_fs = true\nrun_as_user = 1000",
    ].join("\n\n"),
  });
  const { dir, seq } = await release(env, "v1", toml);
  const result = await deployRun(env, dir, seq);
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { status: string; instance: string; address: string; health: string; published: Array<{ host_ip: string; host_port: number }> };
  assert.equal(report.status, "started");
  assert.match(report.health, /GET http:\/\/[\d.]+:8080\/index\.html: HTTP 200/);
  assert.deepEqual(report.published.map((p) => [p.host_ip, p.host_port]), [["127.0.0.1", env.hostPort]]);
  assert.equal(await fetchText(env.hostPort), "v1\n");
  const id = report.instance;
  assert.equal(runcIn(env, id, ["/bin/busybox", "id", "-u"]).stdout.trim(), "1000");
  assert.equal(runcIn(env, id, ["/bin/busybox", "cat", "/run/secrets/db/password"]).stdout, "hunter2\n");
  assert.equal(runcIn(env, id, ["/bin/busybox", "stat", "-c", "%a %u", "/run/secrets/db/password"]).stdout.trim(), "440 1000");
  assert.notEqual(runcIn(env, id, ["/bin/sh", "-c", "echo x > /run/secrets/db/password"]).status, 0, "secrets are not writable");
  assert.notEqual(runcIn(env, id, ["/bin/sh", "-c", "echo x > /www/new"]).status, 0, "the root filesystem is read-only");
  for (const dir of ["/tmp", "/var/state", "/scratch"]) {
    const wrote = runcIn(env, id, ["/bin/sh", "-c", `echo x > ${dir}/t && echo ok`]);
    assert.equal(wrote.stdout.trim(), "ok", `${dir}: ${wrote.stderr}`);
  }
  assert.equal(runcIn(env, id, ["/bin/busybox", "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"]).stdout.trim(), "25000");
  assert.equal(runcIn(env, id, ["/bin/busybox", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]).stdout.trim(), String(64 << 20));
  assert.equal(runcIn(env, id, ["/bin/busybox", "cat", "/sys/fs/cgroup/pids/pids.max"]).stdout.trim(), "512");
  assert.match(runcIn(env, id, ["/bin/busybox", "grep", "CapEff", "/proc/self/status"]).stdout, /CapEff:\s+0{16}/);
  const routes = runcIn(env, id, ["/bin/busybox", "ip", "route"]).stdout.trim().split("\n");
  assert.equal(routes.length, 1, routes.join("\n"));
  assert.match(routes[0]!, /^10\.\d+\.\d+\.0\/24 dev eth0/);
  // The secret never lands in the bundle or on disk: the copy lives in a tmpfs outside the bundle.
  const grep = spawnSync("grep", ["-rl", "hunter2", join(env.state, "run", "instances", id, "bundle")], { encoding: "utf8" });
  assert.equal(grep.status, 1, `no copy in the bundle: ${grep.stdout}`);
  const ps = await vox(["deploy", "ps", "--json"], env);
  const rows = (JSON.parse(ps.stdout) as { workloads: Array<{ workload: string; instance: string; state: string; release: { seq: number } }> }).workloads;
  assert.deepEqual(rows.map((r) => [r.workload, r.instance, r.state, r.release.seq]), [["web", id, "running", seq]]);
  const logs = await vox(["deploy", "logs"], env);
  assert.match(logs.stdout, /\]:\d+: response:200\n/);
  assert.deepEqual(auditKinds(env), ["launch", "healthy"]);
  await removeAndCount(env);
  assert.deepEqual(auditKinds(env), ["launch", "healthy", "stop", "delete"]);
  assert.ok(existsSync(join(env.data, "volumes", "web", "state", "t")), "the persistent volume is kept");
  assert.ok(!existsSync(join(env.data, "volumes", "web", ".ephemeral", id)), "the ephemeral one is removed");
});

test("a missing secret bundle is an error naming it, and nothing is left", async () => {
  const env = await hostEnv("no-secret");
  const { dir, seq } = await release(env, "v1", platformToml({ extra: '[[secrets]]\nbundle = "api-keys"' }));
  const result = await deployRun(env, dir, seq);
  assert.equal(result.status, 1, result.stdout);
  assert.match(result.stderr, /error: Cannot mount the secret bundle 'api-keys': .*\/secrets\/api-keys does not exist/);
  assert.deepEqual(hostLeftovers(env.state), NOTHING);
});

test("rolling update: v1 → v2 while a request loop sees no error; a broken release never becomes healthy and v2 keeps serving", async () => {
  const env = await hostEnv("rolling");
  const first = await release(env, "v1", platformToml());
  assert.equal((await deployRun(env, first.dir, first.seq)).status, 0);
  assert.equal(await fetchText(env.hostPort), "v1\n");
  const second = await release(env, "v2", platformToml(), first.dir);
  const seen = new Map<string, number>();
  const errors: string[] = [];
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      await fetchText(env.hostPort).then(
        (body) => seen.set(body, (seen.get(body) ?? 0) + 1),
        (error: Error) => errors.push(error.message),
      );
    }
  })();
  const rolled = await deployRun(env, first.dir, second.seq);
  const tail = Date.now() + 300;
  while (Date.now() < tail) await new Promise((r) => setTimeout(r, 20));
  stop = true;
  await loop;
  assert.equal(rolled.status, 0, rolled.stderr);
  assert.equal(JSON.parse(rolled.stdout).status, "replaced");
  assert.deepEqual(errors, [], "no request failed during the switch");
  assert.ok((seen.get("v1\n") ?? 0) > 0 && (seen.get("v2\n") ?? 0) > 0, JSON.stringify([...seen]));
  assert.equal(await fetchText(env.hostPort), "v2\n");
  const broken = await release(env, "v2", platformToml({ entrypoint: '["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/nowhere"]' }), first.dir);
  const failed = await deployRun(env, first.dir, broken.seq);
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, new RegExp(`error: Cannot run release ${broken.seq} of web: it did not become healthy \\(the process exited\\)(; last check: [^\n]*)?\n`));
  assert.match(failed.stderr, /--- last lines of its output ---\nhttpd: can't change directory to '\/nowhere'/);
  assert.match(failed.stderr, /hint: web-[0-9a-f]{8} \(release \d+\) keeps serving; nothing was switched/);
  assert.equal(await fetchText(env.hostPort), "v2\n");
  assert.deepEqual(auditKinds(env), ["launch", "healthy", "launch", "healthy", "stop", "delete", "launch", "unhealthy", "delete"]);
  const left = hostLeftovers(env.state);
  assert.equal(left.containers.length, 1);
  assert.equal(left.netns.length, 1);
  assert.equal(left.leases.length, 1);
  await removeAndCount(env);
});

test("recreate: the old instance stops first; a new one that never becomes healthy brings the old one back", async () => {
  const env = await hostEnv("recreate");
  const recreate = '[rollout]\nstrategy = "recreate"';
  const first = await release(env, "v1", platformToml({ extra: recreate }));
  assert.equal((await deployRun(env, first.dir, first.seq)).status, 0);
  const broken = await release(env, "v2", platformToml({ extra: recreate, entrypoint: '["/bin/busybox", "false"]' }), first.dir);
  const failed = await deployRun(env, first.dir, broken.seq);
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /did not become healthy \(the process exited\)/);
  assert.match(failed.stderr, /hint: returned to web-[0-9a-f]{8} \(release 1\), which serves again/);
  assert.equal(await fetchText(env.hostPort), "v1\n");
  await removeAndCount(env);
});

test("a process allocating past the memory cap is killed and reported as out of memory", async () => {
  const env = await hostEnv("oom");
  // Whichever process the kernel picks (the shell holding the text, or a process of the pipe), the container ends:
  // without -e and pipefail, losing `tr` left the shell sleeping, and the check failed on the dead port instead.
  const hog = '["/bin/sh", "-c", "set -eo pipefail; x=$(/bin/busybox head -c 200000000 /dev/zero | /bin/busybox tr \'\\\\0\' a); sleep 60"]';
  const { dir, seq } = await release(env, "v1", platformToml({ entrypoint: hog, health: '[health]\nkind = "tcp"\nport = 8080\ninterval = "200ms"\ntimeout = "200ms"\nretries = 50' }));
  const result = await deployRun(env, dir, seq);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /did not become healthy \(killed: out of memory \(the process used more than its cap of 64 MiB\)\)/);
  assert.deepEqual(hostLeftovers(env.state), NOTHING);
});

test("exec and tcp checks run as declared; a failing exec check reports its last result and the instance's output", async () => {
  const env = await hostEnv("checks");
  const tcp = await release(env, "v1", platformToml({ health: '[health]\nkind = "tcp"\nport = 8080\ninterval = "200ms"\ntimeout = "200ms"' }));
  const ok = await deployRun(env, tcp.dir, tcp.seq);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(JSON.parse(ok.stdout).health, /connected to [\d.]+:8080/);
  const exec = await release(env, "v2", platformToml({ health: '[health]\nkind = "exec"\ncommand = ["/bin/sh", "-c", "echo checking /www; test -e /www/missing"]\ninterval = "1s"\ntimeout = "1s"\nretries = 2' }), tcp.dir);
  const failed = await deployRun(env, tcp.dir, exec.seq);
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /last check: \/bin\/sh -c echo checking \/www; test -e \/www\/missing exited 1: checking \/www/);
  assert.equal(await fetchText(env.hostPort), "v1\n");
  await removeAndCount(env);
});

test("from the registry alone (--image and --manifest-hash): the pushed manifest artifact; a hash the registry does not hold is refused; a tampered stored manifest is refused", async () => {
  const env = await hostEnv("registry");
  const { dir, seq, hash } = await release(env, "v1", platformToml());
  const elsewhere = tempDir("no-project");
  const image = `${registry.host}/apps/web@${images.v1}`;
  const wrong = await vox(["deploy", "run", "--image", image, "--manifest-hash", `sha256:${"0".repeat(64)}`, "--insecure", "--publish", `8080:${env.hostPort}`], env, elsewhere);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /error: Cannot find the platform manifest sha256:0{64} attached to /);
  const ok = await vox(["deploy", "run", "--image", image, "--manifest-hash", hash, "--insecure", "--publish", `8080:${env.hostPort}`, "--json"], env, elsewhere);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).release.seq, null);
  assert.equal(await fetchText(env.hostPort), "v1\n");
  const stored = join(dir, ".vox", "releases", "manifests", "sha256", `${hash.slice(7)}.json`);
  execFileSync("chmod", ["u+w", stored]);
  writeFileSync(stored, readFileSync(stored, "utf8").replace('"cpu_millicores":250', '"cpu_millicores":4000'));
  const tampered = await deployRun(env, dir, seq);
  assert.equal(tampered.status, 1);
  assert.match(tampered.stderr, /error: Cannot read the platform manifest sha256:[0-9a-f]{64} .*: its bytes hash to sha256:[0-9a-f]{64}: it was changed after it was stored/);
  await removeAndCount(env);
});

test("SIGKILL of vox deploy run at each named step, then vox deploy run again: one healthy instance of the new release, nothing orphaned", async () => {
  const env = await hostEnv("kill");
  const first = await release(env, "v1", platformToml());
  assert.equal((await deployRun(env, first.dir, first.seq)).status, 0);
  let from = "v1";
  for (const step of ["pulled", "unpacked", "networked", "launched", "healthy", "published", "recorded", "retired"]) {
    const to = from === "v1" ? "v2" : "v1";
    const next = await release(env, to as "v1" | "v2", platformToml(), first.dir);
    const child = spawn(bun, [join(repoRoot, "main.ts"), "deploy", "run", "--release", String(next.seq), "--insecure", "--publish", `8080:${env.hostPort}`], {
      cwd: first.dir,
      env: { ...process.env, VOX_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, VOX_CACHE_DIR: cacheDir, VOX_STATE_DIR: env.state, VOX_DATA_DIR: env.data, VOX_SECRETS_DIR: env.secrets, VOX_RUN_PAUSE_AT: step },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
        if (stderr.includes(`paused at ${step}`)) resolve();
      });
      child.on("exit", () => reject(new Error(`vox exited before ${step}: ${stderr}`)));
    });
    child.kill("SIGKILL");
    await new Promise((resolve) => child.on("close", resolve));
    const again = await deployRun(env, first.dir, next.seq);
    assert.equal(again.status, 0, `${step}: ${again.stderr}`);
    assert.equal(await fetchText(env.hostPort), `${to}\n`, step);
    const left = hostLeftovers(env.state);
    assert.equal(left.containers.length, 1, `${step}: ${left.containers.join(", ")}`);
    assert.equal(left.netns.length, 1, `${step}: ${left.netns.join(", ")}`);
    assert.equal(left.veths.length, 1, step);
    assert.equal(left.leases.length, 1, step);
    assert.ok(left.netns[0]!.startsWith(netnsPrefix(env.state)));
    const id = JSON.parse(again.stdout).instance as string;
    assert.ok(left.iptables.filter((line) => line.includes("-A CNI-HOSTPORT-DNAT")).every((line) => line.includes(id)), `${step}: only the running instance is published`);
    from = to;
  }
  await removeAndCount(env);
});
