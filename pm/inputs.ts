// The input file sets of `[[deploy.copy]]`: what each entry puts where in the image, and one content hash per
// entry that vox.lock records. Owns the walk (sorted, symlinks kept as links, nothing outside the project) and
// the canonical listing the hash is taken over.

import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, readdir, readlink, realpath } from "node:fs/promises";
import { basename, dirname, join, posix, relative, sep } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { mapLimit } from "../io/mod.ts";
import type { Digest } from "../oci/digest.ts";
import { LOCK_FILE } from "./lock.ts";

/** One entry of an input set, as it will appear in the image. */
export interface InputFile {
  /** Destination path inside the image, without a leading slash (`app/server.js`). */
  path: string;
  type: "file" | "directory" | "symlink";
  /** Normalised: files 0o755 when any exec bit is set else 0o644 (or the copy entry's `mode`), dirs 0o755, links 0o777. */
  mode: number;
  /** Bytes of a file; 0 for directories and links. */
  size: number;
  /** Lowercase hex sha256 of a file's content. */
  sha256?: string;
  /** A link's target text, as stored (never followed). */
  linkTarget?: string;
  /** Absolute host path it was read from. */
  source: string;
}

/** What a `[[deploy.copy]]` entry needs here; a validated `DeployCopy` fits. */
export interface CopyEntry {
  from: string;
  to: string;
  mode?: number;
  platform?: string;
}

/** The files of one copy entry and their hash, in Vox.toml order. */
export interface InputSet {
  from: string;
  to: string;
  platform?: string;
  files: InputFile[];
  /** `sha256:` over the canonical listing; see `inputSetHash`. */
  hash: Digest;
}

export interface CollectInputsOptions {
  /** Files read at once; default 16 (enough to keep the disk and the thread pool busy without hoarding memory). */
  concurrency?: number;
}

/** Bytes read per call when hashing; large files stream through this, small ones take one read. */
const CHUNK = 1 << 20;
/** Never follow a link that replaced a file between the walk and the read, and never block on a FIFO. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const HASH_FORMAT = "vox.inputs/1";

/**
 * Walks every copy entry's `from` under `root` and hashes what it finds. A directory's contents go under `to`; a
 * file goes to `to`, or inside it when `to` ends with `/`. Names are sorted by bytes; symlinks are recorded,
 * not followed; a `from` reached through a symlink that leaves `root`, and fifos, sockets and devices, are refused.
 * Parent directories of `to` are not listed: the layer writer creates them.
 *
 * @example
 * ```ts
 * const [app] = await collectInputs("/src/project", [{ from: "dist", to: "/app" }]);
 * app.files.map((f) => f.path); // ["app/index.js", "app/lib", "app/lib/util.js"]
 * app.hash; // "sha256:…"
 * ```
 */
export async function collectInputs(root: string, copies: readonly CopyEntry[], options: CollectInputsOptions = {}): Promise<InputSet[]> {
  const realRoot = await realProjectRoot(root);
  const walked: PendingEntry[][] = [];
  for (const copy of copies) walked.push(await walkCopy(realRoot, copy));
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const files = await mapLimit(walked.flat(), concurrency, describeEntry);
  let next = 0;
  return copies.map((copy, i) => {
    const entryFiles = files.slice(next, next + walked[i]!.length);
    next += walked[i]!.length;
    return { from: copy.from, to: copy.to, ...(copy.platform === undefined ? {} : { platform: copy.platform }), files: entryFiles, hash: inputSetHash(entryFiles) };
  });
}

/**
 * The hash of an input set: sha256 over one JSON line per entry, `[type, octal mode, size, content sha256 or link
 * target, destination path]`, in walk order. It changes with any byte, name, mode or membership, and ignores what
 * is not copied into the image: mtimes, owners, umask beyond the exec bit and where the project is checked out.
 *
 * @example
 * ```ts
 * inputSetHash([]); // "sha256:…" (the empty set has a hash too)
 * ```
 */
export function inputSetHash(files: readonly InputFile[]): Digest {
  const hash = createHash("sha256").update(`${HASH_FORMAT}\n`);
  for (const file of files) {
    const content = file.type === "file" ? file.sha256 : file.type === "symlink" ? file.linkTarget : "";
    hash.update(`${JSON.stringify([file.type, file.mode.toString(8), file.size, content ?? "", file.path])}\n`);
  }
  return `sha256:${hash.digest("hex")}`;
}

// ---- walking -------------------------------------------------------------------------------------------------

/** Something the walk found, before it is read. */
interface PendingEntry {
  source: string;
  path: string;
  type: InputFile["type"];
  /** The copy entry's explicit mode, for files. */
  mode?: number;
  from: string;
}

async function realProjectRoot(root: string): Promise<string> {
  try {
    return await realpath(root);
  } catch (error) {
    throw inputError(".", `the project root ${root} cannot be read (${errnoOf(error)})`, "Run from inside the project, or check the directory exists", error);
  }
}

async function walkCopy(realRoot: string, copy: CopyEntry): Promise<PendingEntry[]> {
  const source = await resolveFrom(realRoot, copy.from);
  const stat = await lstat(source).catch((error) => {
    throw inputError(copy.from, `it does not exist or cannot be read (${errnoOf(error)})`, "Fix `from` in [[deploy.copy]]; it is relative to the directory of Vox.toml", error);
  });
  const lockFile = join(realRoot, LOCK_FILE);
  if (source === lockFile) throw inputError(copy.from, `${LOCK_FILE} records the inputs' hashes, so it cannot be one`, "Copy something else");
  const base = { from: copy.from, lockFile, ...(copy.mode === undefined ? {} : { mode: copy.mode }) };
  if (stat.isDirectory()) {
    const found: PendingEntry[] = [];
    await walkDirectory(source, copy.to, base, found);
    return found;
  }
  const type = stat.isFile() ? "file" : stat.isSymbolicLink() ? "symlink" : refuseSpecial(copy.from, source);
  const destination = copy.to.endsWith("/") ? posix.join(copy.to, basename(source)) : copy.to;
  return [{ ...pending(base), source, path: imagePath(destination), type }];
}

/**
 * The host path of `from`, with every symlinked ancestor resolved, refused unless it stays inside the project.
 * The last component itself is not resolved: a `from` that is a link is copied as a link.
 */
async function resolveFrom(realRoot: string, from: string): Promise<string> {
  const normalized = posix.normalize(from);
  if (from === "" || posix.isAbsolute(from) || /^[A-Za-z]:|\\/.test(from) || normalized === ".." || normalized.startsWith("../")) {
    throw inputError(from, "it must be a relative path inside the project", "Write `from` relative to the directory of Vox.toml, without '..'");
  }
  if (normalized === "." || normalized === "./") return realRoot;
  const lexical = join(realRoot, ...normalized.replace(/\/$/, "").split("/"));
  const parent = await realpath(dirname(lexical)).catch((error) => {
    throw inputError(from, `its directory does not exist or cannot be read (${errnoOf(error)})`, "Fix `from` in [[deploy.copy]]", error);
  });
  if (!isInside(realRoot, parent)) {
    throw inputError(from, `it resolves to ${join(parent, basename(lexical))}, outside the project ${realRoot}, through a symbolic link`, "Copy files from inside the project; replace the symlinked directory with real files");
  }
  return join(parent, basename(lexical));
}

/** Where a walk came from; `lockFile` is skipped: copying "." would otherwise make every `vox lock` stale its own lock. */
type WalkBase = Pick<PendingEntry, "from" | "mode"> & { lockFile: string };

async function walkDirectory(dir: string, destinationDir: string, base: WalkBase, found: PendingEntry[]): Promise<void> {
  // String names: Bun's readdir has no Buffer names with file types. A lossy decode shows up as U+FFFD, refused below.
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  for (const entry of entries) {
    const name = checkName(entry.name, dir);
    const source = join(dir, name);
    if (source === base.lockFile) continue;
    const path = imagePath(posix.join(destinationDir, name));
    if (entry.isDirectory()) {
      found.push({ ...pending(base), source, path, type: "directory" });
      await walkDirectory(source, `/${path}`, base, found);
    } else if (entry.isFile()) {
      found.push({ ...pending(base), source, path, type: "file" });
    } else if (entry.isSymbolicLink()) {
      found.push({ ...pending(base), source, path, type: "symlink" });
    } else {
      refuseSpecial(base.from, source);
    }
  }
}

function pending(base: WalkBase): Pick<PendingEntry, "from" | "mode"> {
  return { from: base.from, ...(base.mode === undefined ? {} : { mode: base.mode }) };
}

/** Names must be UTF-8: they become tar names and lock entries, and a lossy decode would name another file. */
function checkName(name: string, dir: string): string {
  if (name.includes("\uFFFD")) {
    throw new VoxError("E_INPUT", `Cannot copy ${dir}: it contains a file name that is not UTF-8 ('${name}')`, { hint: "Rename the file" });
  }
  return name;
}

function refuseSpecial(from: string, source: string): never {
  throw inputError(from, `${source} is a fifo, socket or device, which cannot be put in an image`, "Remove it from the copied directory or copy a narrower `from`");
}

// ---- reading -------------------------------------------------------------------------------------------------

async function describeEntry(entry: PendingEntry): Promise<InputFile> {
  const common = { path: entry.path, type: entry.type, source: entry.source };
  if (entry.type === "directory") return { ...common, mode: 0o755, size: 0 };
  if (entry.type === "symlink") return { ...common, mode: 0o777, size: 0, linkTarget: await readlink(entry.source) };
  const { size, sha256, executable } = await hashFile(entry);
  return { ...common, mode: entry.mode ?? (executable ? 0o755 : 0o644), size, sha256 };
}

/** Streams a file through sha256 and checks it is still a regular file of the size it had when opened. */
async function hashFile(entry: PendingEntry): Promise<{ size: number; sha256: string; executable: boolean }> {
  const handle = await open(entry.source, OPEN_FLAGS).catch((error) => {
    throw inputError(entry.from, `${entry.source} cannot be opened (${errnoOf(error)})`, "Check it is a readable regular file and not a link that replaced one", error);
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) refuseSpecial(entry.from, entry.source);
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(Math.min(stat.size + 1, CHUNK));
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > stat.size) break;
    }
    if (total !== stat.size) throw inputError(entry.from, `${entry.source} changed while it was being read`, "Stop whatever writes to it and run again");
    return { size: total, sha256: hash.digest("hex"), executable: (stat.mode & 0o111) !== 0 };
  } finally {
    await handle.close();
  }
}

// ---- helpers -------------------------------------------------------------------------------------------------

/** `path` made a destination inside the image: POSIX, no leading slash. */
function imagePath(path: string): string {
  return posix.normalize(path).replace(/^\/+/, "").replace(/\/$/, "");
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !/^[A-Za-z]:/.test(rel) && !rel.startsWith(sep));
}

function inputError(from: string, why: string, hint: string, cause?: unknown): VoxError {
  return new VoxError("E_INPUT", `Cannot copy '${from}' into the image: ${why}`, { hint, cause });
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}
