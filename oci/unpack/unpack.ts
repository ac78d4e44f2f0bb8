import { constants, lstatSync, mkdirSync, readdirSync, readSync, closeSync, openSync, fstatSync, renameSync, rmSync, chmodSync, utimesSync } from "node:fs";
import { join, resolve } from "node:path";
import type { AuditSink } from "../../audit/mod.ts";
import { errorMessage, VoxError } from "../../errors/mod.ts";
import { isProcessAlive, nodeSpawner, type Spawner, writeFileAtomic } from "../../io/mod.ts";
import type { PulledImage, PulledLayer } from "../pull/mod.ts";
import { type ApplyContext, applyLayer, type Decision, Refusal } from "./apply.ts";
import { RootfsTree } from "./_rootfs.ts";
import { PendingWrites, type WriteFile } from "./_writes.ts";
import type { UnpackPolicy } from "./policy.ts";
import { runtimeConfigFromImage } from "./runtime_config.ts";

/** Steps a crash-safety test can stop the process at. */
export type UnpackCheckpoint = "layer-applied" | "rootfs-renamed";

export interface UnpackOptions {
  policy: UnpackPolicy;
  audit: AuditSink;
  /** Who runs the unpack (process.getuid()/getgid()): root keeps owners, anyone else gets them mapped. */
  uid: number;
  gid: number;
  /** Runs `mknod` for devices and FIFOs a policy allows. Default: the real spawner. */
  spawner?: Spawner;
  /** Sets an extended attribute the policy keeps. Default: lsetxattr(2) through Bun's FFI. */
  setXattr?: (path: string, name: string, value: Buffer) => Promise<void>;
  checkpoint?: (step: UnpackCheckpoint) => Promise<void>;
  /** Writes a small file in the background. Default: create, fill, chown, chmod, utimes through node:fs. */
  writeFile?: WriteFile;
}

export interface UnpackResult {
  rootfs: string;
  config: string;
  entries: number;
  bytes: number;
}

const TEMP_PREFIX = ".vox-unpack-";
const MAX_ACCOUNT_FILE = 1 << 20;

/**
 * Unpacks a verified image into an OCI runtime bundle as named steps: preflight the bundle directory → apply every
 * layer under the policy into a temporary sibling of `rootfs` → set directory modes and times → write config.json
 * beside → rename the rootfs, then config.json, into place. A refusal or crash leaves no `config.json`, so nothing
 * that looks like a finished bundle; every refusal and every change the policy made is an audit event.
 *
 * @example
 * ```ts
 * const image = await pullImage("oci:./layout:1", {}, deps);
 * await unpackImage(image, "./bundle", { policy: DEFAULT_UNPACK_POLICY, audit: nullAuditSink, uid: 0, gid: 0 });
 * ```
 */
export async function unpackImage(image: PulledImage, bundleDir: string, options: UnpackOptions): Promise<UnpackResult> {
  const bundle = resolve(bundleDir);
  const event = (kind: "materialize" | "refuse", outcome: "ok" | "refused" | "error", digest: string | null, detail: Record<string, unknown>) =>
    options.audit.record({ kind, scope: image.scope, reference: image.reference, digest, outcome, detail: { bundle, ...detail } });
  const owner = ownerMap(options);
  preflight(bundle, options);
  const tag = `${process.pid}-${[...crypto.getRandomValues(new Uint8Array(4))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  const temp = join(bundle, `${TEMP_PREFIX}${tag}.rootfs`);
  const tempConfig = join(bundle, `${TEMP_PREFIX}${tag}.config.json`);
  mkdirSync(temp, { mode: 0o700 });
  const pending: Promise<void>[] = [];
  const contained = new Set<string>();
  let current: PulledLayer | undefined;
  const context: ApplyContext = {
    policy: options.policy,
    tree: new RootfsTree(temp, {
      onContained: (path, via) => {
        if (contained.has(via) || !current) return;
        contained.add(via);
        pending.push(context.decide(current, { decision: "link-contained", path, via }));
      },
    }),
    owner,
    caller: { uid: options.uid, gid: options.gid },
    mknod: (path, node) => mknod(options.spawner ?? nodeSpawner, path, node),
    setXattr: options.setXattr ?? lsetxattr,
    decide: (layer, decision: Decision) => event("materialize", "ok", layer.digest, { layer: layer.digest, ...decision }),
    totals: { entries: 0, bytes: 0 },
    directories: new Map(),
    writes: new PendingWrites(options.writeFile),
  };
  let renamed = false;
  try {
    for (const layer of image.layers) {
      current = layer;
      await applyLayer(layer, context);
      await Promise.all(pending.splice(0));
      await options.checkpoint?.("layer-applied");
    }
    finishDirectories(context);
    const config = runtimeConfigFromImage(image.config, { rootless: options.uid !== 0, hostIds: { uid: options.uid, gid: options.gid }, ...accountFiles(context.tree) });
    await writeFileAtomic(tempConfig, `${JSON.stringify(config, null, "\t")}\n`, { mode: 0o644 });
    renameSync(temp, join(bundle, "rootfs"));
    renamed = true;
    await options.checkpoint?.("rootfs-renamed");
    // config.json last: it is what makes the directory a bundle.
    renameSync(tempConfig, join(bundle, "config.json"));
    await context.writes.close();
  } catch (error) {
    await Promise.allSettled(pending);
    await context.writes.close();
    rmSync(renamed ? join(bundle, "rootfs") : temp, { recursive: true, force: true });
    rmSync(tempConfig, { force: true });
    if (error instanceof Refusal) {
      await event("refuse", "refused", current?.digest ?? image.manifestDigest, { layer: current?.digest ?? null, rule: error.rule, path: error.path, reason: error.message });
      throw new VoxError("E_UNPACK_REFUSED", `Cannot unpack ${image.reference} into ${bundle}: ${error.message}`, {
        hint: `Nothing was left in ${bundle}. The image breaks the unpack policy (${error.rule}); use an image that does not, or${error.rule.startsWith("limits.") || ["devices", "setuid"].includes(error.rule) ? ` relax '${error.rule}' in a --policy file` : " report it to whoever publishes it: containment rules cannot be relaxed"}.`,
      });
    }
    await event("materialize", "error", image.manifestDigest, { reason: errorMessage(error) });
    throw error;
  }
  await event("materialize", "ok", image.manifestDigest, { rootfs: join(bundle, "rootfs"), entries: context.totals.entries, bytes: context.totals.bytes, layers: image.layers.length });
  return { rootfs: join(bundle, "rootfs"), config: join(bundle, "config.json"), entries: context.totals.entries, bytes: context.totals.bytes };
}

/** The bundle directory exists (created 0700 if not), holds no rootfs or config.json, and no one else can rename in it. */
function preflight(bundle: string, options: UnpackOptions): void {
  mkdirSync(bundle, { recursive: true, mode: 0o700 });
  const stat = lstatSync(bundle, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) throw new VoxError("E_BUNDLE", `Cannot unpack into ${bundle}: it is not a directory`, { hint: "Name a new or existing directory for the bundle", exitCode: 2 });
  // Another user able to rename entries here could swap our temporary rootfs for a link between two of our writes.
  if ((stat.mode & 0o022 && !(stat.mode & 0o1000)) || (stat.uid !== options.uid && stat.uid !== 0)) {
    throw new VoxError("E_BUNDLE", `Cannot unpack into ${bundle}: it is ${stat.uid !== options.uid && stat.uid !== 0 ? `owned by uid ${stat.uid}` : "writable by other users"}`, { hint: "Unpack into a directory you own that only you can write to (chmod go-w)", exitCode: 2 });
  }
  for (const name of ["rootfs", "config.json"]) {
    if (lstatSync(join(bundle, name), { throwIfNoEntry: false })) {
      throw new VoxError("E_BUNDLE", `Cannot unpack into ${bundle}: it already holds ${name}`, {
        hint: name === "rootfs" && !lstatSync(join(bundle, "config.json"), { throwIfNoEntry: false }) ? `A rootfs without config.json is an unfinished unpack; remove ${join(bundle, "rootfs")} and run again` : "Unpack into a new directory, or remove the old bundle first",
      });
    }
  }
  // What a killed unpack left (its pid gone) is ours to clear; a live one's is not.
  for (const name of readdirSync(bundle)) {
    const pid = name.startsWith(TEMP_PREFIX) ? Number(name.slice(TEMP_PREFIX.length).split("-")[0]) : NaN;
    if (Number.isInteger(pid) && pid !== process.pid && !isProcessAlive(pid)) rmSync(join(bundle, name), { recursive: true, force: true });
  }
  if (options.policy.ownership.mode === "keep" && options.uid !== 0) {
    throw new VoxError("E_UNPACK_POLICY", 'Cannot keep the image\'s owners (ownership.mode = "keep") without running as root', { hint: 'Run as root, or use ownership.mode = "auto" (owners mapped to you)', exitCode: 2 });
  }
}

function ownerMap(options: UnpackOptions): ApplyContext["owner"] {
  const ownership = options.policy.ownership;
  if (ownership.mode === "force") return () => ({ uid: ownership.uid, gid: ownership.gid });
  if (ownership.mode === "caller" || (ownership.mode === "auto" && options.uid !== 0)) return () => ({ uid: options.uid, gid: options.gid });
  return (uid, gid) => ({ uid, gid });
}

/** Directory modes and times, deepest first, so a directory closed to its owner is closed after its children are done. */
function finishDirectories(context: ApplyContext): void {
  const root = context.tree.root;
  if (!context.directories.has(root)) context.directories.set(root, { mode: 0o755, atime: Date.now() / 1000, mtime: Date.now() / 1000 });
  const paths = [...context.directories.keys()].sort((a, b) => b.split("/").length - a.split("/").length);
  for (const path of paths) {
    if (!context.tree.lstat(path)?.isDirectory()) continue;
    const { mode, atime, mtime } = context.directories.get(path)!;
    chmodSync(path, mode);
    utimesSync(path, atime, mtime);
  }
}

/** The image's /etc/passwd and /etc/group, found inside the rootfs without following links out, capped at 1 MiB. */
function accountFiles(tree: RootfsTree): { passwd?: string; group?: string } {
  const read = (name: string): string | undefined => {
    try {
      const fd = openSync(join(tree.directory(["etc"], { create: false }), name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        if (!fstatSync(fd).isFile()) return undefined;
        const buffer = Buffer.alloc(MAX_ACCOUNT_FILE);
        const length = readSync(fd, buffer, 0, buffer.length, 0);
        return buffer.subarray(0, length).toString("utf8");
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
  };
  return { passwd: read("passwd"), group: read("group") };
}

async function mknod(spawner: Spawner, path: string, node: { type: "char" | "block" | "fifo"; mode: number; major: number; minor: number }): Promise<void> {
  const kind = { char: "c", block: "b", fifo: "p" }[node.type];
  const argv = ["mknod", "-m", (node.mode & 0o7777).toString(8), path, kind, ...(node.type === "fifo" ? [] : [String(node.major), String(node.minor)])];
  const result = await spawner.run(argv);
  if (result.code !== 0) throw new VoxError("E_UNPACK_DEVICE", `Cannot create the ${node.type} ${path}: ${result.stderr.trim() || `mknod exited with ${result.code}`}`, { hint: 'Devices need root; use devices = "skip" in the policy to leave them out' });
}

/** The part of bun:ffi used here. */
interface BunFfi {
  dlopen(library: string, symbols: Record<string, { args: unknown[]; returns: unknown }>): { symbols: Record<string, (...args: unknown[]) => number>; close(): void };
  FFIType: Record<"cstring" | "ptr" | "u64" | "i32", unknown>;
  ptr(data: Uint8Array): unknown;
}

/** lsetxattr(2) through Bun's FFI: Node's fs has no extended-attribute calls. */
async function lsetxattr(path: string, name: string, value: Buffer): Promise<void> {
  // A variable specifier: Node (the test runner) has no bun:ffi, and TypeScript has no types for it here.
  const specifier = "bun:ffi";
  const ffi = (await import(specifier).catch(() => undefined)) as BunFfi | undefined;
  if (!ffi) throw new VoxError("E_UNPACK_XATTR", `Cannot set the extended attribute ${name} on ${path}: this runtime has no FFI`, { hint: "Run vox as its compiled executable (Bun), or leave the attribute out of the policy's xattrs" });
  const libc = ffi.dlopen("libc.so.6", { lsetxattr: { args: [ffi.FFIType.cstring, ffi.FFIType.cstring, ffi.FFIType.ptr, ffi.FFIType.u64, ffi.FFIType.i32], returns: ffi.FFIType.i32 } });
  try {
    const data = value.length > 0 ? value : Buffer.alloc(1);
    const status = libc.symbols.lsetxattr!(Buffer.from(`${path}\0`), Buffer.from(`${name}\0`), ffi.ptr(data), value.length, 0);
    if (status !== 0) throw new VoxError("E_UNPACK_XATTR", `Cannot set the extended attribute ${name} on ${path}: lsetxattr failed`, { hint: "The file system may not support it, or it needs privilege (security.*, trusted.*); drop it from the policy's xattrs" });
  } finally {
    libc.close();
  }
}
