// Private to commands/: what `vox deploy emit|up|down` act on, resolved in one place: a Release from the log
// (`--release <seq>|latest`, the default), a pinned `--image` with a manifest, or (up|down) a published `--from` bundle.

import { resolve } from "node:path";
import type { CommandContext, ParsedArgs } from "../cli/mod.ts";
import { loadPlatformManifest } from "../deploy/platform_file.ts";
import { isPinnedImage, readComposeBundle } from "../emit/mod.ts";
import type { BundleDeployment } from "../engines/mod.ts";
import { usageError, VoxError } from "../errors/mod.ts";
import type { PlatformManifest } from "../platform/mod.ts";
import { formatReference, parseReference } from "../oci/mod.ts";
import { loadProject, type Project, projectStateDir } from "../pm/mod.ts";
import { projectReleaseLog, readReleases, readStoredManifest, type ReleaseRecord, resolveRelease } from "../releases/mod.ts";
import { registryClient } from "./_registry.ts";

export interface ReleaseInput {
  /** `<repo>@sha256:<hex>`: descriptors and engines only ever see a digest. */
  image: string;
  manifest: PlatformManifest;
  /** The project, when there is one (its OCI layout may hold the image). */
  project?: Project;
  /** The Release, when acting on one. */
  release?: ReleaseRecord;
}

/**
 * `--image` (with `--manifest` or the project's manifest) for a build not yet released, else a Release from the log
 * (`--release`, default latest) whose stored manifest is re-hashed on read: a Release is only ever its digests.
 */
export async function releaseInput(args: ParsedArgs, context: CommandContext): Promise<ReleaseInput> {
  const image = args.string("image");
  const which = args.string("release");
  const manifest = args.string("manifest");
  const projectDir = resolve(context.cwd, args.string("project") ?? ".");
  if (image !== undefined) {
    if (which !== undefined) throw usageError("E_USAGE", "Cannot use --image with --release: a Release already names its image", "Pass one of them");
    if (!isPinnedImage(image)) throw usageError("E_USAGE", `Cannot use --image ${image}: descriptors pin the image by digest`, "Pass --image <repo>@sha256:<64 hex> (vox deploy build prints the digest; a local build is localhost/<package>@<digest>)");
    const project = await loadProject(projectDir).catch((error: unknown) => {
      // A manifest named on the command line works without a project (and so without its layout).
      if (manifest !== undefined && error instanceof VoxError && error.code === "E_NO_PROJECT") return undefined;
      throw error;
    });
    const loaded = await loadPlatformManifest(project, { cwd: context.cwd, ...(manifest !== undefined ? { manifest } : {}) });
    return { image, manifest: loaded.manifest, ...(project ? { project } : {}) };
  }
  if (manifest !== undefined) throw usageError("E_USAGE", "Cannot use --manifest without --image: a Release carries its own manifest", "Pass --image <repo>@sha256:… with --manifest, or --release <seq>|latest alone");
  const project = await loadProject(projectDir);
  const paths = projectReleaseLog(await projectStateDir(project.root), context.env.get("VOX_RELEASE_LOG"), context.cwd);
  const release = resolveRelease(await readReleases(paths.dir, { log: paths.log }), parseWhich(which));
  return { image: release.image, manifest: await readStoredManifest(paths.dir, release.manifest_content_hash), project, release };
}

/**
 * What `vox deploy up|down` run: with `--from <ref>`, the Compose bundle published there (`--target compose` only;
 * its files as published, every image pinned), else `releaseInput`. The Compose project is named after the
 * bundle's repository, so `down --from` finds what `up --from` made.
 */
export async function deployInput(args: ParsedArgs, context: CommandContext): Promise<ReleaseInput | BundleDeployment> {
  const from = args.string("from");
  if (from === undefined) return releaseInput(args, context);
  const other = ["image", "release", "manifest"].find((name) => args.string(name) !== undefined);
  if (other) throw usageError("E_USAGE", `Cannot use --from with --${other}: a bundle names its own images`, "Pass --from <ref> alone, or --image/--release");
  if (args.string("target") !== "compose") throw usageError("E_USAGE", `Cannot run a Compose bundle with --target ${args.string("target") ?? "(none)"}`, "Use --target compose with --from");
  const reference = parseReference(from);
  const client = await registryClient(args, context, [from]);
  const { digest, files } = await readComposeBundle(client, reference);
  const name = reference.repository.split("/").at(-1)!.toLowerCase().replace(/[^a-z0-9_-]/g, "-");
  return { name, bundle: formatReference({ registry: reference.registry, repository: reference.repository, digest }), files };
}

function parseWhich(which: string | undefined): number | "latest" {
  if (which === undefined || which === "latest") return "latest";
  if (/^[1-9]\d*$/.test(which)) return Number(which);
  throw usageError("E_USAGE", `Cannot use --release ${which}: expected a sequence number or latest`, "`vox deploy releases` lists them");
}
