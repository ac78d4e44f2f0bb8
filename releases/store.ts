import { constants } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { parseDigest, sha256Digest } from "../oci/mod.ts";
import type { PlatformManifest } from "../platform/types.ts";

/** A normalized manifest is a few kilobytes; anything near this is not one. */
const MAX_MANIFEST_BYTES = 1 << 20;

/**
 * Where the normalized manifest with `contentHash` is kept: `<dir>/manifests/sha256/<hex>.json`.
 *
 * @example
 * ```ts
 * storedManifestPath("/p/.vox/releases", "sha256:ab…"); // "/p/.vox/releases/manifests/sha256/ab….json"
 * ```
 */
export function storedManifestPath(dir: string, contentHash: string): string {
  const { algorithm, hex } = parseDigest(contentHash);
  return join(dir, "manifests", algorithm, `${hex}.json`);
}

/**
 * Stores a normalized manifest's canonical bytes under their sha256 (written beside, then renamed, read-only); an
 * intact copy already there is kept. Returns the content hash.
 *
 * @example
 * ```ts
 * await storeManifest(dir, canonicalManifestBytes(manifest)); // "sha256:…" = platformContentHash(manifest)
 * ```
 */
export async function storeManifest(dir: string, canonicalBytes: Uint8Array): Promise<string> {
  const contentHash = sha256Digest(canonicalBytes);
  const path = storedManifestPath(dir, contentHash);
  const intact = await readVerified(path, contentHash).then(
    () => true,
    () => false,
  );
  if (!intact) {
    await mkdir(join(path, ".."), { recursive: true });
    await writeFileAtomic(path, canonicalBytes, { mode: 0o444 });
  }
  return contentHash;
}

/**
 * The normalized manifest a release names, re-hashed on read: bytes that no longer hash to `contentHash` are
 * refused (E_RELEASE_MANIFEST), so a release always runs exactly the manifest it recorded.
 *
 * @example
 * ```ts
 * const manifest = await readStoredManifest(dir, record.manifest_content_hash);
 * ```
 */
export async function readStoredManifest(dir: string, contentHash: string): Promise<PlatformManifest> {
  const bytes = await readVerified(storedManifestPath(dir, contentHash), contentHash);
  return JSON.parse(new TextDecoder().decode(bytes)) as PlatformManifest;
}

async function readVerified(path: string, contentHash: string): Promise<Uint8Array> {
  const refuse = (why: string, hint: string) => new VoxError("E_RELEASE_MANIFEST", `Cannot read the platform manifest ${contentHash} (${path}): ${why}`, { hint });
  const restore = "Restore it from a copy you trust, or from the registry (`vox deploy release --push` stores it as an artifact of the image)";
  const handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") throw refuse("it is not in the store", restore);
    if (error.code === "ELOOP") throw refuse("it is a symbolic link", restore);
    throw error;
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > MAX_MANIFEST_BYTES) throw refuse(stat.isFile() ? `it is larger than ${MAX_MANIFEST_BYTES} bytes` : "it is not a regular file", restore);
    const bytes = new Uint8Array(await handle.readFile());
    const actual = sha256Digest(bytes);
    if (actual !== contentHash) throw refuse(`its bytes hash to ${actual}: it was changed after it was stored`, restore);
    return bytes;
  } finally {
    await handle.close();
  }
}
