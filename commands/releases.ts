// `vox deploy release`, `vox deploy releases [verify|repair]` and `vox deploy rollback`: the Release log.
// Option resolution and reporting only; the log, the manifest store, the image checks and the push are in releases/.

import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { BUILD_VERSION } from "../build/constants.ts";
import type { CommandContext, Handler, ParsedArgs } from "../cli/mod.ts";
import { gitFacts } from "../deploy/mod.ts";
import { loadPlatformManifest } from "../deploy/platform_file.ts";
import { usageError, VoxError } from "../errors/mod.ts";
import { formatReference, isDigest, type Layout, openLayout, parseReference } from "../oci/mod.ts";
import { canonicalManifestBytes } from "../platform/mod.ts";
import { loadProject, type Project, projectStateDir } from "../pm/mod.ts";
import {
  type ChainProblem,
  inspectLog,
  makeRelease,
  pinnedImage,
  type PinnedReference,
  type PushedManifest,
  projectReleaseLog,
  readReleases,
  type ReleaseLogPaths,
  type ReleaseRecord,
  repairTornTail,
  rollbackRelease,
  storedManifestPath,
} from "../releases/mod.ts";
import { registryClient } from "./_registry.ts";
import { renderJson } from "../cli/json.ts";

/** `vox deploy release [--image <ref>@sha256:…] [--push <registry/repository>] [--json]` */
export const deployReleaseCommand: Handler = async (args, context) => {
  const project = await loadProject(resolve(context.cwd, args.string("project") ?? "."));
  const stateDir = await projectStateDir(project.root);
  const paths = projectReleaseLog(stateDir, context.env.get("VOX_RELEASE_LOG"), context.cwd);
  const push = pushTarget(args.string("push"));
  const image = args.string("image") !== undefined ? { reference: pinnedImage(args.string("image")!, "--image"), layouts: [] } : await lastBuild(project, stateDir);
  const layouts = await openLayouts([...image.layouts, join(stateDir, "oci")]);
  const onRegistry = image.reference.registry !== LOCAL_REGISTRY;
  const registry = onRegistry || push ? await registryClient(args, context, [onRegistry ? formatReference(image.reference) : undefined, push && formatReference(push)]) : undefined;
  const { manifest } = await loadPlatformManifest(project, { cwd: context.cwd });
  const { record, pushed } = await makeRelease(
    paths,
    { image: image.reference, manifestBytes: canonicalManifestBytes(manifest), ...(push ? { push } : {}) },
    {
      clock: context.clock,
      toolVersion: BUILD_VERSION,
      sourceRevision: async () => (await gitFacts(project.root, context.spawner)).revision ?? null,
      lookup: { layouts, ...(onRegistry && registry ? { registry } : {}) },
      ...(registry ? { registry } : {}),
    },
  );
  if (args.flag("json")) {
    context.out.stdout(renderJson("vox.release-recorded/1", { log: paths.log, release: record, manifest: storedManifestPath(paths.dir, record.manifest_content_hash), ...(pushed ? { pushed } : {}) }));
    return;
  }
  context.out.stdout(`${[...describeRecord(record, paths), ...(pushed ? [describePush(pushed)] : [])].join("\n")}\n`);
};

/** `vox deploy releases [--json]` */
export const deployReleasesCommand: Handler = async (args, context) => {
  const paths = await resolveLogPaths(args, context);
  const records = await readReleases(paths.dir, { log: paths.log });
  if (args.flag("json")) {
    context.out.stdout(renderJson("vox.releases/1", { log: paths.log, releases: records }));
    return;
  }
  if (records.length === 0) {
    context.out.stdout(`no releases yet in ${paths.log}\n`);
    return;
  }
  const rows = records.map((r) => `${String(r.seq).padStart(4)}  ${r.created}  ${r.image}  ${r.manifest_content_hash}${r.rollback_of === null ? "" : `  (rollback to ${r.rollback_of})`}`);
  context.out.stdout(`${rows.join("\n")}\ncurrent: release ${records.at(-1)!.seq}; log ${paths.log}\n`);
};

/** `vox deploy releases verify [--json]`: exit 1 and every problem when the log fails verification. */
export const deployReleasesVerifyCommand: Handler = async (args, context) => {
  const paths = await resolveLogPaths(args, context);
  const { records, problems, head } = await inspectLog(paths);
  if (args.flag("json")) {
    context.out.stdout(renderJson("vox.releases-verify/1", { log: paths.log, ok: problems.length === 0, records: records.length, head: head ?? null, problems }));
    return problems.length === 0 ? 0 : 1;
  }
  if (problems.length > 0) throw verifyFailure(paths, problems);
  context.out.stdout(`ok: ${paths.log}: ${records.length} release${records.length === 1 ? "" : "s"}, every hash and link intact${head && head.seq > 0 ? `, head at release ${head.seq}` : ""}\n`);
};

/** `vox deploy releases repair`: removes a torn last line (a crash mid-append) and nothing else. */
export const deployReleasesRepairCommand: Handler = async (args, context) => {
  const paths = await resolveLogPaths(args, context);
  const repaired = await repairTornTail(paths);
  const report = repaired ? { log: paths.log, repaired: true, ...repaired } : { log: paths.log, repaired: false };
  if (args.flag("json")) context.out.stdout(renderJson("vox.releases-repair/1", report));
  else context.out.stdout(repaired ? `removed ${repaired.removed} bytes of a cut-short last line at byte ${repaired.offset} of ${paths.log}; kept in ${repaired.savedTo}\n` : `nothing to repair in ${paths.log}\n`);
};

/** `vox deploy rollback [<seq>] [--json]` */
export const deployRollbackCommand: Handler = async (args, context) => {
  const text = args.positionals[0];
  if (text !== undefined && !/^[1-9]\d{0,8}$/.test(text)) throw usageError("E_USAGE", `Cannot roll back to '${text}': not a release number`, "Name a release by its seq (`vox deploy releases` lists them), or omit it for the one before the current");
  const paths = await resolveLogPaths(args, context);
  const { record, target } = await rollbackRelease(paths, text === undefined ? undefined : Number(text), { clock: context.clock, toolVersion: BUILD_VERSION });
  if (args.flag("json")) {
    context.out.stdout(renderJson("vox.rollback/1", { log: paths.log, release: record, rolled_back_to: target }));
    return;
  }
  context.out.stdout(`${describeRecord(record, paths).join("\n")}\n`);
};

/** The registry name a Release gives an image that lives only in a local layout (Podman's name for local images). */
const LOCAL_REGISTRY = "localhost";

/** Listing, verifying and rolling back need a project only to find `.vox` when VOX_RELEASE_LOG does not say. */
async function resolveLogPaths(args: ParsedArgs, context: CommandContext): Promise<ReleaseLogPaths> {
  const configured = context.env.get("VOX_RELEASE_LOG");
  const stateDir = configured === undefined ? await projectStateDir((await loadProject(resolve(context.cwd, args.string("project") ?? "."))).root) : "";
  return projectReleaseLog(stateDir, configured, context.cwd);
}

/** `--push` names a repository: the artifact is found through the image's digest, so a tag would only mislead. */
function pushTarget(text: string | undefined): { registry: string; repository: string } | undefined {
  if (text === undefined) return undefined;
  const reference = parseReference(text);
  if (reference.tag !== undefined || reference.digest !== undefined) {
    throw usageError("E_USAGE", `Cannot push the platform manifest to '${text}': name a repository, without a tag or digest`, `Pass --push ${reference.registry}/${reference.repository}; the manifest is attached to the image by digest`);
  }
  return { registry: reference.registry, repository: reference.repository };
}

/**
 * The image of the last `vox deploy build` (`.vox/release.json`): pushed, its registry reference; else the layout it
 * was written to, named `localhost/<package>@<digest>`.
 */
async function lastBuild(project: Project, stateDir: string): Promise<{ reference: PinnedReference; layouts: string[] }> {
  const path = join(stateDir, "release.json");
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") throw new VoxError("E_NO_BUILD", `Cannot release: no --image, and no build recorded in ${path}`, { hint: "Run `vox deploy build` first, or pass --image <registry/repository>@sha256:<hex>" });
    throw error;
  });
  const build = parseLastBuild(text);
  if (!build) throw new VoxError("E_NO_BUILD", `Cannot release the last build: ${path} does not name an image by digest`, { hint: "Run `vox deploy build` again, or pass --image <registry/repository>@sha256:<hex>" });
  const layout = /^oci:(.+):[\w][\w.-]{0,127}@(sha256:[0-9a-f]{64})$/.exec(build.image);
  if (!layout) return { reference: pinnedImage(build.image, path), layouts: [] };
  return { reference: pinnedImage(`${LOCAL_REGISTRY}/${project.manifest.package.name}@${build.digest}`, path), layouts: [layout[1]!] };
}

function parseLastBuild(text: string): { digest: string; image: string } | undefined {
  try {
    const value = JSON.parse(text) as { image_digest?: unknown; image?: unknown };
    const { image_digest: digest, image } = value;
    return typeof digest === "string" && isDigest(digest) && typeof image === "string" && image.endsWith(`@${digest}`) ? { digest, image } : undefined;
  } catch {
    return undefined;
  }
}

/** The layouts among `dirs` that exist (a project that never built locally has none). */
async function openLayouts(dirs: readonly string[]): Promise<Layout[]> {
  const layouts: Layout[] = [];
  for (const dir of new Set(dirs)) {
    const layout = await openLayout(dir).catch((error: unknown) => {
      if (error instanceof VoxError && error.code === "E_LAYOUT") return undefined;
      throw error;
    });
    if (layout) layouts.push(layout);
  }
  return layouts;
}

function describeRecord(record: ReleaseRecord, paths: ReleaseLogPaths): string[] {
  return [
    `release ${record.seq}${record.rollback_of === null ? "" : ` (rollback to release ${record.rollback_of})`}: (${record.image_digest}, ${record.manifest_content_hash})`,
    `  image ${record.image}`,
    `  manifest ${storedManifestPath(paths.dir, record.manifest_content_hash)}`,
    `  log ${paths.log}`,
  ];
}

function describePush(pushed: PushedManifest): string {
  return `  pushed ${pushed.image}${pushed.imagePushed ? " (image pushed from the layout)" : ""}, platform manifest artifact ${pushed.artifact} (referrers: ${pushed.via})`;
}

function verifyFailure(paths: ReleaseLogPaths, problems: readonly ChainProblem[]): VoxError {
  const torn = problems.some((p) => p.kind === "torn") && problems.every((p) => p.kind === "torn");
  return new VoxError("E_RELEASE_LOG", `Cannot verify ${paths.log}: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.map((p) => `  - ${p.message}`).join("\n")}`, {
    hint: torn
      ? "A release was interrupted mid-write; `vox deploy releases repair` moves the cut-short line aside"
      : "The log is append-only and hash-chained: restore it from a copy you trust, or move it aside to start a new one",
  });
}

