// The input file sets of `[[deploy.copy]]`: what each entry puts where in the image, and one content hash per
// entry that vox.lock records. Owns the walk (sorted, symlinks kept as links, nothing outside the project, default
// and `exclude` exclusions) and the canonical listing the hash is taken over.

import { createHash } from "node:crypto";
import { type BigIntStats, constants } from "node:fs";
import { lstat, open, readdir, readlink, realpath } from "node:fs/promises";
import { basename, dirname, join, posix, relative, sep } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { mapLimit } from "../io/mod.ts";
import type { Digest } from "../oci/digest.ts";
import { LOCK_FILE } from "./lock.ts";
import { STATE_DIR } from "./project.ts";

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
  /** A file's bytes, exactly those hashed, when `keepContent` was asked for: the layer is built from these. */
  content?: Uint8Array;
}

/** What a `[[deploy.copy]]` entry needs here; a validated `DeployCopy` fits. */
export interface CopyEntry {
  from: string;
  to: string;
  mode?: number;
  platform?: string;
  /** Patterns relative to `from` to leave out (see `excludeMatcher`). */
  exclude?: readonly string[];
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
  /** Keep each file's bytes in `content` (a build packs them; `vox lock` only needs the hashes). Default false. */
  keepContent?: boolean;
  /** Called between the walk and the reads; tests change the tree there. Default: nothing. */
  checkpoint?: (step: "walked") => Promise<void>;
}

/**
 * Never copied from a walked directory, at any depth: version-control state (a token in a remote URL would ship in the
 * image), vox's own state (`.vox`: earlier builds), and OCI image layouts (a directory with an `oci-layout` file:
 * earlier build output anywhere). Copying them would also make the lock stale after every build.
 */
export const ALWAYS_EXCLUDED = [".git", STATE_DIR] as const;
const LAYOUT_MARKER = "oci-layout";

/** Bytes read per call when hashing; large files stream through this, small ones take one read. */
const CHUNK = 1 << 20;
/** Never follow a link that replaced a file between the walk and the read, and never block on a FIFO. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const HASH_FORMAT = "vox.inputs/1";

/**
 * Walks every copy entry's `from` under `root` and hashes what it finds. A directory's contents go under `to`; a
 * file goes to `to`, or inside it when `to` ends with `/`. Names are sorted by bytes; symlinks are recorded,
 * not followed; a `from` reached through a symlink that leaves `root`, and fifos, sockets and devices, are refused;
 * `ALWAYS_EXCLUDED` names, image layouts and the entry's `exclude` patterns are skipped.
 * Parent directories of `to` are not listed: the layer writer creates them.
 *
 * Nothing outside the project can be read through a directory swapped for a link while this runs: every directory
 * is checked to be the same one (device and inode, seen without following links) before and after it is listed, and
 * every file is opened without following a link and must be the very inode the walk saw, so a path that now leads
 * elsewhere is refused. Each file is read once: the hash and `content` come from the same bytes.
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
  await options.checkpoint?.("walked");
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const files = await mapLimit(walked.flat(), concurrency, (entry) => describeEntry(entry, options.keepContent ?? false));
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

/** Which inode a path named when the walk saw it. */
interface Identity {
  dev: bigint;
  ino: bigint;
}

/** Something the walk found, before it is read. */
interface PendingEntry {
  source: string;
  path: string;
  type: InputFile["type"];
  /** The copy entry's explicit mode, for files. */
  mode?: number;
  from: string;
  /** What `source` was when walked: a file must still be this inode when it is opened. */
  identity: Identity;
  /** Read during the walk, while the directory holding it was known to be the one walked. */
  linkTarget?: string;
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
  const stat = await lstatOf(source).catch((error) => {
    throw inputError(copy.from, `it does not exist or cannot be read (${errnoOf(error)})`, "Fix `from` in [[deploy.copy]]; it is relative to the directory of Vox.toml", error);
  });
  const lockFile = join(realRoot, LOCK_FILE);
  if (source === lockFile) throw inputError(copy.from, `${LOCK_FILE} records the inputs' hashes, so it cannot be one`, "Copy something else");
  const base: WalkBase = { from: copy.from, lockFile, excluded: excludeMatcher(copy.exclude ?? []), ...(copy.mode === undefined ? {} : { mode: copy.mode }) };
  // resolveFrom saw no link on the way to `source`; the same answer after the lstat means none was swapped in between.
  if ((await realpath(dirname(source)).catch(() => undefined)) !== dirname(source)) throw changedError(copy.from, source);
  if (stat.isDirectory()) {
    const found: PendingEntry[] = [];
    await walkDirectory({ dir: source, identity: identityOf(stat), destination: copy.to, relative: "" }, base, found);
    return found;
  }
  const type = stat.isFile() ? "file" : stat.isSymbolicLink() ? "symlink" : refuseSpecial(copy.from, source);
  const destination = copy.to.endsWith("/") ? posix.join(copy.to, basename(source)) : copy.to;
  return [{ ...pending(base), source, path: imagePath(destination), type, identity: identityOf(stat), ...(type === "symlink" ? { linkTarget: await readlink(source) } : {}) }];
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
type WalkBase = Pick<PendingEntry, "from" | "mode"> & { lockFile: string; excluded: (relative: string) => boolean };

/** A directory being walked: where it is, which inode it must stay, where its contents go, its path under `from`. */
interface WalkedDirectory {
  dir: string;
  identity: Identity;
  destination: string;
  relative: string;
}

async function walkDirectory(current: WalkedDirectory, base: WalkBase, found: PendingEntry[]): Promise<void> {
  const { dir } = current;
  await expectIdentity(dir, current.identity, base.from);
  // String names: Bun's readdir has no Buffer names with file types. A lossy decode shows up as U+FFFD, refused below.
  const names = (await readdir(dir)).map((name) => checkName(name, dir));
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const listed: Array<{ entry: PendingEntry; child?: WalkedDirectory }> = [];
  for (const name of names) {
    const source = join(dir, name);
    const relative = current.relative === "" ? name : `${current.relative}/${name}`;
    if (source === base.lockFile || (ALWAYS_EXCLUDED as readonly string[]).includes(name) || base.excluded(relative)) continue;
    const stat = await lstatOf(source);
    const path = imagePath(posix.join(current.destination, name));
    const entry = { ...pending(base), source, path, identity: identityOf(stat) };
    if (stat.isDirectory()) {
      if (await lstatOf(join(source, LAYOUT_MARKER)).then(() => true, () => false)) continue;
      listed.push({ entry: { ...entry, type: "directory" }, child: { dir: source, identity: entry.identity, destination: `/${path}`, relative } });
    } else if (stat.isFile()) {
      listed.push({ entry: { ...entry, type: "file" } });
    } else if (stat.isSymbolicLink()) {
      listed.push({ entry: { ...entry, type: "symlink", linkTarget: await readlink(source) } });
    } else {
      refuseSpecial(base.from, source);
    }
  }
  // Still the directory listed above: what was seen in it (identities, link targets) came from inside the project.
  await expectIdentity(dir, current.identity, base.from);
  for (const { entry, child } of listed) {
    found.push(entry);
    if (child) await walkDirectory(child, base, found);
  }
}

function pending(base: WalkBase): Pick<PendingEntry, "from" | "mode"> {
  return { from: base.from, ...(base.mode === undefined ? {} : { mode: base.mode }) };
}

/**
 * A test for paths relative to `from`: `*` matches within one name, `?` one character, `**\/` any number of
 * directories, a trailing `/**` everything below; a pattern without `/` matches that name at any depth. A directory
 * that matches is not entered.
 *
 * @example
 * ```ts
 * excludeMatcher(["*.log", "build/tmp"])("logs/debug.log"); // true
 * ```
 */
export function excludeMatcher(patterns: readonly string[]): (relative: string) => boolean {
  const tokens: Record<string, string> = { "**/": "(?:.*/)?", "/**": "/.*", "*": "[^/]*", "?": "[^/]" };
  const expressions = patterns.map((pattern) => {
    const trimmed = pattern.replace(/\/+$/, "");
    const body = trimmed.split(/(\*\*\/|\/\*\*$|\*|\?)/).map((part) => tokens[part] ?? part.replace(/[.+^${}()|[\]\\]/g, "\\$&")).join("");
    return new RegExp(trimmed.includes("/") ? `^${body}$` : `(?:^|/)${body}$`);
  });
  return (relative) => expressions.some((expression) => expression.test(relative));
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

async function lstatOf(path: string): Promise<BigIntStats> {
  return lstat(path, { bigint: true });
}

function identityOf(stat: BigIntStats): Identity {
  return { dev: stat.dev, ino: stat.ino };
}

/** `dir` must still be, without following a link, the directory the walk saw. */
async function expectIdentity(dir: string, identity: Identity, from: string): Promise<void> {
  const now = await lstatOf(dir).catch(() => undefined);
  if (!now?.isDirectory() || now.dev !== identity.dev || now.ino !== identity.ino) throw changedError(from, dir);
}

function changedError(from: string, source: string): VoxError {
  return new VoxError("E_INPUT_CHANGED", `Cannot copy '${from}' into the image: ${source} changed while it was being read (replaced, moved, or a directory on its path swapped for a link)`, {
    hint: "Stop whatever changes the project during the build, then run again",
  });
}

// ---- reading -------------------------------------------------------------------------------------------------

async function describeEntry(entry: PendingEntry, keepContent: boolean): Promise<InputFile> {
  const common = { path: entry.path, type: entry.type, source: entry.source };
  if (entry.type === "directory") return { ...common, mode: 0o755, size: 0 };
  if (entry.type === "symlink") return { ...common, mode: 0o777, size: 0, linkTarget: entry.linkTarget! };
  const { size, sha256, executable, content } = await readFileOnce(entry, keepContent);
  return { ...common, mode: entry.mode ?? (executable ? 0o755 : 0o644), size, sha256, ...(content ? { content } : {}) };
}

/**
 * Streams a file through sha256 (keeping the bytes when asked): opened without following a link or blocking on a
 * fifo, it must be the regular file the walk saw, and is read up to the size it had when opened.
 */
async function readFileOnce(entry: PendingEntry, keepContent: boolean): Promise<{ size: number; sha256: string; executable: boolean; content?: Uint8Array }> {
  const handle = await open(entry.source, OPEN_FLAGS).catch((error) => {
    if ((error as NodeJS.ErrnoException).code === "ELOOP" || (error as NodeJS.ErrnoException).code === "ENOENT") throw changedError(entry.from, entry.source);
    throw inputError(entry.from, `${entry.source} cannot be opened (${errnoOf(error)})`, "Check it is a readable regular file", error);
  });
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile() || stat.dev !== entry.identity.dev || stat.ino !== entry.identity.ino) throw changedError(entry.from, entry.source);
    const size = Number(stat.size);
    const hash = createHash("sha256");
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      // One byte past the size: a file still growing is caught without reading what it grew by.
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, size + 1 - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      if (keepContent) chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > size) break;
    }
    if (total !== size) throw inputError(entry.from, `${entry.source} changed while it was being read`, "Stop whatever writes to it and run again");
    const content = keepContent ? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)) : undefined;
    return { size, sha256: hash.digest("hex"), executable: (Number(stat.mode) & 0o111) !== 0, ...(content ? { content } : {}) };
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
