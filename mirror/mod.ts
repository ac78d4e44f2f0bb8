// `vox mirror`: copies releases from a provider into a directory any static web server can serve, verifying as it
// goes, and keeps a signed index (serial, expiry, latest) so that static mirrors can answer "latest".

import { chmod, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, stat, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import semver from "semver";
import { type DownloadDeps, downloadToFile } from "../download/mod.ts";
import { VoxError } from "../errors/mod.ts";
import { type MinisignPublicKey, type MinisignSecretKey, parseChecksums, sha256Hex, signMinisign } from "../integrity/mod.ts";
import { type Clock, writeFileAtomic } from "../io/mod.ts";
import { parseTag, RELEASE_SOURCE } from "../policy/mod.ts";
import { indexTrustedComment, type MirrorIndex, MirrorIndexSchema, newestRelease, readMirrorIndex, type ReleaseProvider } from "../providers/mod.ts";
import { MAX_EXECUTABLE_BYTES, type ReleaseVerification, verifyChecksumsSignature, verifyReleaseDir } from "../release/mod.ts";

export interface SyncOptions {
  to: string;
  tags: readonly string[];
  repo: string;
  provider: ReleaseProvider;
  trustedKeys: readonly MinisignPublicKey[];
  indexKey: MinisignSecretKey;
  expiresInDays: number;
  log: (line: string) => void;
}

export interface SyncReport {
  to: string;
  synced: Array<{ tag: string; files: number; skipped: boolean }>;
  index: { serial: number; expires: string; latest: string | null };
}

/**
 * Copies each release into `<to>/download/<tag>/`: checksums.txt and its signature first (verified against the
 * trusted keys and the release scope), then every listed asset, each checked against its sha256 while streaming.
 * A release is assembled in a hidden directory and renamed into place whole; a release already present and
 * identical is skipped. Finally the index is rewritten with serial + 1 and signed.
 */
export async function syncMirror(options: SyncOptions, deps: DownloadDeps & { clock: Clock }): Promise<SyncReport> {
  const downloads = join(options.to, "download");
  await mkdirPublic(downloads);
  const synced: SyncReport["synced"] = [];
  const entries: MirrorIndex["releases"] = [];
  for (const requested of options.tags) {
    const tag = await options.provider.resolveTag({ version: requested === "latest" ? undefined : requested, allowPrerelease: false });
    const staging = await mkdtemp(join(downloads, `.${tag}.partial-`));
    try {
      const fetchTo = (name: string, maxBytes: number, expectedSha256?: string) =>
        downloadToFile(options.provider.assetUrl(tag, name), join(staging, name), { maxBytes, headers: options.provider.downloadHeaders(), ...(expectedSha256 ? { expectedSha256 } : {}) }, deps);
      await fetchTo(RELEASE_SOURCE.checksumsName, 1 << 20);
      await fetchTo(RELEASE_SOURCE.signatureName, 1 << 16);
      const checksums = await readFile(join(staging, RELEASE_SOURCE.checksumsName));
      verifyChecksumsSignature(checksums, await readFile(join(staging, RELEASE_SOURCE.signatureName), "utf8"), { scope: { repo: options.repo, tag }, trustedKeys: options.trustedKeys, source: options.provider.assetUrl(tag, RELEASE_SOURCE.signatureName) });
      const existing = await readFile(join(downloads, tag, RELEASE_SOURCE.checksumsName)).catch(() => undefined);
      const listed = parseChecksums(checksums.toString("utf8"));
      const upToDate = existing?.equals(checksums) && (await everyFilePresent(join(downloads, tag), [...listed.keys()]));
      if (!upToDate) {
        for (const [name, sha256] of listed) {
          options.log(`fetch ${tag}/${name}`);
          await fetchTo(name, MAX_EXECUTABLE_BYTES, sha256);
        }
        await makePublic(staging);
        await rm(join(downloads, tag), { recursive: true, force: true });
        await rename(staging, join(downloads, tag));
      }
      synced.push({ tag, files: listed.size + 2, skipped: Boolean(upToDate) });
      entries.push({ tag, version: parseTag(tag).version, prerelease: parseTag(tag).prerelease, checksums_sha256: sha256Hex(checksums) });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  const index = await writeIndex(options, entries, deps.clock);
  if (index.latest) await pointLatestAt(options.to, index.latest);
  return { to: options.to, synced, index: { serial: index.serial, expires: index.expires, latest: index.latest } };
}

/**
 * A mirror is public and served by a web server running as another user: directories 0755 and files 0644,
 * set explicitly so that the syncing user's umask does not decide what the server may read.
 */
const PUBLIC_DIR_MODE = 0o755;
const PUBLIC_FILE_MODE = 0o644;

async function mkdirPublic(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  for (let d = dir; first !== undefined; d = dirname(d)) {
    await chmod(d, PUBLIC_DIR_MODE);
    if (d === first) break;
  }
}

/** A staged release directory (flat: downloaded files only) made readable by everyone. */
async function makePublic(dir: string): Promise<void> {
  await chmod(dir, PUBLIC_DIR_MODE);
  for (const name of await readdir(dir)) await chmod(join(dir, name), PUBLIC_FILE_MODE);
}

/**
 * `latest/download` is a symlink to `../download/<latest>`, so that `<base>/latest/download/<file>` answers as on
 * GitHub (install.sh and the README's curl-pipe line use it). Replaced by rename, so readers never see it missing.
 */
async function pointLatestAt(to: string, tag: string): Promise<void> {
  const link = join(to, "latest", "download");
  await mkdirPublic(dirname(link));
  const temp = join(dirname(link), `.download.tmp-${process.pid}`);
  await rm(temp, { force: true });
  await symlink(join("..", "download", tag), temp, "junction");
  await rename(temp, link).catch(async (error) => {
    await rm(temp, { force: true });
    throw error;
  });
}

async function everyFilePresent(dir: string, names: readonly string[]): Promise<boolean> {
  const present = new Set(await readdir(dir).catch(() => [] as string[]));
  return names.every((name) => present.has(name));
}

/** Merges `entries` into the existing index (by tag), bumps the serial, signs, and writes signature then index. */
async function writeIndex(options: SyncOptions, entries: MirrorIndex["releases"], clock: Clock): Promise<MirrorIndex> {
  const path = join(options.to, RELEASE_SOURCE.mirrorIndexName);
  const previous = await readFile(path, "utf8").then((text) => MirrorIndexSchema.safeParse(JSON.parse(text)), () => undefined);
  const byTag = new Map((previous?.success ? previous.data.releases : []).map((r) => [r.tag, r]));
  for (const entry of entries) byTag.set(entry.tag, entry);
  const releases = [...byTag.values()].sort((a, b) => semver.compare(a.version, b.version));
  const now = clock.now();
  const draft: MirrorIndex = {
    schema: "vox.mirror-index/1",
    serial: (previous?.success ? previous.data.serial : 0) + 1,
    expires: new Date(now.getTime() + options.expiresInDays * 86_400_000).toISOString(),
    latest: null,
    releases,
  };
  const index = { ...draft, latest: newestRelease(draft, false)?.tag ?? null };
  const text = `${JSON.stringify(index, null, 2)}\n`;
  const signature = signMinisign(new TextEncoder().encode(text), options.indexKey, { trusted: indexTrustedComment(index, Math.floor(now.getTime() / 1000)) });
  await writeFileAtomic(`${path}.minisig`, signature, { mode: PUBLIC_FILE_MODE });
  await writeFileAtomic(path, text, { mode: PUBLIC_FILE_MODE });
  return index;
}

export interface MirrorVerification {
  index: { serial: number; expires: string; latest: string | null };
  releases: ReleaseVerification[];
  ok: boolean;
}

/** Verifies a mirror directory: the signed index, then every release it lists, as install would. */
export async function verifyMirror(dir: string, options: { repo: string; trustedKeys: readonly MinisignPublicKey[]; mirrorKeys: readonly MinisignPublicKey[]; clock: Clock }): Promise<MirrorVerification> {
  const path = join(dir, RELEASE_SOURCE.mirrorIndexName);
  const text = await readFile(path).catch(() => {
    throw new VoxError("E_MIRROR_NO_INDEX", `Cannot verify the mirror ${dir}: it has no ${RELEASE_SOURCE.mirrorIndexName}`, { hint: "Create it with 'vox mirror sync'." });
  });
  const index = readMirrorIndex(text, await readFile(`${path}.minisig`, "utf8"), { mirrorKeys: options.mirrorKeys, now: options.clock.now(), source: path });
  if (index.latest) {
    const latest = await realpath(join(dir, "latest", "download")).catch(() => undefined);
    if (latest !== (await realpath(join(dir, "download", index.latest)).catch(() => "")))
      throw new VoxError("E_MIRROR_LATEST", `Cannot verify the mirror ${dir}: latest/download does not lead to download/${index.latest}, the index's latest`, { hint: "Run 'vox mirror sync' again; it rewrites latest/download." });
  }
  const releases: ReleaseVerification[] = [];
  for (const release of index.releases) {
    const releaseDir = join(dir, "download", release.tag);
    if (!(await stat(releaseDir).catch(() => undefined))) throw new VoxError("E_MIRROR_MISSING", `Cannot verify the mirror ${dir}: the index lists ${release.tag} but ${releaseDir} is missing`);
    const checksums = await readFile(join(releaseDir, RELEASE_SOURCE.checksumsName));
    if (sha256Hex(checksums) !== release.checksums_sha256) throw new VoxError("E_MIRROR_MISMATCH", `Cannot verify the mirror ${dir}: ${release.tag}/checksums.txt differs from the one the index recorded`);
    releases.push(await verifyReleaseDir(releaseDir, { scope: { repo: options.repo, tag: release.tag }, trustedKeys: options.trustedKeys }));
  }
  return { index: { serial: index.serial, expires: index.expires, latest: index.latest }, releases, ok: releases.every((r) => r.ok) };
}
