import { linkSync, lchownSync, lutimesSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream";
import * as zlib from "node:zlib";
import type { PulledLayer } from "../pull/mod.ts";
import { MediaType } from "../media_types.ts";
import { ContainmentError, type RootfsTree } from "./_rootfs.ts";
import { type TarHeader, TarFormatError, TarReader } from "./_tar.ts";
import { type PendingWrites, SMALL_FILE, writeRegularFile } from "./_writes.ts";
import { RATIO_FLOOR, type UnpackPolicy } from "./policy.ts";

/** A policy or containment rule an entry broke; the unpack stops and nothing is left that looks finished. */
export class Refusal extends Error {
  constructor(
    readonly rule: string,
    readonly path: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** A decision that changed what the image asked for (an audit event of kind `materialize`). */
export interface Decision {
  decision: "setuid-stripped" | "device-skipped" | "xattrs-dropped" | "ownership-mapped" | "link-contained" | "aufs-metadata-skipped";
  path?: string;
  [detail: string]: unknown;
}

/** The owner an entry gets: the image's ids, or the ids the policy puts in their place. */
export type OwnerMap = (uid: number, gid: number) => { uid: number; gid: number };

/** The seams and shared state of one unpack, across its layers. */
export interface ApplyContext {
  policy: UnpackPolicy;
  tree: RootfsTree;
  owner: OwnerMap;
  /** Who runs the unpack: what it creates is theirs already, so only other owners need a chown. */
  caller: { uid: number; gid: number };
  /** Creates a device or FIFO node (mknod needs privilege Node does not expose). */
  mknod(path: string, node: { type: "char" | "block" | "fifo"; mode: number; major: number; minor: number }): Promise<void>;
  /** Sets one extended attribute on `path` itself (never following a link). */
  setXattr(path: string, name: string, value: Buffer): Promise<void>;
  decide(layer: PulledLayer, decision: Decision): Promise<void>;
  totals: { entries: number; bytes: number };
  /** Directory modes and times, applied once every layer is in (a read-only directory must stay writable until then). */
  directories: Map<string, { mode: number; atime: number; mtime: number }>;
  /** Small files still being written; settled before anything that could touch their paths. */
  writes: PendingWrites;
}

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";
const MAX_METADATA = 1 << 20;
const SET_ID_BITS = 0o6000;

/**
 * Applies one layer to the rootfs in `context.tree`: decompresses while checking the compression ratio and applies
 * each entry (whiteouts per the OCI image spec) under the policy. Throws a Refusal for anything the policy or
 * containment forbids. The layer's diff_id was checked when it was pulled, and `layer.open()` re-checks its digest
 * as it streams (a changed blob fails the layer at its end), so the same bytes are not hashed a third time here.
 *
 * @example
 * ```ts
 * for (const layer of image.layers) await applyLayer(layer, context);
 * ```
 */
export async function applyLayer(layer: PulledLayer, context: ApplyContext): Promise<void> {
  const stream = uncompressed(layer, context.policy);
  const tar = new TarReader(stream.chunks[Symbol.asyncIterator](), { maxMetadata: MAX_METADATA });
  const upper = new Set<string>([context.tree.root]);
  const owners = { mapped: 0, to: "" };
  try {
    for (let header = await tar.next(); header; header = await tar.next()) {
      if (++context.totals.entries > context.policy.limits.entries) throw new Refusal("limits.entries", header.name, `the image has more than ${context.policy.limits.entries} entries (limits.entries)`);
      await applyEntry(header, tar, layer, context, upper, owners);
    }
    await tar.drain();
    await context.writes.settle();
  } catch (error) {
    // Nothing may still be writing when the caller removes the rootfs.
    await context.writes.settle().catch(() => {});
    if (error instanceof TarFormatError) throw new Refusal("tar-format", null, `the layer is not a well-formed tar archive: ${error.message}`);
    throw error;
  }
  if (owners.mapped > 0) await context.decide(layer, { decision: "ownership-mapped", entries: owners.mapped, to: owners.to });
}

/** The layer's uncompressed bytes, with the ratio checked as they come. */
function uncompressed(layer: PulledLayer, policy: UnpackPolicy): { chunks: AsyncIterable<Uint8Array> } {
  let compressed = 0;
  let inflated = 0;
  const inflate = decompressor(layer);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const source = Readable.fromWeb((await layer.open()) as import("node:stream/web").ReadableStream<Uint8Array>);
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        compressed += chunk.length;
        done(null, chunk);
      },
    });
    const output: Readable = inflate ? pipeline(source, counter, inflate, () => {}) : pipeline(source, counter, () => {});
    try {
      for await (const chunk of output as AsyncIterable<Buffer>) {
        inflated += chunk.length;
        // The ratio is judged on what has been read so far, so a bomb stops within one chunk of the limit.
        if (inflate && inflated > RATIO_FLOOR && inflated > compressed * policy.limits.compressionRatio) {
          throw new Refusal("limits.compression_ratio", null, `layer ${layer.digest} inflates more than ${policy.limits.compressionRatio}:1 (${inflated} bytes from ${compressed}; limits.compression_ratio); stopped there`);
        }
        yield chunk;
      }
    } finally {
      output.destroy();
    }
  }
  return { chunks: chunks() };
}

/** gzip and zstd (where node:zlib has it, as Bun's does) are decompressed; a plain tar passes through. */
function decompressor(layer: PulledLayer): Transform | undefined {
  if (layer.mediaType === MediaType.ociLayerGzip || layer.mediaType === MediaType.dockerLayerGzip) return zlib.createGunzip({ chunkSize: 1 << 18 });
  if (layer.mediaType === MediaType.ociLayer) return undefined;
  const zstd = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (layer.mediaType === MediaType.ociLayerZstd && zstd) return zstd();
  throw new Refusal("media-type", null, `layer ${layer.digest} has media type ${layer.mediaType}, which this vox cannot unpack (gzip${zstd ? ", zstd" : ""} or plain tar layers)`);
}

async function applyEntry(header: TarHeader, tar: TarReader, layer: PulledLayer, context: ApplyContext, upper: Set<string>, owners: { mapped: number; to: string }): Promise<void> {
  const { policy, tree } = context;
  const components = checkedName(header.name, policy, "entry");
  const base = components.at(-1);
  if (base === undefined) return applyRoot(header, context);
  const parentComponents = components.slice(0, -1);
  const name = components.join("/");

  // Only new files and directories under a parent already resolved can go ahead of the writes in flight.
  if (base.startsWith(WHITEOUT) || (header.type !== "file" && header.type !== "dir") || !tree.resolved(parentComponents)) await context.writes.settle();
  if (base.startsWith(WHITEOUT)) return whiteout(base, parentComponents, name, layer, context, upper);

  const parent = resolve(() => tree.directory(parentComponents, { create: true, created: (host) => void upper.add(host) }), name);
  const path = join(parent, base);
  const owner = chownTo(header, context);
  const ids = owner ?? context.caller;
  if (ids.uid !== header.uid || ids.gid !== header.gid) {
    owners.mapped++;
    owners.to = `${ids.uid}:${ids.gid}`;
  }

  let hardlinkTarget: string | undefined;
  if (header.type === "hardlink") hardlinkTarget = hardlinkSource(header, path, name, context);
  let mode = header.mode;
  if (header.type === "file" && mode & SET_ID_BITS) {
    if (policy.setuid === "refuse") throw new Refusal("setuid", name, `entry '${name}' has mode ${octal(mode)} (setuid/setgid) and the policy says setuid = "refuse"`);
    if (policy.setuid === "strip") {
      await context.decide(layer, { decision: "setuid-stripped", path: name, from: octal(mode), to: octal(mode & ~SET_ID_BITS) });
      mode &= ~SET_ID_BITS;
    }
  }
  if (header.type === "char" || header.type === "block" || header.type === "fifo") {
    if (policy.devices === "refuse") throw new Refusal("devices", name, `entry '${name}' is a ${describe(header.type)} and the policy says devices = "refuse"`);
    if (policy.devices === "skip") return context.decide(layer, { decision: "device-skipped", path: name, type: header.type, major: header.devmajor, minor: header.devminor });
  }
  if (header.type === "file") {
    if (header.size > policy.limits.fileSize) throw new Refusal("limits.file_size", name, `entry '${name}' is ${header.size} bytes, over limits.file_size (${policy.limits.fileSize})`);
    if (context.totals.bytes + header.size > policy.limits.totalSize) throw new Refusal("limits.total_size", name, `the image holds more than ${policy.limits.totalSize} bytes of files (limits.total_size), reached at '${name}'`);
    context.totals.bytes += header.size;
  }

  if (context.writes.has(path)) await context.writes.settle();
  // Whatever is there goes, unless a directory meets a directory: the new entry never writes through the old one.
  const existing = tree.lstat(path);
  if (existing && !(existing.isDirectory() && header.type === "dir")) {
    await context.writes.settle();
    tree.remove(path);
  }

  tree.created(path);
  switch (header.type) {
    case "dir":
      if (!existing?.isDirectory()) mkdirSync(path, { mode: 0o700 });
      if (owner) lchownSync(path, owner.uid, owner.gid);
      context.directories.set(path, { mode, atime: header.atime ?? header.mtime, mtime: header.mtime });
      break;
    case "file": {
      const file = { path, mode, owner, atime: header.atime ?? header.mtime, mtime: header.mtime };
      if (header.size > SMALL_FILE || header.xattrs.size > 0) await writeRegularFile(file, tar.body());
      else await context.writes.write(file, await readWhole(tar, header.size));
      break;
    }
    case "symlink":
      if (header.linkname === "") throw new Refusal("symlink", name, `entry '${name}' is a symbolic link with an empty target`);
      symlinkSync(header.linkname, path);
      tree.invalidate();
      if (owner) lchownSync(path, owner.uid, owner.gid);
      lutimesSync(path, header.atime ?? header.mtime, header.mtime);
      break;
    case "hardlink":
      linkSync(hardlinkTarget!, path);
      break;
    default:
      await context.mknod(path, { type: header.type, mode, major: header.devmajor, minor: header.devminor });
      if (owner) lchownSync(path, owner.uid, owner.gid);
      lutimesSync(path, header.atime ?? header.mtime, header.mtime);
  }
  if (header.type !== "hardlink") await applyXattrs(header, path, name, layer, context);
  for (let ancestor = path; ancestor.length > tree.root.length; ancestor = ancestor.slice(0, ancestor.lastIndexOf("/"))) upper.add(ancestor);
}

/** The rootfs itself (`./` in most layers): only its metadata may change; it can never become a link. */
async function applyRoot(header: TarHeader, context: ApplyContext): Promise<void> {
  if (header.type !== "dir") throw new Refusal("root-type", ".", `the layer turns the rootfs itself into a ${describe(header.type)}`);
  const owner = chownTo(header, context);
  if (owner) lchownSync(context.tree.root, owner.uid, owner.gid);
  context.directories.set(context.tree.root, { mode: header.mode, atime: header.atime ?? header.mtime, mtime: header.mtime });
}

/** A small file's body, copied out of the decompressor's buffers (the write outlives them). */
async function readWhole(tar: TarReader, size: number): Promise<Uint8Array> {
  const body = new Uint8Array(size);
  let filled = 0;
  for await (const chunk of tar.body()) {
    body.set(chunk, filled);
    filled += chunk.length;
  }
  return filled === size ? body : body.subarray(0, filled);
}

/** The host path a hard link points at: inside the rootfs, already extracted, not a directory, not itself. */
function hardlinkSource(header: TarHeader, path: string, name: string, context: ApplyContext): string {
  const components = checkedName(header.linkname, context.policy, "hard link target");
  if (components.length === 0) throw new Refusal("hardlink", name, `entry '${name}' is a hard link to the rootfs itself`);
  const parent = resolve(() => context.tree.directory(components.slice(0, -1), { create: false }), name, `hard link '${name}' -> '${header.linkname}'`);
  const target = join(parent, components.at(-1)!);
  const stat = context.tree.lstat(target);
  if (!stat) throw new Refusal("hardlink", name, `entry '${name}' is a hard link to '${header.linkname}', which is not (yet) in the rootfs`);
  if (stat.isDirectory()) throw new Refusal("hardlink", name, `entry '${name}' is a hard link to the directory '${header.linkname}'`);
  if (target === path) throw new Refusal("hardlink", name, `entry '${name}' is a hard link to itself`);
  return target;
}

/**
 * `.wh.<name>` removes `<name>` from the layers below; `.wh..wh..opq` empties its directory of them. What this layer
 * itself added (tracked in `upper`) stays, wherever the whiteout comes in the archive (OCI image spec, "Whiteouts").
 */
async function whiteout(base: string, parentComponents: string[], name: string, layer: PulledLayer, context: ApplyContext, upper: Set<string>): Promise<void> {
  const { tree } = context;
  const opaque = base === OPAQUE;
  if (!opaque && base.startsWith(`${WHITEOUT}${WHITEOUT}`)) return context.decide(layer, { decision: "aufs-metadata-skipped", path: name });
  const hidden = base.slice(WHITEOUT.length);
  if (!opaque && (hidden === "" || hidden === "." || hidden === "..")) throw new Refusal("whiteout", name, `whiteout '${name}' names '${hidden || "(nothing)"}', which is not an entry of its directory`);
  let directory: string;
  try {
    directory = tree.directory(parentComponents, { create: false });
  } catch (error) {
    if (error instanceof ContainmentError && error.rule !== "symlink-loop") return;
    throw containmentRefusal(error, name);
  }
  const target = opaque ? directory : join(directory, hidden);
  const stat = tree.lstat(target);
  if (!stat) return;
  const prune = (path: string, keepSelf: boolean) => {
    if (!upper.has(path) && !keepSelf) return tree.remove(path);
    if (tree.lstat(path)?.isDirectory()) for (const child of readdirSync(path)) prune(join(path, child), false);
  };
  prune(target, opaque);
}

async function applyXattrs(header: TarHeader, path: string, name: string, layer: PulledLayer, context: ApplyContext): Promise<void> {
  if (header.xattrs.size === 0) return;
  const dropped: string[] = [];
  for (const [attribute, value] of header.xattrs) {
    if (xattrAllowed(attribute, context.policy.xattrs)) await context.setXattr(path, attribute, value);
    else dropped.push(attribute);
  }
  if (dropped.length > 0) await context.decide(layer, { decision: "xattrs-dropped", path: name, xattrs: dropped });
}

/** Whether the policy lists `attribute` by name or by its `namespace.*` pattern. */
export function xattrAllowed(attribute: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) => (entry.endsWith(".*") ? attribute.startsWith(entry.slice(0, -1)) : entry === attribute));
}

/**
 * An entry name as components, refused when it could leave the rootfs or breaks a limit: absolute names, `..`
 * anywhere, too long or too deep. `./` prefixes and doubled slashes are harmless and dropped.
 */
function checkedName(name: string, policy: UnpackPolicy, what: string): string[] {
  if (name.startsWith("/")) throw new Refusal("absolute-path", name, `${what} '${name}' has an absolute path`);
  if (Buffer.byteLength(name) > policy.limits.pathLength) throw new Refusal("limits.path_length", name, `${what} '${name.slice(0, 80)}…' is ${Buffer.byteLength(name)} bytes long, over limits.path_length (${policy.limits.pathLength})`);
  const components = name.split("/").filter((part) => part !== "" && part !== ".");
  if (components.includes("..")) throw new Refusal("dot-dot", name, `${what} '${name}' contains '..'`);
  if (components.length > policy.limits.depth) throw new Refusal("limits.depth", name, `${what} '${name.slice(0, 80)}…' is ${components.length} directories deep, over limits.depth (${policy.limits.depth})`);
  return components;
}

/** The owner to give an entry, or undefined when what we create (owned by the caller) already has it. */
function chownTo(header: TarHeader, context: ApplyContext): { uid: number; gid: number } | undefined {
  const ids = context.owner(header.uid, header.gid);
  return ids.uid === context.caller.uid && ids.gid === context.caller.gid ? undefined : ids;
}

function resolve(lookup: () => string, name: string, what = `entry '${name}'`): string {
  try {
    return lookup();
  } catch (error) {
    throw containmentRefusal(error, name, what);
  }
}

function containmentRefusal(error: unknown, name: string, what = `entry '${name}'`): unknown {
  if (!(error instanceof ContainmentError)) return error;
  return new Refusal(error.rule === "symlink-loop" ? "symlink-loop" : "parent", name, `${what}: ${error.message}`);
}

function describe(type: TarHeader["type"]): string {
  return { char: "character device", block: "block device", fifo: "FIFO", file: "regular file", dir: "directory", symlink: "symbolic link", hardlink: "hard link" }[type];
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}
