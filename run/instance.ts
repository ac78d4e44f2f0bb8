import { constants } from "node:fs";
import { chmod, chown, lstat, mkdir, open, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { AuditSink } from "../audit/mod.ts";
import { errorMessage, VoxError } from "../errors/mod.ts";
import { type Clock, writeFileAtomic } from "../io/mod.ts";
import type { PulledImage } from "../oci/pull/mod.ts";
import type { PlatformManifest } from "../platform/mod.ts";
import { type CniDriver, instanceAddress, type PortMapping } from "./cni.ts";
import { type HealthVerdict, probeFor, waitHealthy } from "./health.ts";
import { establishedConnections, type HostOps, makeMountPoint } from "./host.ts";
import { oomKills, type RuncDriver } from "./runc.ts";
import { type BindMount, runtimeSpec } from "./runtime_config.ts";
import { instanceDir, type InstanceRecord, newInstanceId, type ReleaseRef, type RunPaths, stateTag, writeInstance } from "./state.ts";

/** Links are never followed out of the secret store or the image. */
const NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Largest secret file copied into an instance's tmpfs; secrets are keys and passwords, not data. */
const MAX_SECRET_BYTES = 1 << 20;
/** Lines of the instance's output shown when it fails to become healthy. */
const LOG_TAIL_LINES = 20;

/** What the instance steps need from the host; each a narrow seam (see run/deploy.ts for how they are made). */
export interface InstanceDeps {
  paths: RunPaths;
  /** `VOX_DATA_DIR`: volumes live in `<dataDir>/volumes/<workload>/<name>`. */
  dataDir: string;
  /** `VOX_SECRETS_DIR`: a bundle is the directory `<secretsDir>/<bundle>/`, one file per secret. */
  secretsDir: string;
  runc: RuncDriver;
  cni: CniDriver;
  host: HostOps;
  audit: AuditSink;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  /** Unpacks the verified image into `<bundle>` (rootfs/ + config.json), under the unpack policy. */
  unpack: (image: PulledImage, bundle: string) => Promise<void>;
  /** How long a stopping process gets between its stop signal and SIGKILL. */
  stopGraceMs: number;
  /** How long the old instance may keep answering requests it already accepted after the switch. */
  drainMs: number;
}

export function bundleDir(paths: RunPaths, id: string): string {
  return join(instanceDir(paths, id), "bundle");
}

export function logPath(paths: RunPaths, id: string): string {
  return join(instanceDir(paths, id), "log");
}

/**
 * Journals a new instance, unpacks the image into its bundle, prepares its secrets (copied into a tmpfs with the
 * manifest's mode, owned by the process user, then made read-only) and volumes (managed directories owned by that
 * user), creates every mount point in the rootfs, and writes config.json beside and renames it over umoci's.
 */
export async function createInstance(deps: InstanceDeps, workload: string, release: ReleaseRef, manifest: PlatformManifest, image: PulledImage, checkpoint: (step: "unpacked") => Promise<void>): Promise<InstanceRecord> {
  const id = newInstanceId(workload);
  const record: InstanceRecord = {
    id,
    workload,
    release,
    manifest,
    created: deps.clock.now().toISOString(),
    phase: "preparing",
    netns: null,
    attached: false,
    network: null,
    published: null,
    container: false,
    cgroupsPath: `/vox/${id}`,
    secretMounts: [],
    ephemeral: [],
  };
  await writeInstance(deps.paths, record);
  const bundle = bundleDir(deps.paths, id);
  await deps.unpack(image, bundle);
  await checkpoint("unpacked");
  const rootfs = join(bundle, "rootfs");
  const binds: BindMount[] = [];
  const secretDirs = manifest.secrets.map((secret) => ({ secret, dir: join(instanceDir(deps.paths, id), "secrets", secret.bundle) }));
  for (const { secret, dir } of secretDirs) binds.push({ source: dir, destination: secret.mount_path, readOnly: true });
  const volumeDirs = manifest.volumes.map((volume) => ({
    volume,
    dir: volume.persistence === "persistent" ? join(deps.dataDir, "volumes", workload, volume.name) : join(deps.dataDir, "volumes", workload, ".ephemeral", id, volume.name),
  }));
  for (const { volume, dir } of volumeDirs) binds.push({ source: dir, destination: volume.mount_path, readOnly: volume.access === "read-only-many" });
  const accounts = { passwd: await readImageFile(rootfs, "passwd"), group: await readImageFile(rootfs, "group") };
  const spec = runtimeSpec(image.config, manifest, {
    netnsPath: `/var/run/netns/${netnsName(deps.paths, id)}`,
    cgroupsPath: record.cgroupsPath,
    binds,
    ...(accounts.passwd === undefined ? {} : { passwd: accounts.passwd }),
    ...(accounts.group === undefined ? {} : { group: accounts.group }),
  });
  const owner = { uid: spec.process.user.uid, gid: spec.process.user.gid };
  for (const { secret, dir } of secretDirs) {
    record.secretMounts.push(dir);
    await writeInstance(deps.paths, record);
    await copySecrets(deps, secret.bundle, dir, secret.mode, owner);
  }
  for (const { volume, dir } of volumeDirs) {
    if (volume.persistence === "ephemeral") {
      record.ephemeral.push(join(deps.dataDir, "volumes", workload, ".ephemeral", id));
      await writeInstance(deps.paths, record);
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chown(dir, owner.uid, owner.gid);
  }
  for (const bind of binds) await makeMountPoint(rootfs, bind.destination);
  await makeMountPoint(rootfs, "/tmp", 0o1777);
  await writeFileAtomic(join(bundle, "config.json"), `${JSON.stringify(spec, null, "\t")}\n`, { mode: 0o644 });
  return record;
}

/** The namespace name: a tag of the state directory (as the bridge's), so each state directory's are told apart, and the instance id. */
export function netnsName(paths: RunPaths, id: string): string {
  return `vox${stateTag(paths)}-${id}`;
}

/** Network namespace → lo and eth0 through CNI (egress none: default route dropped) → `runc run --detach`. */
export async function startInstance(deps: InstanceDeps, record: InstanceRecord, manifest: PlatformManifest, checkpoint: (step: "networked" | "launched") => Promise<void>): Promise<void> {
  record.netns = netnsName(deps.paths, record.id);
  await writeInstance(deps.paths, record);
  const netns = await deps.host.addNetns(record.netns);
  record.attached = true;
  await writeInstance(deps.paths, record);
  record.network = await deps.cni.attach({ id: record.id, netns });
  await writeInstance(deps.paths, record);
  if (manifest.network.egress === "none") await deps.host.dropDefaultRoute(record.netns);
  await checkpoint("networked");
  record.container = true;
  record.phase = "started";
  await writeInstance(deps.paths, record);
  await deps.runc.run(record.id, bundleDir(deps.paths, record.id), logPath(deps.paths, record.id));
  await event(deps, "launch", record, "ok", { address: instanceAddress(record.network) });
  await checkpoint("launched");
}

/** Runs the manifest's check until healthy or unhealthy, watching `runc events` for an out-of-memory kill meanwhile. */
export async function checkHealth(deps: InstanceDeps, record: InstanceRecord, manifest: PlatformManifest): Promise<HealthVerdict> {
  const watch = deps.runc.watchOom(record.id);
  try {
    const gone = () => whyGone(deps, record, manifest, watch.seen);
    if (manifest.health === null) {
      // No check declared: running is all that can be known.
      const reason = await gone();
      return reason === null ? { healthy: true, probes: 0, last: { ok: true, detail: "running (no health check declared)" } } : { healthy: false, probes: 0, last: null, reason };
    }
    const target = {
      address: instanceAddress(record.network!),
      exec: (argv: readonly string[], timeoutMs: number) => deps.runc.exec(record.id, argv, timeoutMs),
    };
    const verdict = await waitHealthy(manifest.health, { probe: probeFor(manifest.health, target), gone, now: () => deps.clock.now().getTime(), sleep: deps.sleep });
    if (!verdict.healthy && watch.seen && !verdict.reason.includes("out of memory")) return { ...verdict, reason: `${verdict.reason}; killed: out of memory (cap ${mib(manifest.resources.memory_limit_bytes)})` };
    return verdict;
  } finally {
    watch.stop();
  }
}

async function whyGone(deps: InstanceDeps, record: InstanceRecord, manifest: PlatformManifest, oomSeen: boolean): Promise<string | null> {
  const state = await deps.runc.state(record.id);
  if (state?.status === "running" || state?.status === "created") return null;
  if (oomSeen || (await oomKills(record.cgroupsPath)) > 0) return `killed: out of memory (the process used more than its cap of ${mib(manifest.resources.memory_limit_bytes)})`;
  return state === null ? "the container is gone" : "the process exited";
}

export async function publishInstance(deps: InstanceDeps, record: InstanceRecord, mappings: readonly PortMapping[]): Promise<void> {
  if (mappings.length === 0) return;
  record.published = [...mappings];
  await writeInstance(deps.paths, record);
  await deps.cni.publish({ id: record.id, netns: netnsPath(record) }, record.network!, mappings);
}

export async function unpublishInstance(deps: InstanceDeps, record: InstanceRecord): Promise<void> {
  if (record.published === null) return;
  await deps.cni.unpublish({ id: record.id, netns: netnsPath(record) }, record.network, record.published);
  record.published = null;
  await writeInstance(deps.paths, record);
}

/**
 * Takes down what runs: published ports first (new connections stop arriving), then, when `drain`, waits for the
 * connections it already accepted, then the stop signal (the image's, else SIGTERM), SIGKILL after the grace,
 * `runc delete`, CNI DEL, the namespace and the secret tmpfs. Each part is skipped when the journal says it was
 * never made, and tolerates it being gone already, so it finishes what a killed vox left half done.
 */
export async function haltInstance(deps: InstanceDeps, record: InstanceRecord, options: { drain: boolean }): Promise<void> {
  const ports = record.published?.map((m) => m.containerPort) ?? [];
  await unpublishInstance(deps, record);
  if (record.container) {
    const state = await deps.runc.state(record.id);
    if (state?.status === "running") {
      if (options.drain) await drain(deps, state.pid, ports);
      await deps.runc.kill(record.id, await stopSignal(deps.paths, record.id));
      const deadline = deps.clock.now().getTime() + deps.stopGraceMs;
      while ((await deps.runc.state(record.id))?.status === "running" && deps.clock.now().getTime() < deadline) await deps.sleep(100);
      await event(deps, "stop", record, "ok", { oom_kills: await oomKills(record.cgroupsPath) });
    }
    await deps.runc.delete(record.id);
    record.container = false;
    await writeInstance(deps.paths, record);
  }
  if (record.attached) {
    await deps.cni.detach({ id: record.id, netns: netnsPath(record) }, record.network);
    record.attached = false;
    await writeInstance(deps.paths, record);
  }
  if (record.netns !== null) {
    await deps.host.deleteNetns(record.netns);
    record.netns = null;
  }
  for (const dir of record.secretMounts) await deps.host.unmount(dir);
  record.phase = "stopped";
  await writeInstance(deps.paths, record);
}

/** Halts the instance, then removes its ephemeral volumes and its directory (bundle, log, journal). */
export async function destroyInstance(deps: InstanceDeps, record: InstanceRecord, options: { drain: boolean }): Promise<void> {
  await haltInstance(deps, record, options);
  for (const dir of record.ephemeral) await rm(dir, { recursive: true, force: true });
  await rm(instanceDir(deps.paths, record.id), { recursive: true, force: true });
  await event(deps, "delete", record, "ok", {});
}

/**
 * Tears down an instance vox has no journal for (killed before its first write, or the journal lost), by the names
 * derived from its id: the runc container, the CNI attachment and published ports (DEL needs only the id), the
 * namespace, any mount under its directory, its ephemeral volumes.
 */
export async function destroyUnjournaled(deps: InstanceDeps, id: string): Promise<void> {
  const netns = netnsName(deps.paths, id);
  const attachment = { id, netns: `/var/run/netns/${netns}` };
  await deps.runc.delete(id);
  // portmap's DEL does nothing without mappings, yet removes the id's chains whatever they say: any one will do.
  await deps.cni.unpublish(attachment, null, [{ hostIP: "127.0.0.1", hostPort: 1, containerPort: 1, protocol: "tcp" }]);
  await deps.cni.detach(attachment, null);
  await deps.host.deleteNetns(netns);
  for (const mount of (await deps.host.mountsUnder(instanceDir(deps.paths, id))).reverse()) await deps.host.unmount(mount);
  await rm(join(deps.dataDir, "volumes", id.replace(/-[0-9a-f]{8}$/, ""), ".ephemeral", id), { recursive: true, force: true });
  await rm(instanceDir(deps.paths, id), { recursive: true, force: true });
}

/** The last lines the instance printed, for the report of a failed start. */
export async function logTail(paths: RunPaths, id: string): Promise<string> {
  const text = await readFile(logPath(paths, id), "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-LOG_TAIL_LINES).join("\n");
}

export function event(deps: Pick<InstanceDeps, "audit">, kind: "launch" | "healthy" | "unhealthy" | "stop" | "delete", record: InstanceRecord, outcome: "ok" | "error", detail: Record<string, unknown>): Promise<void> {
  return deps.audit.record({
    kind,
    scope: record.workload,
    reference: record.release.image,
    digest: record.release.image_digest,
    outcome,
    detail: { instance: record.id, release: record.release.seq, manifest_content_hash: record.release.manifest_content_hash, ...detail },
  });
}

function netnsPath(record: InstanceRecord): string {
  return `/var/run/netns/${record.netns ?? ""}`;
}

async function drain(deps: InstanceDeps, pid: number, ports: readonly number[]): Promise<void> {
  if (ports.length === 0) return;
  const deadline = deps.clock.now().getTime() + deps.drainMs;
  while ((await establishedConnections(pid, ports)) > 0 && deps.clock.now().getTime() < deadline) await deps.sleep(50);
}

async function stopSignal(paths: RunPaths, id: string): Promise<string> {
  const text = await readFile(join(bundleDir(paths, id), "config.json"), "utf8").catch(() => "{}");
  const signal = (JSON.parse(text) as { annotations?: Record<string, string> }).annotations?.["org.opencontainers.image.stopSignal"];
  return signal && /^(SIG)?[A-Z0-9+-]+$/.test(signal) ? signal.replace(/^SIG/, "") : "TERM";
}

/**
 * The bundle's files copied into a tmpfs of their own (never onto a disk, never into the bundle), each with the
 * manifest's mode and owned by the process's user, then the tmpfs made read-only. Only regular files are taken.
 */
async function copySecrets(deps: InstanceDeps, bundle: string, dir: string, mode: number, owner: { uid: number; gid: number }): Promise<void> {
  const source = join(deps.secretsDir, bundle);
  const stat = await lstat(source).catch(() => undefined);
  if (!stat?.isDirectory()) {
    throw new VoxError("E_RUN_SECRET", `Cannot mount the secret bundle '${bundle}': ${source} ${stat ? "is not a directory" : "does not exist"}`, {
      hint: `Create ${source}/ with one file per secret (mode 0600, owned by root); VOX_SECRETS_DIR chooses the store`,
    });
  }
  await deps.host.mountTmpfs(dir, `size=${2 * MAX_SECRET_BYTES},mode=0500,uid=${owner.uid},gid=${owner.gid},nosuid,nodev,noexec`);
  for (const name of (await readdir(source)).sort()) {
    const handle = await open(join(source, name), NOFOLLOW).catch((error: NodeJS.ErrnoException) => {
      throw new VoxError("E_RUN_SECRET", `Cannot read the secret ${bundle}/${name}: ${error.code ?? errorMessage(error)}`, { hint: `Make ${join(source, name)} a regular file root can read` });
    });
    try {
      const info = await handle.stat();
      if (!info.isFile()) continue;
      if (info.size > MAX_SECRET_BYTES) throw new VoxError("E_RUN_SECRET", `Cannot mount the secret ${bundle}/${name}: it is larger than ${MAX_SECRET_BYTES} bytes`, { hint: "Secrets are keys and passwords; keep data in a volume" });
      await writeFileAtomic(join(dir, name), await handle.readFile(), { mode, owner });
    } finally {
      await handle.close();
    }
  }
  await chmod(dir, 0o500);
  await deps.host.remountReadOnly(dir);
}

/** /etc/<name> of the image, read without following a link out of the rootfs. */
async function readImageFile(rootfs: string, name: string): Promise<string | undefined> {
  const etc = await lstat(join(rootfs, "etc")).catch(() => undefined);
  if (!etc?.isDirectory()) return undefined;
  const handle = await open(join(rootfs, "etc", name), NOFOLLOW).catch(() => undefined);
  if (!handle) return undefined;
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > MAX_SECRET_BYTES) return undefined;
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

function mib(bytes: number): string {
  return `${Math.round(bytes / (1 << 20))} MiB`;
}
