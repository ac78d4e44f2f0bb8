import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { extractSingleExecutable } from "../archive/extract.ts";
import { type DownloadDeps, type DownloadOptions, downloadToFile } from "../download/mod.ts";
import { VoxError } from "../errors/mod.ts";
import { type MinisignPublicKey, parseChecksums, sha256File, sha256Hex } from "../integrity/mod.ts";
import { assetName, executableName, parseAssetName, RELEASE_SOURCE, type Target } from "../policy/mod.ts";
import type { ReleaseProvider } from "../providers/mod.ts";
import { MAX_EXECUTABLE_BYTES, requireExecutableFor } from "./inspect.ts";
import { verifyChecksumsSignature } from "./trust.ts";

/** Codes of failures that mean "this is not the release it claims to be": never retried elsewhere, never worked around. */
const VERIFICATION_CODES = new Set([
  "E_SIGNATURE_INVALID",
  "E_SIGNATURE_UNTRUSTED_KEY",
  "E_SIGNATURE_SCOPE",
  "E_SIGNATURE_MALFORMED",
  "E_CHECKSUMS_MALFORMED",
  "E_DOWNLOAD_DIGEST",
  "E_ASSET_DIGEST_MISMATCH",
  "E_ARCHIVE_REFUSED",
  "E_ARCHIVE_FORMAT",
  "E_STAGED_VERSION",
  "E_MIRROR_INDEX",
  "E_MIRROR_INDEX_EXPIRED",
]);

export function isVerificationFailure(error: unknown): boolean {
  return error instanceof VoxError && VERIFICATION_CODES.has(error.code);
}

export interface Acquired {
  /** The extracted executable, inside `workDir`. */
  path: string;
  basename: string;
  url: string;
  sha256: string;
}

const SMALL_FILE_BYTES = 1 << 20;
const MAX_ARCHIVE_BYTES = MAX_EXECUTABLE_BYTES;

/**
 * Fetches and verifies one release executable, in the order trust requires: the signature of `checksums.txt`
 * (trusted key; repo and tag in the trusted comment), then the asset's sha256 from it (and the provider's own
 * digest where it keeps one), then the archive's single expected entry. Everything lands in `workDir`; nothing
 * is used before it is verified.
 */
export async function acquireExecutable(
  options: { provider: ReleaseProvider; tag: string; repo: string; target: Target; packageName: string; workDir: string; trustedKeys: readonly MinisignPublicKey[]; onProgress?: DownloadOptions["onProgress"] },
  deps: DownloadDeps,
): Promise<Acquired> {
  const { provider, tag, workDir } = options;
  const headers = provider.downloadHeaders();
  const fetchSmall = async (name: string) => {
    const path = join(workDir, name);
    await downloadToFile(provider.assetUrl(tag, name), path, { maxBytes: SMALL_FILE_BYTES, headers }, deps);
    return readFile(path);
  };
  const checksums = await fetchSmall(RELEASE_SOURCE.checksumsName);
  const signature = await fetchSmall(RELEASE_SOURCE.signatureName).catch((error: { status?: number }) => {
    if (error.status === 404) throw new VoxError("E_SIGNATURE_INVALID", `Cannot verify release ${tag}: ${provider.assetUrl(tag, RELEASE_SOURCE.signatureName)} does not exist`, { hint: "An unsigned release is never installed." });
    throw error;
  });
  verifyChecksumsSignature(checksums, signature.toString("utf8"), { scope: { repo: options.repo, tag }, trustedKeys: options.trustedKeys, source: provider.assetUrl(tag, RELEASE_SOURCE.signatureName) });
  const indexed = provider.checksumsDigest(tag);
  if (indexed !== undefined && indexed !== sha256Hex(checksums)) {
    throw new VoxError("E_MIRROR_INDEX", `Cannot trust the mirror's index for ${tag}: it records checksums.txt sha256 ${indexed}, the signed file served is ${sha256Hex(checksums)}`, {
      hint: "The index and the release it lists disagree; the mirror is damaged or lying. Ask its operator to re-run 'vox mirror sync'.",
    });
  }
  const basename = assetName(options.packageName, tag, options.target);
  const expected = parseChecksums(checksums.toString("utf8"), provider.assetUrl(tag, RELEASE_SOURCE.checksumsName)).get(basename);
  if (!expected) {
    throw new VoxError("E_NO_ASSET", `Cannot install ${options.packageName} ${tag} for ${options.target.triple}: the release lists no ${basename}`, { hint: "This release has no binary for this platform." });
  }
  const apiDigest = await provider.assetDigest(tag, basename);
  if (apiDigest !== undefined && apiDigest !== expected) {
    throw new VoxError("E_ASSET_DIGEST_MISMATCH", `Cannot trust ${basename}: the provider records sha256 ${apiDigest}, the signed checksums.txt says ${expected}`, { hint: "The release was altered after it was signed. Do not install it; report it." });
  }
  const url = provider.assetUrl(tag, basename);
  const archive = join(workDir, basename);
  await downloadToFile(url, archive, { maxBytes: MAX_ARCHIVE_BYTES, expectedSha256: expected, headers, ...(options.onProgress ? { onProgress: options.onProgress } : {}) }, deps);
  const path = await extractVerified(archive, options, workDir);
  return { path, basename, url, sha256: expected };
}

/** The single entry, extracted, and refused unless it is an executable for this target (nothing runs before). */
async function extractVerified(archive: string, options: { target: Target; packageName: string }, workDir: string): Promise<string> {
  const entryName = executableName(options.packageName, options.target);
  const path = join(workDir, entryName);
  await extractSingleExecutable(archive, { format: options.target.archive, entryName, maxBytes: MAX_EXECUTABLE_BYTES, destination: path });
  await requireExecutableFor(path, options.target, archive);
  return path;
}

/**
 * The offline counterpart of `acquireExecutable`: a local archive with `checksums.txt` and its signature beside
 * it, verified in the same order (signature and scope, then sha256, then the single entry) before extraction.
 */
export async function acquireLocalExecutable(archive: string, options: { repo: string; target: Target; packageName: string; workDir: string; trustedKeys: readonly MinisignPublicKey[] }): Promise<Acquired & { tag: string }> {
  const basename = archive.split(/[\\/]/).at(-1)!;
  const asset = parseAssetName(basename, [options.target]);
  if (!asset || asset.packageName !== options.packageName) {
    throw new VoxError("E_ARCHIVE_NAME", `Cannot use ${archive}: expected ${assetName(options.packageName, "v<version>", options.target)} for this machine`, { hint: "Pass the archive built for this triple (see vox policy).", exitCode: 2 });
  }
  const dir = dirname(archive);
  const read = (name: string) =>
    readFile(join(dir, name)).catch(() => {
      throw new VoxError("E_SIGNATURE_INVALID", `Cannot verify ${archive}: ${join(dir, name)} is missing`, { hint: "Keep checksums.txt and checksums.txt.minisig from the release next to the archive." });
    });
  const checksums = await read(RELEASE_SOURCE.checksumsName);
  verifyChecksumsSignature(checksums, (await read(RELEASE_SOURCE.signatureName)).toString("utf8"), { scope: { repo: options.repo, tag: asset.tag }, trustedKeys: options.trustedKeys, source: join(dir, RELEASE_SOURCE.signatureName) });
  const expected = parseChecksums(checksums.toString("utf8"), join(dir, RELEASE_SOURCE.checksumsName)).get(basename);
  const actual = (await sha256File(archive)).sha256;
  if (expected !== actual) {
    throw new VoxError("E_DOWNLOAD_DIGEST", `Cannot accept ${archive}: its sha256 is ${actual}, checksums.txt says ${expected ?? "nothing (not listed)"}`, { hint: "The archive is not the one the release signed; do not use it." });
  }
  return { path: await extractVerified(archive, options, options.workDir), basename, url: archive, sha256: actual, tag: asset.tag };
}
