// `vox deploy run|ps|logs|stop|rm`: a Release on this host under runc. Option resolution, the seams and reporting
// only; the steps, runtime config, CNI, health checks and rollout are in run/.

import { existsSync } from "node:fs";
import { open, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { CommandContext, Handler, ParsedArgs } from "../cli/mod.ts";
import { usageError, VoxError } from "../errors/mod.ts";
import { parseLayoutSource, pullImage } from "../oci/pull/mod.ts";
import { DEFAULT_UNPACK_POLICY, parseUnpackPolicy, unpackImage } from "../oci/unpack/mod.ts";
import { loadProject, projectStateDir } from "../pm/mod.ts";
import { pinnedImage, projectReleaseLog } from "../releases/mod.ts";
import {
  bridgeNetwork,
  CniDriver,
  DEFAULT_CNI_PATH,
  HostOps,
  logPath,
  type PortMapping,
  readWorkload,
  type ReleaseRef,
  releaseFromLog,
  releaseFromRegistry,
  removeWorkloadRun,
  RUN_CHECKPOINTS,
  type RunCheckpoint,
  type RunDeps,
  runPaths,
  RuncDriver,
  type RunReport,
  runRelease,
  stopWorkload,
  workloadStatus,
} from "../run/mod.ts";
import { auditSink, pullDeps } from "./_pull.ts";
import { registryClient } from "./_registry.ts";
import { renderJson } from "../cli/json.ts";

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** `vox deploy run [--release <seq>|latest | --image <ref>@sha256:… --manifest-hash sha256:…] [--name NAME] [--publish-address A] [--publish P:H]… [--json]` */
export const deployRunCommand: Handler = async (args, context) => {
  const pauseAt = context.env.get("VOX_RUN_PAUSE_AT");
  if (pauseAt !== undefined && !(RUN_CHECKPOINTS as readonly string[]).includes(pauseAt)) throw usageError("E_USAGE", `Cannot pause at '${pauseAt}': not a step`, `VOX_RUN_PAUSE_AT is one of ${RUN_CHECKPOINTS.join(", ")}`);
  const { resolved, layouts } = await releaseToRun(args, context);
  const audit = auditSink(args, context);
  const policyFile = args.string("policy");
  const policy = policyFile === undefined ? DEFAULT_UNPACK_POLICY : parseUnpackPolicy(await readFile(resolve(context.cwd, policyFile), "utf8"), policyFile);
  const deps = await runDeps(args, context, {
    pull: async (release: ReleaseRef, scope: string) => {
      const source = await pullSource(release, layouts);
      return pullImage(source, { scope, requireDigest: true, insecure: args.flag("insecure") }, await pullDeps(args, context, source, audit));
    },
    unpack: async (image, bundle) => void (await unpackImage(image, bundle, { policy, audit, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, spawner: context.spawner })),
    // A test hook: stop at a named step so crash-safety tests can SIGKILL the process exactly there.
    checkpoint: async (step: RunCheckpoint) => {
      if (pauseAt !== step) return;
      context.out.stderr(`paused at ${step}\n`);
      await new Promise(() => setInterval(() => {}, 1 << 30));
    },
  });
  const name = args.string("name");
  const publishAddress = args.string("publish-address");
  const hostPorts = parsePublish(args.list("publish"));
  const report = await runRelease({ ...resolved, ...(name ? { name: checkName(name) } : {}), ...(publishAddress ? { publishAddress } : {}), hostPorts }, deps);
  context.out.stdout(args.flag("json") ? renderJson("vox.run/1", report) : `${describeRun(report)}\n`);
};

/** `vox deploy ps [--json]` */
export const deployPsCommand: Handler = async (args, context) => {
  const paths = runPaths(stateDir(context));
  const rows = await workloadStatus({ paths, runc: new RuncDriver(context.spawner, paths.runcRoot) });
  if (args.flag("json")) return void context.out.stdout(renderJson("vox.workloads/1", { workloads: rows }));
  if (rows.length === 0) return void context.out.stdout("no workloads run on this host\n");
  const lines = rows.map((r) =>
    [
      r.workload.padEnd(16),
      (r.instance ?? "-").padEnd(26),
      `release ${r.release?.seq ?? "-"}`.padEnd(12),
      `${r.state}${r.phase === "healthy" && r.state === "running" ? " (healthy)" : ""}${r.oom_kills > 0 ? ` (out of memory: ${r.oom_kills} kill${r.oom_kills === 1 ? "" : "s"})` : ""}`.padEnd(22),
      (r.address ?? "-").padEnd(15),
      r.published.map(formatMapping).join(", ") || "-",
    ].join(" "),
  );
  context.out.stdout(`${["WORKLOAD".padEnd(16), "INSTANCE".padEnd(26), "RELEASE".padEnd(12), "STATE".padEnd(22), "ADDRESS".padEnd(15), "PUBLISHED"].join(" ")}\n${lines.join("\n")}\n`);
};

/** `vox deploy logs [--name NAME] [-f]`: the instance's output; with -f, follows it (and the next instance after a rollout). */
export const deployLogsCommand: Handler = async (args, context) => {
  const paths = runPaths(stateDir(context));
  const name = await workloadName(args, context);
  const current = async () => (await readWorkload(paths, name))?.current ?? null;
  let id = await current();
  if (id === null) throw new VoxError("E_RUN_UNKNOWN", `Cannot show the output of '${name}': it has no instance`, { hint: "vox deploy run starts one" });
  let offset = 0;
  for (;;) {
    offset = await copyFrom(logPath(paths, id), offset, (chunk) => context.out.stdout(chunk));
    if (!args.flag("follow")) return;
    await sleep(200);
    const next = await current();
    if (next === null) return;
    if (next !== id) [id, offset] = [next, 0];
  }
};

/** `vox deploy stop [--name NAME]` */
export const deployStopCommand: Handler = async (args, context) => {
  const name = await workloadName(args, context);
  const stopped = await stopWorkload(name, await runDeps(args, context, inert));
  const report = { workload: name, instance: stopped?.id ?? null, state: "stopped" };
  context.out.stdout(args.flag("json") ? renderJson("vox.stop/1", report) : `stopped ${name}${stopped ? ` (${stopped.id}); its bundle and volumes are kept: vox deploy run starts it again, vox deploy rm removes it` : ": it had no instance"}\n`);
};

/** `vox deploy rm [--name NAME]` */
export const deployRmCommand: Handler = async (args, context) => {
  const name = await workloadName(args, context);
  const removed = await removeWorkloadRun(name, await runDeps(args, context, inert));
  const report = { workload: name, instance: removed?.id ?? null, state: "removed" };
  context.out.stdout(args.flag("json") ? renderJson("vox.rm/1", report) : `removed ${name}${removed ? ` (${removed.id}: bundle and ephemeral volumes)` : ""}; the image cache and persistent volumes are kept\n`);
};

/** stop and rm never pull, unpack or pause. */
const inert = {
  pull: () => Promise.reject(new Error("stop and rm never pull")),
  unpack: () => Promise.reject(new Error("stop and rm never unpack")),
  checkpoint: async () => {},
} satisfies Pick<RunDeps, "pull" | "unpack" | "checkpoint">;

/** The seams of run/, real: runc and the CNI plugins as root, the state under VOX_STATE_DIR/run. */
async function runDeps(args: ParsedArgs, context: CommandContext, steps: Pick<RunDeps, "pull" | "unpack" | "checkpoint">): Promise<RunDeps> {
  const paths = runPaths(stateDir(context));
  const host = new HostOps(context.spawner);
  const network = await bridgeNetwork(paths, host);
  const home = context.env.get("HOME") ?? homedir();
  return {
    ...steps,
    paths,
    dataDir: resolve(context.cwd, context.env.get("VOX_DATA_DIR") ?? join(home, ".vox", "data")),
    secretsDir: resolve(context.cwd, context.env.get("VOX_SECRETS_DIR") ?? join(home, ".vox", "secrets")),
    runc: new RuncDriver(context.spawner, paths.runcRoot),
    cni: new CniDriver(network, context.spawner, context.env.get("VOX_CNI_PATH") ?? DEFAULT_CNI_PATH),
    host,
    bridge: network.bridge,
    audit: auditSink(args, context),
    clock: context.clock,
    sleep,
    log: (line) => context.out.stderr(`${line}\n`),
    stopGraceMs: 10_000,
    drainMs: 5_000,
    lockWaitMs: 10 * 60_000,
  };
}

/**
 * The tuple to run: from the registry when `--image` and `--manifest-hash` name it (a host without the log), else
 * from the project's release log (`--release`, default latest). Layouts are where a local build's image is found.
 */
async function releaseToRun(args: ParsedArgs, context: CommandContext): Promise<{ resolved: Awaited<ReturnType<typeof releaseFromLog>>; layouts: string[] }> {
  const image = args.string("image");
  const hash = args.string("manifest-hash");
  if (image !== undefined || hash !== undefined) {
    if (image === undefined || hash === undefined) throw usageError("E_USAGE", "Cannot run from the registry with only one of --image and --manifest-hash", "A Release is the pair: pass --image <ref>@sha256:… and --manifest-hash sha256:…");
    if (args.string("release") !== undefined) throw usageError("E_USAGE", "Cannot use --release with --image: a Release from the log already names its image", "Pass one of them");
    if (!/^sha256:[0-9a-f]{64}$/.test(hash)) throw usageError("E_USAGE", `Cannot use --manifest-hash ${hash}: expected sha256:<64 hex>`, "vox deploy releases --json lists each release's manifest_content_hash");
    const pinned = pinnedImage(image, "--image");
    const client = await registryClient(args, context, [image]);
    return { resolved: await releaseFromRegistry(client, pinned, hash), layouts: [] };
  }
  const project = await loadProject(resolve(context.cwd, args.string("project") ?? "."));
  const state = await projectStateDir(project.root);
  const paths = projectReleaseLog(state, context.env.get("VOX_RELEASE_LOG"), context.cwd);
  return { resolved: await releaseFromLog(paths, parseWhich(args.string("release"))), layouts: [join(state, "oci"), ...(await lastBuildLayout(state))] };
}

/** A local build (`localhost/<name>@…`) is read from the layout that holds it; anything else is pulled from its registry by digest. */
async function pullSource(release: ReleaseRef, layouts: readonly string[]): Promise<string> {
  if (!release.image.startsWith("localhost/")) return release.image;
  const hex = release.image_digest.slice("sha256:".length);
  const dir = layouts.find((d) => existsSync(join(d, "blobs", "sha256", hex)));
  if (!dir) throw new VoxError("E_IMAGE_UNKNOWN", `Cannot run ${release.image}: no local layout holds it (looked in ${layouts.join(", ")})`, { hint: "Build it again (vox deploy build), or release it with --push and run from the registry" });
  return `oci:${dir}@${release.image_digest}`;
}

/** The layout `vox deploy build --output` last wrote, from .vox/release.json. */
async function lastBuildLayout(state: string): Promise<string[]> {
  const text = await readFile(join(state, "release.json"), "utf8").catch(() => undefined);
  const image = text === undefined ? undefined : (JSON.parse(text) as { image?: unknown }).image;
  const layout = typeof image === "string" ? parseLayoutSource(image) : undefined;
  return layout ? [layout.dir] : [];
}

function stateDir(context: CommandContext): string {
  return resolve(context.cwd, context.env.get("VOX_STATE_DIR") ?? join(context.env.get("HOME") ?? homedir(), ".vox", "state"));
}

/** `--name`, else the only workload on this host. */
async function workloadName(args: ParsedArgs, context: CommandContext): Promise<string> {
  const name = args.string("name");
  if (name !== undefined) return checkName(name);
  const rows = await workloadStatus({ paths: runPaths(stateDir(context)), runc: new RuncDriver(context.spawner, runPaths(stateDir(context)).runcRoot) });
  if (rows.length === 1) return rows[0]!.workload;
  throw usageError("E_USAGE", `Cannot tell which workload: ${rows.length === 0 ? "none runs on this host" : `${rows.length} run here (${rows.map((r) => r.workload).join(", ")})`}`, "Pass --name <workload> (vox deploy ps lists them)");
}

function checkName(name: string): string {
  if (!/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/.test(name)) throw usageError("E_USAGE", `Cannot use the workload name '${name}': expected lowercase letters, digits and -, at most 40`, "For example --name hello-canary");
  return name;
}

function parseWhich(which: string | undefined): number | "latest" {
  if (which === undefined || which === "latest") return "latest";
  if (/^[1-9]\d*$/.test(which)) return Number(which);
  throw usageError("E_USAGE", `Cannot run --release ${which}: expected a sequence number or latest`, "`vox deploy releases` lists them");
}

/** `--publish 8080:18080`: container port 8080 on host port 18080. */
function parsePublish(values: readonly string[]): Map<number, number> {
  const ports = new Map<number, number>();
  for (const value of values) {
    const match = /^(\d{1,5}):(\d{1,5})$/.exec(value);
    const [container, host] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
    if (!match || container < 1 || container > 65535 || host < 1 || host > 65535) throw usageError("E_USAGE", `Cannot publish '${value}': expected <container port>:<host port>`, "For example --publish 8080:18080");
    ports.set(container, host);
  }
  return ports;
}

/** Appends the bytes of `path` from `offset` on; returns the new offset. */
async function copyFrom(path: string, offset: number, write: (chunk: string) => void): Promise<number> {
  const size = (await stat(path).catch(() => undefined))?.size ?? 0;
  if (size <= offset) return size < offset ? 0 : offset;
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(size - offset);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    write(buffer.subarray(0, bytesRead).toString("utf8"));
    return offset + bytesRead;
  } finally {
    await handle.close();
  }
}

function formatMapping(m: PortMapping): string {
  return `${m.hostIP}:${m.hostPort}->${m.containerPort}/${m.protocol}`;
}

function describeRun(report: RunReport): string {
  const release = report.release.seq === null ? report.release.image : `release ${report.release.seq}`;
  const verb = { started: "started", replaced: `replaced ${report.replaced} (${report.strategy})`, unchanged: "unchanged" }[report.status];
  return [
    `${report.workload}: ${release} healthy in ${report.instance} (${report.address}); ${verb}`,
    `health: ${report.health}`,
    `published: ${report.published.map(formatMapping).join(", ") || "nothing (no public port)"}`,
    `image ${report.release.image_digest}, manifest ${report.release.manifest_content_hash}`,
  ].join("\n");
}
