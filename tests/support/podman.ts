// Podman for end-to-end tests: one `podman system service` per test file on a unix socket in a temp dir, with its
// own containers.conf (runc, cgroupfs, no default ulimits: this kernel refuses podman's) and its own storage, so a
// test never sees or touches the machine's containers, images, networks or volumes.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pushBusyboxBase } from "./base_image.ts";
import { bun, repoRoot, runAsync, tempDir } from "./helpers.ts";
import { startRegistry } from "./registry.ts";

export interface RunningPodman {
  /** The API socket's path. */
  socket: string;
  /**
   * What a child needs to use this podman: CONTAINERS_CONF and CONTAINERS_STORAGE_CONF for the podman CLI,
   * DOCKER_HOST (unix://…) for docker-compose and the Docker API; merge it over process.env.
   */
  env: Record<string, string>;
  /** Runs the podman CLI against this service's storage; throws with podman's stderr on a non-zero exit. */
  podman(args: readonly string[]): string;
  /** Every container, pod, network (other than the default `podman`) and volume that exists, by name. */
  leftovers(): { containers: string[]; pods: string[]; networks: string[]; volumes: string[] };
  /** The service's log so far, to print when a test fails. */
  logs(): string;
  /** Removes everything this service made, stops it and unmounts its storage; safe to call twice. */
  stop(): Promise<void>;
}

function toml(text: string): string {
  return JSON.stringify(text);
}

/**
 * Starts `podman system service --time=0` on `<temp>/podman.sock`; the caller must `stop()` it in `after`.
 *
 * Storage is overlay under the temp dir; `lock_type = "file"` keeps libpod's locks there too instead of the one
 * shared-memory segment every podman on the machine uses; events go to a file (no journald here).
 */
export async function startPodman(): Promise<RunningPodman> {
  const dir = tempDir("podman");
  const socket = join(dir, "podman.sock");
  for (const sub of ["storage", "run", "tmp", "cni"]) mkdirSync(join(dir, sub), { recursive: true });
  const containersConf = join(dir, "containers.conf");
  writeFileSync(
    containersConf,
    [
      "[containers]",
      "default_ulimits = []",
      "[engine]",
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = ${toml(join(dir, "events.log"))}`,
      `tmp_dir = ${toml(join(dir, "tmp"))}`,
      'lock_type = "file"',
      `static_dir = ${toml(join(dir, "storage", "libpod"))}`,
      `volume_path = ${toml(join(dir, "storage", "volumes"))}`,
      "[network]",
      `network_config_dir = ${toml(join(dir, "cni"))}`,
      "",
    ].join("\n"),
  );
  const storageConf = join(dir, "storage.conf");
  writeFileSync(storageConf, ["[storage]", 'driver = "overlay"', `graphroot = ${toml(join(dir, "storage"))}`, `runroot = ${toml(join(dir, "run"))}`, ""].join("\n"));
  const env = { CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf, DOCKER_HOST: `unix://${socket}` };
  const childEnv = { ...process.env, ...env };
  const podman = (args: readonly string[]): string => {
    const result = spawnSync("podman", args, { env: childEnv, encoding: "utf8", maxBuffer: 64 << 20 });
    if (result.status !== 0) throw new Error(`podman ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
    return result.stdout;
  };
  const logFile = join(dir, "service.log");
  const log = openSync(logFile, "w");
  const child = spawn("podman", ["system", "service", "--time=0", `unix://${socket}`], { env: childEnv, stdio: ["ignore", log, log] });
  closeSync(log);
  let stopped = false;
  const running: RunningPodman = {
    socket,
    env,
    podman,
    leftovers: () => ({
      containers: lines(podman(["ps", "-a", "--format", "{{.Names}}"])),
      pods: lines(podman(["pod", "ls", "--format", "{{.Name}}"])),
      networks: lines(podman(["network", "ls", "--format", "{{.Name}}"])).filter((n) => n !== "podman"),
      volumes: lines(podman(["volume", "ls", "--format", "{{.Name}}"])),
    }),
    logs: () => readFileSync(logFile, "utf8"),
    async stop() {
      if (stopped) return;
      stopped = true;
      // Containers first (they hold mounts and network namespaces), then what they used; errors are ignored so the
      // service still stops, and the storage is unmounted so the temp dir can be removed.
      for (const args of [["pod", "rm", "--all", "--force"], ["rm", "--all", "--force", "--time=0"], ["volume", "rm", "--all", "--force"], ["network", "prune", "--force"], ["system", "reset", "--force"]]) {
        spawnSync("podman", args, { env: childEnv, stdio: "ignore" });
      }
      await stopChild(child);
      spawnSync("umount", ["--recursive", "--lazy", join(dir, "storage")], { stdio: "ignore" });
    },
  };
  try {
    await waitForSocket(socket, child);
  } catch (error) {
    await running.stop();
    throw new Error(`podman system service did not start: ${String(error)}\n${running.logs()}`);
  }
  return running;
}

function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter(Boolean);
}

async function waitForSocket(socket: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    if (existsSync(socket)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no socket at ${socket}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** A project whose image serves HTTP, built by `vox deploy build` on the busybox test base. */
export interface WebImage {
  /** The project directory (Vox.toml, vox.lock, .vox/oci). */
  project: string;
  /** `sha256:…` of the image index. */
  digest: string;
  /** `localhost/webtest@<digest>`: the name a local build has (podman never tries a registry for `localhost/`). */
  image: string;
}

/**
 * `webtest`: busybox `httpd -f -p <port>` serving /app/www (`/` and `/healthz`), the port given as the command.
 * The base has no applet links for wget or curl, so two small scripts stand in: `wget` for the in-container http
 * checks Compose, podman run and Quadlet get, `curl -f URL` for the one `podman kube play` makes of an httpGet probe.
 * Built with the base served by `registryHost` (see base_image.ts), for the host's platform only.
 */
export async function buildWebImage(registryHost: string): Promise<WebImage> {
  const project = join(tempDir("webtest"), "webtest");
  const files: Record<string, string> = {
    "Vox.toml": `[package]
name = "webtest"
version = "0.1.0"
kind = "application"
description = "Serves /app/www over HTTP (vox's engine tests)"
license = "Apache-2.0"

[deploy]
target = "container"
platforms = ["linux/${process.arch === "arm64" ? "arm64" : "amd64"}"]
base = "docker.io/library/busybox:1.35"
entrypoint = ["/app/bin/serve"]
workdir = "/app"
env = { PATH = "/app/bin:/bin" }

[[deploy.copy]]
from = "app"
to = "/app"
`,
    // httpd as PID 1 ignores SIGTERM, and every stop would wait out the engine's 10 s grace period.
    "app/bin/serve": '#!/bin/sh\n/bin/busybox httpd -f -p "${1:-8080}" -h /app/www &\ntrap "kill $!; exit 0" TERM INT\nwait\n',
    "app/bin/wget": '#!/bin/sh\nexec /bin/busybox wget "$@"\n',
    "app/bin/curl": '#!/bin/sh\n# Only what podman kube play runs: curl -f URL.\nfor arg; do url=$arg; done\nexec /bin/busybox wget -q -O /dev/null "$url"\n',
    "app/www/index.html": "hello from webtest\n",
    "app/www/healthz": "ok\n",
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(project, path, ".."), { recursive: true });
    writeFileSync(join(project, path), content, { mode: path.startsWith("app/bin/") ? 0o755 : 0o644 });
  }
  const built = await runAsync(bun, [join(repoRoot, "main.ts"), "deploy", "build", "--json"], {
    cwd: project,
    env: { ...process.env, VOX_REGISTRY_MIRRORS: `docker.io=http://${registryHost}`, VOX_CACHE_DIR: tempDir("webtest-cache"), DOCKER_CONFIG: tempDir("no-docker-config") },
  });
  if (built.status !== 0) throw new Error(`vox deploy build of webtest failed: ${built.stderr}`);
  const digest = (JSON.parse(built.stdout) as { index_digest: string }).index_digest;
  return { project, digest, image: `localhost/webtest@${digest}` };
}

/**
 * Copies the image into this podman's store with skopeo (an independent tool, not vox's loader) under exactly
 * `image`, so podman finds it by that digest.
 */
export function loadWithSkopeo(podman: RunningPodman, web: WebImage): void {
  execFileSync("skopeo", ["copy", "--quiet", `oci:${join(web.project, ".vox", "oci")}:0.1.0`, `containers-storage:${web.image}`], { env: { ...process.env, ...podman.env }, stdio: ["ignore", "ignore", "pipe"] });
}

/** What an engine test file starts with: webtest built (its registry stopped again) and one podman service. */
export async function podmanWithWebImage(): Promise<{ podman: RunningPodman; web: WebImage }> {
  const registry = await startRegistry();
  let web: WebImage;
  try {
    pushBusyboxBase(registry.host);
    web = await buildWebImage(registry.host);
  } finally {
    await registry.stop();
  }
  return { podman: await startPodman(), web };
}
