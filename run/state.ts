import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import type { PlatformManifest } from "../platform/mod.ts";
import type { CniResult, PortMapping } from "./cni.ts";

/** Where the host runner keeps everything, under `VOX_STATE_DIR/run/`. */
export interface RunPaths {
  root: string;
  /** Held by every command that changes instances. */
  lock: string;
  /** The bridge network (name, device, subnet), fixed on first use. */
  network: string;
  /** runc's `--root`: `runc list` there shows exactly our containers. */
  runcRoot: string;
  /** host-local's lease directory. */
  ipamDir: string;
  workloads: string;
  instances: string;
}

/**
 * @example
 * ```ts
 * runPaths("/home/me/.vox/state").instances; // "/home/me/.vox/state/run/instances"
 * ```
 */
export function runPaths(stateDir: string): RunPaths {
  const root = join(stateDir, "run");
  return { root, lock: join(root, "lock"), network: join(root, "network.json"), runcRoot: join(root, "runc"), ipamDir: join(root, "cni", "ipam"), workloads: join(root, "workloads"), instances: join(root, "instances") };
}

/** A Release as the runner knows it: only digests (and the log's seq when it came from a log). */
export interface ReleaseRef {
  seq: number | null;
  /** `repository@sha256:…` (a tag never reaches the runner). */
  image: string;
  image_digest: string;
  manifest_content_hash: string;
}

export type InstancePhase = "preparing" | "started" | "healthy" | "stopped";

/**
 * One instance's journal. Each host resource is written here before it is created (intent first), so whatever a
 * killed vox made is named here, and teardown (idempotent) removes exactly that.
 */
export interface InstanceRecord {
  id: string;
  workload: string;
  release: ReleaseRef;
  /** The release's normalized manifest, so the instance can be started again without its log (a failed recreate). */
  manifest: PlatformManifest;
  created: string;
  phase: InstancePhase;
  /** Named network namespace (`ip netns`), or null before it was made. */
  netns: string | null;
  /** True from just before CNI ADD until DEL succeeded. */
  attached: boolean;
  /** The bridge plugin's ADD result (address, interfaces), once known. */
  network: CniResult | null;
  /** Published ports, set just before portmap ADD. */
  published: PortMapping[] | null;
  /** True from just before `runc run`. */
  container: boolean;
  cgroupsPath: string;
  /** tmpfs mounts holding secret copies (unmounted at teardown). */
  secretMounts: string[];
  /** Ephemeral volume directories (removed with the instance). */
  ephemeral: string[];
}

/** A workload: which instance serves it, and the host ports it publishes (kept across releases). */
export interface WorkloadRecord {
  name: string;
  current: string | null;
  publish: PortMapping[];
  release: ReleaseRef | null;
}

/**
 * Eight hex digits naming this state directory in host-wide names (bridge, network, namespaces).
 *
 * @example
 * ```ts
 * stateTag(runPaths("/srv/vox/state")); // "1a2b3c4d"
 * ```
 */
export function stateTag(paths: RunPaths): string {
  return createHash("sha256").update(paths.root).digest("hex").slice(0, 8);
}

export function instanceDir(paths: RunPaths, id: string): string {
  return join(paths.instances, id);
}

/**
 * A new instance id: `<workload>-<8 hex>`, short enough for the netns and cgroup names built from it.
 *
 * @example
 * ```ts
 * newInstanceId("hello"); // "hello-3f9a0c12"
 * ```
 */
export function newInstanceId(workload: string): string {
  return `${workload.slice(0, 40)}-${createHash("sha256").update(crypto.getRandomValues(new Uint8Array(16))).digest("hex").slice(0, 8)}`;
}

export async function writeInstance(paths: RunPaths, record: InstanceRecord): Promise<void> {
  await mkdir(instanceDir(paths, record.id), { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(instanceDir(paths, record.id), "instance.json"), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

/** Every instance journal; a directory without one (killed before its first write) reads as a bare id. */
export async function listInstances(paths: RunPaths): Promise<Array<InstanceRecord | { id: string; bare: true }>> {
  const names = await readdir(paths.instances).catch(() => [] as string[]);
  const found: Array<InstanceRecord | { id: string; bare: true }> = [];
  for (const name of names.sort()) {
    const text = await readFile(join(paths.instances, name, "instance.json"), "utf8").catch(() => undefined);
    found.push(text === undefined ? { id: name, bare: true } : (parseJson(text, join(paths.instances, name, "instance.json")) as InstanceRecord));
  }
  return found;
}

export async function readWorkload(paths: RunPaths, name: string): Promise<WorkloadRecord | null> {
  const path = join(paths.workloads, `${name}.json`);
  const text = await readFile(path, "utf8").catch(() => undefined);
  return text === undefined ? null : (parseJson(text, path) as WorkloadRecord);
}

export async function listWorkloads(paths: RunPaths): Promise<WorkloadRecord[]> {
  const names = await readdir(paths.workloads).catch(() => [] as string[]);
  const records = await Promise.all(names.filter((n) => n.endsWith(".json")).sort().map((n) => readWorkload(paths, n.slice(0, -".json".length))));
  return records.filter((r): r is WorkloadRecord => r !== null);
}

/** Written beside, then renamed: the switch from one instance to the next is this one rename. */
export async function writeWorkload(paths: RunPaths, record: WorkloadRecord): Promise<void> {
  await mkdir(paths.workloads, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(paths.workloads, `${record.name}.json`), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

export async function removeWorkload(paths: RunPaths, name: string): Promise<void> {
  await rm(join(paths.workloads, `${name}.json`), { force: true });
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new VoxError("E_RUN_STATE", `Cannot read ${path}: it is not JSON`, { hint: "It was edited or damaged; remove that instance's directory after stopping its runc container by hand" });
  }
}
