import { mkdir } from "node:fs/promises";
import { VoxError } from "../errors/mod.ts";
import { acquireFileLock, isProcessAlive } from "../io/mod.ts";
import type { PulledImage } from "../oci/pull/mod.ts";
import type { PlatformManifest } from "../platform/mod.ts";
import { instanceAddress, type PortMapping } from "./cni.ts";
import { checkHealth, createInstance, destroyInstance, destroyUnjournaled, event, haltInstance, type InstanceDeps, logTail, publishInstance, startInstance } from "./instance.ts";
import { checked } from "./release_source.ts";
import { oomKills } from "./runc.ts";
import { type InstanceRecord, listInstances, listWorkloads, readWorkload, type ReleaseRef, removeWorkload, writeInstance, writeWorkload } from "./state.ts";

/** Steps of `vox deploy run` between which a crash is survivable; the tests SIGKILL the process at each. */
export const RUN_CHECKPOINTS = ["pulled", "unpacked", "networked", "launched", "healthy", "published", "recorded", "retired"] as const;
export type RunCheckpoint = (typeof RUN_CHECKPOINTS)[number];

export interface RunDeps extends InstanceDeps {
  /** Verified pull of the release's image into the workload's cache scope. */
  pull: (release: ReleaseRef, scope: string) => Promise<PulledImage>;
  /** Progress lines (stderr). */
  log: (line: string) => void;
  checkpoint: (step: RunCheckpoint) => Promise<void>;
  /** Removes the bridge device once no workload is left. */
  bridge: string;
  lockWaitMs: number;
}

export interface RunRequest {
  release: ReleaseRef;
  manifest: PlatformManifest;
  /** Workload name; default the manifest's. */
  name?: string;
  /** Host address the public ports are published on. Default: the workload's, else 127.0.0.1. */
  publishAddress?: string;
  /** Host port per container port. Default: the workload's, else the same number. */
  hostPorts?: ReadonlyMap<number, number>;
}

export interface RunReport {
  status: "started" | "replaced" | "unchanged";
  workload: string;
  instance: string;
  release: ReleaseRef;
  address: string;
  published: PortMapping[];
  strategy: "rolling" | "recreate";
  /** The instance it replaced, if any. */
  replaced: string | null;
  health: string;
}

/**
 * `vox deploy run`, as named steps under the run lock: clean up what a killed run left → check the manifest against
 * the tuple → verified pull into the workload's scope → unpack and configure a new instance → network and launch
 * → wait until healthy → publish its ports (after the old instance's DNAT rules, which keep matching first) →
 * record it as the workload's instance (one rename) → unpublish, drain and remove the old one. `recreate` (or a
 * rolling update that may not surge) stops the old instance before launching and brings it back if the new one
 * never becomes healthy. A new instance that fails is torn down; the old one keeps serving.
 */
export async function runRelease(request: RunRequest, deps: RunDeps): Promise<RunReport> {
  const { release, manifest } = checked(request.release, request.manifest);
  const name = request.name ?? manifest.name;
  if (manifest.rollout.instances !== 1) {
    throw new VoxError("E_RUN_INSTANCES", `Cannot run ${name} with ${manifest.rollout.instances} instances: vox deploy run keeps one instance per workload on this host`, {
      hint: "Set [rollout] instances = 1, or hand the Release to a control plane (vox deploy emit --target kubernetes)",
    });
  }
  return withRunLock(deps, async () => {
    await reconcile(deps);
    const workload = await readWorkload(deps.paths, name);
    const old = workload?.current ? await currentInstance(deps, workload.current) : null;
    if (old && sameTuple(old.release, release) && (await stillHealthy(deps, old, manifest))) {
      return report("unchanged", name, old, old.published ?? [], "rolling", null, "healthy (already running this release)");
    }
    const mappings = publishMappings(manifest, workload?.publish ?? [], request);
    const strategy = manifest.rollout.strategy === "rolling" && manifest.rollout.max_surge > 0 ? "rolling" : "recreate";
    const image = await deps.pull(release, name);
    await deps.checkpoint("pulled");
    if (old && strategy === "recreate") {
      deps.log(`stopping ${old.id} first (${manifest.rollout.strategy === "recreate" ? "strategy recreate" : "max_surge = 0"})`);
      await haltInstance(deps, old, { drain: true });
    }
    const fresh = await createInstance(deps, name, release, manifest, image, deps.checkpoint);
    const started = await launch(deps, fresh, manifest);
    if (!started.healthy) {
      const returned = old && strategy === "recreate" ? await bringBack(deps, old, mappings) : null;
      if (!workload) await reconcile(deps);
      throw new VoxError("E_RUN_UNHEALTHY", `Cannot run release ${release.seq ?? release.image} of ${name}: it did not become healthy (${started.reason})${started.last ? `; last check: ${started.last}` : ""}${started.tail ? `\n--- last lines of its output ---\n${started.tail}` : ""}`, {
        hint: old ? (strategy === "rolling" ? `${old.id} (release ${old.release.seq ?? old.release.image}) keeps serving; nothing was switched` : returned ?? `${old.id} could not be brought back; run vox deploy run --release ${old.release.seq ?? "<seq>"}`) : "Nothing is left running; fix the release (vox deploy logs shows nothing once torn down: the output is above)",
      });
    }
    await deps.checkpoint("healthy");
    await publishInstance(deps, fresh, mappings);
    await deps.checkpoint("published");
    await writeWorkload(deps.paths, { name, current: fresh.id, publish: mappings, release });
    await deps.checkpoint("recorded");
    if (old) await destroyInstance(deps, old, { drain: true });
    await deps.checkpoint("retired");
    return report(old ? "replaced" : "started", name, fresh, mappings, strategy, old?.id ?? null, started.detail);
  });
}

/** Network, launch, health; a failure tears the instance down and says why, with the tail of its output. */
async function launch(deps: RunDeps, record: InstanceRecord, manifest: PlatformManifest): Promise<{ healthy: true; detail: string } | { healthy: false; reason: string; last: string | null; tail: string }> {
  try {
    await startInstance(deps, record, manifest, deps.checkpoint);
    const verdict = await checkHealth(deps, record, manifest);
    if (verdict.healthy) {
      record.phase = "healthy";
      await writeInstance(deps.paths, record);
      await event(deps, "healthy", record, "ok", { probes: verdict.probes, check: verdict.last.detail });
      return { healthy: true, detail: verdict.last.detail };
    }
    await event(deps, "unhealthy", record, "error", { probes: verdict.probes, reason: verdict.reason, check: verdict.last?.detail ?? null });
    const tail = await logTail(deps.paths, record.id);
    await destroyInstance(deps, record, { drain: false });
    return { healthy: false, reason: verdict.reason, last: verdict.last?.detail ?? null, tail };
  } catch (error) {
    const tail = await logTail(deps.paths, record.id);
    await destroyInstance(deps, record, { drain: false });
    if (error instanceof VoxError && tail) throw new VoxError(error.code, `${error.message}\n--- last lines of its output ---\n${tail}`, { ...(error.hint ? { hint: error.hint } : {}), exitCode: error.exitCode });
    throw error;
  }
}

/** After a failed recreate: the old instance, halted but kept, started and published again. */
async function bringBack(deps: RunDeps, old: InstanceRecord, mappings: readonly PortMapping[]): Promise<string | null> {
  const again = await launch(deps, old, old.manifest);
  if (!again.healthy) return null;
  await publishInstance(deps, old, mappings);
  return `returned to ${old.id} (release ${old.release.seq ?? old.release.image}), which serves again`;
}

/**
 * What a killed vox left, recognised and removed: every instance that is not a workload's current one is destroyed
 * (its journal names each resource it made); an instance directory without a journal, or a runc container in our
 * root without a directory, is torn down by the names vox derives from its id; an idle bridge is deleted.
 */
export async function reconcile(deps: RunDeps): Promise<string[]> {
  const workloads = await listWorkloads(deps.paths);
  const current = new Set(workloads.map((w) => w.current).filter((id): id is string => id !== null));
  const removed: string[] = [];
  const journals = await listInstances(deps.paths);
  for (const found of journals) {
    if (current.has(found.id)) continue;
    deps.log(`cleaning up ${found.id}, left by an interrupted vox`);
    if ("bare" in found) await destroyUnjournaled(deps, found.id);
    else await destroyInstance(deps, found, { drain: false });
    removed.push(found.id);
  }
  const known = new Set(journals.map((j) => j.id));
  for (const container of await deps.runc.list()) {
    if (known.has(container.id)) continue;
    deps.log(`cleaning up the container ${container.id}, which no instance journal names`);
    await destroyUnjournaled(deps, container.id);
    removed.push(container.id);
  }
  if (workloads.length === 0) await deps.host.deleteBridge(deps.bridge);
  return removed;
}

/** `vox deploy stop`: the workload's instance halted (ports, process, network), its bundle and volumes kept. */
export function stopWorkload(name: string, deps: RunDeps): Promise<InstanceRecord | null> {
  return onWorkload(name, deps, (record) => haltInstance(deps, record, { drain: true }));
}

/** `vox deploy rm`: the instance destroyed (bundle, ephemeral volumes) and the workload forgotten; the cache and persistent volumes stay. */
export function removeWorkloadRun(name: string, deps: RunDeps): Promise<InstanceRecord | null> {
  return onWorkload(name, deps, (record) => destroyInstance(deps, record, { drain: true }), async () => {
    await removeWorkload(deps.paths, name);
    await reconcile(deps);
  });
}

/** Under the run lock, after clean-up: `act` on the workload's instance (if it has one), then `after`. */
async function onWorkload(name: string, deps: RunDeps, act: (record: InstanceRecord) => Promise<void>, after?: () => Promise<void>): Promise<InstanceRecord | null> {
  return withRunLock(deps, async () => {
    await reconcile(deps);
    const workload = await requireWorkload(deps, name);
    const record = workload.current ? await currentInstance(deps, workload.current) : null;
    if (record) await act(record);
    await after?.();
    return record;
  });
}

/** One row of `vox deploy ps`. */
export interface WorkloadStatus {
  workload: string;
  instance: string | null;
  release: ReleaseRef | null;
  /** runc's view: running, stopped, …; "absent" when there is no container (stopped by vox deploy stop). */
  state: string;
  phase: string | null;
  address: string | null;
  published: PortMapping[];
  oom_kills: number;
}

export async function workloadStatus(deps: Pick<RunDeps, "paths" | "runc">): Promise<WorkloadStatus[]> {
  const rows: WorkloadStatus[] = [];
  for (const workload of await listWorkloads(deps.paths)) {
    const record = workload.current ? await currentInstance(deps, workload.current).catch(() => null) : null;
    const state = record ? await deps.runc.state(record.id) : null;
    rows.push({
      workload: workload.name,
      instance: record?.id ?? null,
      release: record?.release ?? workload.release,
      state: state?.status ?? "absent",
      phase: record?.phase ?? null,
      address: record?.network ? instanceAddress(record.network) : null,
      published: record?.published ?? [],
      oom_kills: record ? await oomKills(record.cgroupsPath) : 0,
    });
  }
  return rows;
}

async function currentInstance(deps: Pick<RunDeps, "paths">, id: string): Promise<InstanceRecord | null> {
  const found = (await listInstances(deps.paths)).find((j) => j.id === id);
  return found && !("bare" in found) ? found : null;
}

async function requireWorkload(deps: RunDeps, name: string) {
  const workload = await readWorkload(deps.paths, name);
  if (!workload) throw new VoxError("E_RUN_UNKNOWN", `Cannot find the workload '${name}' on this host`, { hint: "vox deploy ps lists the workloads vox runs here" });
  return workload;
}

/** Running, and its check passes once now (the check alone, without retries: it was healthy before). */
async function stillHealthy(deps: RunDeps, record: InstanceRecord, manifest: PlatformManifest): Promise<boolean> {
  if (record.phase !== "healthy") return false;
  const verdict = await checkHealth(deps, record, { ...manifest, health: manifest.health && { ...manifest.health, retries: 1, start_period_ms: 0 } });
  return verdict.healthy;
}

function sameTuple(a: ReleaseRef, b: ReleaseRef): boolean {
  return a.image_digest === b.image_digest && a.manifest_content_hash === b.manifest_content_hash;
}

/** The manifest's public ports, each on the host port asked for, else the workload's earlier one, else its own number. */
export function publishMappings(manifest: PlatformManifest, earlier: readonly PortMapping[], request: Pick<RunRequest, "publishAddress" | "hostPorts">): PortMapping[] {
  return manifest.ports
    .filter((p) => p.exposure === "public")
    .map((p) => {
      const before = earlier.find((m) => m.containerPort === p.port && m.protocol === p.protocol);
      return {
        hostIP: request.publishAddress ?? before?.hostIP ?? "127.0.0.1",
        hostPort: request.hostPorts?.get(p.port) ?? before?.hostPort ?? p.port,
        containerPort: p.port,
        protocol: p.protocol,
      };
    });
}

function report(status: RunReport["status"], workload: string, record: InstanceRecord, published: PortMapping[], strategy: RunReport["strategy"], replaced: string | null, health: string): RunReport {
  return { status, workload, instance: record.id, release: record.release, address: record.network ? instanceAddress(record.network) : "", published, strategy, replaced, health };
}

async function withRunLock<T>(deps: RunDeps, body: () => Promise<T>): Promise<T> {
  await mkdir(deps.paths.root, { recursive: true, mode: 0o700 });
  const lock = await acquireFileLock(deps.paths.lock, {
    waitMs: deps.lockWaitMs,
    sleep: deps.sleep,
    isAlive: isProcessAlive,
    purpose: "change the instances on this host",
    hint: "Another vox deploy run/stop/rm is working; wait for it. A lock left by a killed vox is taken over automatically.",
  });
  try {
    return await body();
  } finally {
    await lock.release();
  }
}
