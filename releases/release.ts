import type { Clock } from "../io/mod.ts";
import { formatReference } from "../oci/mod.ts";
import type { RegistryClient, Repository } from "../oci/remote/mod.ts";
import { type ImageLookup, type LocatedImage, locateImage, type PinnedReference } from "./image.ts";
import { appendRelease, type LogLockOptions, type ReleaseLogPaths } from "./log.ts";
import { type PushedManifest, pushPlatformManifest } from "./push.ts";
import { type ReleaseRecord, rollbackTarget } from "./record.ts";
import { readStoredManifest, storeManifest } from "./store.ts";

export interface ReleaseRequest {
  /** The image, pinned (see `pinnedImage`). */
  image: PinnedReference;
  /** The normalized manifest's canonical bytes (`canonicalManifestBytes`): stored, hashed and pushed as they are. */
  manifestBytes: Uint8Array;
  /** Also push the manifest as an artifact of the image to this repository, and record the image there. */
  push?: Repository;
}

export interface ReleaseSeams extends LogLockOptions {
  clock: Clock;
  toolVersion: string;
  /** The project's git commit, or null outside a work tree. */
  sourceRevision: () => Promise<string | null>;
  lookup: ImageLookup;
  /** Needed with `push`. */
  registry?: Pick<RegistryClient, "getManifest" | "pushImage" | "pushReferrer">;
}

/**
 * `vox deploy release`, as named steps: locate and check the image (layout, else registry) → store the manifest
 * by content hash → push it as an artifact of the image (with `push`) → append the record under the log's lock.
 * Everything that can fail slowly or on the network happens before the append, so a failed release leaves no record.
 *
 * @example
 * ```ts
 * const { record } = await makeRelease(releaseLogPaths(dir), { image: pinnedImage(text, "--image"), manifestBytes }, seams);
 * record.seq; // 1 for the first release
 * ```
 */
export async function makeRelease(paths: ReleaseLogPaths, request: ReleaseRequest, seams: ReleaseSeams): Promise<{ record: ReleaseRecord; located: LocatedImage; pushed?: PushedManifest }> {
  const located = await locateImage(request.image, seams.lookup);
  const contentHash = await storeManifest(paths.dir, request.manifestBytes);
  const pushed = request.push && seams.registry ? await pushPlatformManifest(seams.registry, request.push, located, request.manifestBytes) : undefined;
  const created = seams.clock.now().toISOString();
  const sourceRevision = await seams.sourceRevision();
  const record = await appendRelease(
    paths,
    {
      image_digest: request.image.digest,
      manifest_content_hash: contentHash,
      image: pushed?.image ?? formatReference({ registry: request.image.registry, repository: request.image.repository, digest: request.image.digest }),
      created,
      tool_version: seams.toolVersion,
      source_revision: sourceRevision,
      rollback_of: null,
    },
    seams,
  );
  return { record, located, ...(pushed ? { pushed } : {}) };
}

/**
 * `vox deploy rollback [<seq>]`: under the log's lock, pick the target (`rollbackTarget`: that seq, or the
 * release before the current one), check its stored manifest still hashes to its content hash, and append a record
 * re-releasing its exact tuple and image reference, with `rollback_of` naming it. Offline: the image was checked
 * when the target was released.
 *
 * @example
 * ```ts
 * const { record, target } = await rollbackRelease(releaseLogPaths(dir), undefined, { clock: systemClock, toolVersion });
 * ```
 */
export async function rollbackRelease(
  paths: ReleaseLogPaths,
  which: number | undefined,
  seams: Pick<ReleaseSeams, "clock" | "toolVersion"> & LogLockOptions,
): Promise<{ record: ReleaseRecord; target: ReleaseRecord }> {
  let target: ReleaseRecord | undefined;
  const record = await appendRelease(
    paths,
    async (records) => {
      target = rollbackTarget(records, which);
      await readStoredManifest(paths.dir, target.manifest_content_hash);
      return {
        image_digest: target.image_digest,
        manifest_content_hash: target.manifest_content_hash,
        image: target.image,
        created: seams.clock.now().toISOString(),
        tool_version: seams.toolVersion,
        source_revision: target.source_revision,
        rollback_of: target.seq,
      };
    },
    seams,
  );
  return { record, target: target! };
}
