import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, rm, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import type { Spawner } from "../io/mod.ts";

/** ext4's block size here: the one every current kernel and Firecracker guest reads, fixed so sizes are stable. */
export const BLOCK_SIZE = 4096;
export const INODE_SIZE = 256;
const BLOCKS_PER_GROUP = 32768;
/** Entries of an ext4 directory block: 8-byte header plus the name, padded to 4; 12 bytes are the checksum tail. */
const DIR_BLOCK_PAYLOAD = BLOCK_SIZE - 12;
/** A symbolic link up to this many bytes lives in the inode itself ("fast" link), longer ones take a block. */
const FAST_SYMLINK_MAX = 59;

/**
 * The whole feature set, written out: mke2fs reads /etc/mke2fs.conf, which differs between hosts and releases, so
 * vox hands it this file instead. No journal (the disk is attached read-only, so a journal is dead weight, and
 * mke2fs drops it silently below 2048 blocks, which would make small and large images differ in kind); no
 * resize inode (the image is never grown in place); metadata_csum so the guest kernel detects a damaged disk.
 */
export const MKE2FS_CONF = `[defaults]
\tbase_features = sparse_super,large_file,filetype,dir_index,extent,flex_bg,huge_file,dir_nlink,extra_isize,metadata_csum,64bit
\tblocksize = ${BLOCK_SIZE}
\tinode_size = ${INODE_SIZE}
\thash_alg = half_md4
[fs_types]
\text4 = {
\t\tfeatures = extent
\t}
`;

/** What the size and inode count of an image are computed from. */
export interface TreeStats {
  /** Inodes the tree needs (hard links counted once), the root included. */
  inodes: number;
  /** Data blocks of regular files and long symbolic links. */
  dataBlocks: number;
  /** Directory blocks, from the names each directory holds. */
  dirBlocks: number;
}

/** The file system's shape: everything mke2fs is told, so two hosts make the same one. */
export interface Ext4Layout {
  blocks: number;
  inodes: number;
  /** Derived from the image digest, so the same image gets the same UUID and directory-hash seed everywhere. */
  uuid: string;
  hashSeed: string;
  /** Seconds since 1970 written into every inode and the superblock (the image's `created`, else 1). */
  epoch: number;
}

/**
 * The layout for a tree: `size` "auto" fits the tree (data and directory blocks + 2%, inode tables, bitmaps and
 * group descriptors with their backups, then 1 MiB or 5% free, whichever is larger); a number of bytes is used as
 * given (a multiple of 4096). Inodes: the tree's, plus 5% and 64 spare.
 *
 * @example
 * ```ts
 * const layout = ext4Layout({ inodes: 10, dataBlocks: 3, dirBlocks: 2 }, "auto", { digest: "sha256:…", epoch: 0 });
 * layout.blocks; // 512: 1 MiB minimum headroom on a tiny tree
 * ```
 */
export function ext4Layout(stats: TreeStats, size: "auto" | number, identity: { digest: string; epoch: number }): Ext4Layout {
  const inodes = stats.inodes + Math.ceil(stats.inodes / 20) + 64;
  let blocks: number;
  if (size === "auto") {
    const content = Math.ceil((stats.dataBlocks + stats.dirBlocks) * 1.02);
    const inodeTables = Math.ceil((inodes * INODE_SIZE) / BLOCK_SIZE);
    let total = content + inodeTables;
    // Group count depends on the total, and per-group metadata adds to it: two passes settle it.
    for (let pass = 0; pass < 2; pass++) {
      const groups = Math.ceil(total / BLOCKS_PER_GROUP);
      const descriptorBlocks = Math.ceil((groups * 64) / BLOCK_SIZE);
      const backups = sparseSuperGroups(groups);
      total = content + inodeTables + groups * 2 + backups * (1 + descriptorBlocks) + 16;
    }
    blocks = total + Math.max(256, Math.ceil(total / 20));
  } else {
    if (!Number.isSafeInteger(size) || size <= 0 || size % BLOCK_SIZE !== 0) {
      throw new VoxError("E_USAGE", `Cannot make an ext4 image of ${size} bytes: the size must be a positive multiple of ${BLOCK_SIZE}`, { hint: "Pass --size auto, or a byte count such as 67108864", exitCode: 2 });
    }
    blocks = size / BLOCK_SIZE;
  }
  return { blocks, inodes, uuid: derivedUuid("uuid", identity.digest), hashSeed: derivedUuid("hash-seed", identity.digest), epoch: identity.epoch };
}

/** Groups holding a superblock backup under sparse_super: 0, 1 and powers of 3, 5 and 7. */
function sparseSuperGroups(groups: number): number {
  const found = new Set([0, 1]);
  for (const base of [3, 5, 7]) for (let g = base; g < groups; g *= base) found.add(g);
  return [...found].filter((g) => g < groups).length;
}

/** A version-4-shaped UUID from sha256(purpose, digest): stable per image, different per purpose. */
function derivedUuid(purpose: string, digest: string): string {
  const bytes = createHash("sha256").update(`vox ext4 ${purpose}\0${digest}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Walks a tree without following links: inodes (hard links once), data blocks, directory blocks.
 *
 * @example
 * ```ts
 * const stats = await scanTree("/bundle/rootfs"); // { inodes: 412, dataBlocks: 1830, dirBlocks: 61 }
 * ```
 */
export async function scanTree(root: string): Promise<TreeStats> {
  const seen = new Set<string>();
  const stats: TreeStats = { inodes: 1, dataBlocks: 0, dirBlocks: 0 };
  const walk = async (dir: string): Promise<void> => {
    const names = await readdir(dir);
    // "." and ".." take 12 bytes each.
    let bytes = 24;
    for (const name of names) {
      bytes += 8 + Math.ceil(Buffer.byteLength(name) / 4) * 4;
      const path = join(dir, name);
      const stat = await lstat(path, { bigint: false });
      const key = `${stat.dev}:${stat.ino}`;
      if (stat.isDirectory()) {
        stats.inodes++;
        await walk(path);
        continue;
      }
      if (seen.has(key)) continue;
      seen.add(key);
      stats.inodes++;
      if (stat.isFile()) stats.dataBlocks += Math.ceil(stat.size / BLOCK_SIZE);
      else if (stat.isSymbolicLink() && stat.size > FAST_SYMLINK_MAX) stats.dataBlocks++;
    }
    // Large directories get an htree: about one index block per hundred leaves.
    const leaves = Math.max(1, Math.ceil(bytes / DIR_BLOCK_PAYLOAD));
    stats.dirBlocks += leaves + Math.floor(leaves / 100);
  };
  await walk(root);
  return stats;
}

export interface MakeExt4Options {
  spawner: Spawner;
  /** Where mke2fs.conf and debugfs command files go: a private directory beside the output. */
  workDir: string;
}

/**
 * Makes `output` from `tree` as named steps, reproducibly: mke2fs -d into a file beside `output` (our mke2fs.conf,
 * LC_ALL=C so directories are read in byte order, E2FSPROGS_FAKE_TIME, the layout's UUID and hash seed) → remove
 * the lost+found mke2fs adds (the image holds the tree and nothing else) → set every used inode's times to the
 * epoch with debugfs (mke2fs copies each file's times, and a ctime cannot be set on the source) → `e2fsck -fn` →
 * rename into place. Returns the image's sha256.
 *
 * @example
 * ```ts
 * const sha256 = await makeExt4("/bundle/rootfs", "rootfs.ext4", layout, { spawner: nodeSpawner, workDir });
 * ```
 */
export async function makeExt4(tree: string, output: string, layout: Ext4Layout, options: MakeExt4Options): Promise<string> {
  const { spawner, workDir } = options;
  const staged = join(workDir, "image.ext4");
  const conf = join(workDir, "mke2fs.conf");
  await writeFile(conf, MKE2FS_CONF);
  const env = { PATH: "/usr/sbin:/sbin:/usr/bin:/bin", LC_ALL: "C", MKE2FS_CONFIG: conf, E2FSPROGS_FAKE_TIME: String(layout.epoch) };
  const tool = async (argv: string[], what: string): Promise<string> => {
    const result = await spawner.run(argv, { env });
    if (result.code === 127) throw new VoxError("E_MATERIALIZE_TOOL", `Cannot make the ext4 image: ${argv[0]} is not installed`, { hint: "Install e2fsprogs (apt-get install e2fsprogs)" });
    if (result.code !== 0) {
      const full = /No space left|Could not allocate block|too many|not enough space/i.test(result.stderr + result.stdout);
      throw new VoxError(full ? "E_MATERIALIZE_SPACE" : "E_MATERIALIZE_TOOL", `Cannot make the ext4 image: ${what} failed: ${(result.stderr || result.stdout).trim().split("\n").slice(-3).join(" / ")}`, {
        hint: full ? `The tree does not fit in ${layout.blocks * BLOCK_SIZE} bytes; pass a larger --size (or --size auto)` : "Run it again with VOX_DEBUG=1 and report it with the output above",
      });
    }
    return result.stdout;
  };
  await rm(staged, { force: true });
  await tool(
    ["mke2fs", "-q", "-F", "-t", "ext4", "-T", "ext4", "-b", String(BLOCK_SIZE), "-I", String(INODE_SIZE), "-m", "0", "-N", String(layout.inodes), "-L", "", "-U", layout.uuid,
      "-E", `hash_seed=${layout.hashSeed},lazy_itable_init=0,nodiscard,root_owner=0:0`, "-d", tree, staged, String(layout.blocks)],
    "mke2fs",
  );
  await debugfs(tool, workDir, staged, ["rmdir lost+found"], "removing lost+found");
  const count = Number(/^Inode count:\s+(\d+)$/m.exec(await tool(["dumpe2fs", "-h", staged], "dumpe2fs -h"))?.[1]);
  const inodes = await usedInodes(tool, workDir, staged, count);
  await debugfs(tool, workDir, staged, inodes.flatMap((ino) => TIME_COMMANDS(ino, layout.epoch)), "setting inode times");
  await tool(["e2fsck", "-fn", staged], "e2fsck -fn");
  const sha256 = await fileSha256(staged);
  await rename(staged, output);
  return sha256;
}

/**
 * Every time an inode carries. The `_extra` words hold nanoseconds (mke2fs copies them from the source too) and
 * the epoch bits past 2038: zeroed first, then the time itself sets the epoch bits it needs.
 */
const TIME_COMMANDS = (ino: number, epoch: number) => ["atime", "mtime", "ctime", "crtime"].flatMap((field) => [`sif <${ino}> ${field}_extra 0`, `sif <${ino}> ${field} @${epoch}`]);

async function debugfs(tool: (argv: string[], what: string) => Promise<string>, workDir: string, image: string, commands: string[], what: string): Promise<string> {
  const file = join(workDir, "debugfs.cmd");
  await writeFile(file, `${commands.join("\n")}\n`);
  return tool(["debugfs", "-w", "-f", file, image], `debugfs (${what})`);
}

/** The inodes in use, asked of the image itself (`testi` for each), so none is missed or invented. */
async function usedInodes(tool: (argv: string[], what: string) => Promise<string>, workDir: string, image: string, count: number): Promise<number[]> {
  const file = join(workDir, "testi.cmd");
  const lines: string[] = [];
  for (let ino = 1; ino <= count; ino++) lines.push(`testi <${ino}>`);
  await writeFile(file, `${lines.join("\n")}\n`);
  const output = await tool(["debugfs", "-f", file, image], "debugfs (listing used inodes)");
  return [...output.matchAll(/^Inode (\d+) is marked in use/gm)].map((m) => Number(m[1]));
}

/** sha256 of a file, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
