// `vox ci image-policy <ref>|oci:<dir>[:<tag>]`: the deploy contract's CI gates on an image. Reads the image (layout
// or registry) and the project (Vox.toml, vox.lock, the Release log); the gates themselves are pure, in gates/.

import { join, resolve } from "node:path";
import { renderJson } from "../cli/json.ts";
import type { CommandContext, Handler, ParsedArgs } from "../cli/mod.ts";
import { ASSEMBLY_FORMAT } from "../deploy/mod.ts";
import { ExitCode } from "../errors/mod.ts";
import { evaluateImagePolicy, gatherImageEvidence, type ImageEvidence, type ImageReader, layoutReader, type ProjectEvidence, registryReader, renderPolicyReport } from "../gates/mod.ts";
import { openLayout, parseReference } from "../oci/mod.ts";
import { parseLayoutSource } from "../oci/pull/mod.ts";
import { collectInputs, DEFAULT_PLATFORMS, loadProject, lockProblems, STATE_DIR } from "../pm/mod.ts";
import { projectReleaseLog, readReleases } from "../releases/mod.ts";
import { registryClient } from "./_registry.ts";

/** `vox ci image-policy <ref>|oci:<dir>[:<tag>] [--project DIR] [--insecure] [--json]` */
export const imagePolicyCommand: Handler = async (args, context) => {
  const source = args.positionals[0]!;
  const image = await gatherImageEvidence(source, await imageReader(source, args, context));
  const projectDir = args.string("project");
  const project = projectDir === undefined ? undefined : await projectEvidence(resolve(context.cwd, projectDir), image, context);
  const report = evaluateImagePolicy(image, project);
  context.out.stdout(args.flag("json") ? renderJson("vox.image-policy/1", report, { indent: 2 }) : renderPolicyReport(report));
  return report.ok ? ExitCode.ok : ExitCode.failure;
};

async function imageReader(source: string, args: ParsedArgs, context: CommandContext): Promise<ImageReader> {
  const layout = parseLayoutSource(source);
  if (layout) return layoutReader(await openLayout(resolve(context.cwd, layout.dir)), layout);
  const client = await registryClient(args, context, [source]);
  // Referrers are listed where the image is read: on the mirror, when the registry is mirrored.
  const mirrored = (registry: string) => client.mirrors.get(registry)?.host ?? registry;
  return registryReader({ ...client, listReferrers: (repo, subject, options) => client.listReferrers({ ...repo, registry: mirrored(repo.registry) }, subject, options) }, parseReference(source));
}

/** Vox.toml, vox.lock (and whether it still describes the inputs), the input files, and the Release naming the image. */
async function projectEvidence(dir: string, image: ImageEvidence, context: CommandContext): Promise<ProjectEvidence> {
  const project = await loadProject(dir);
  const deploy = project.manifest.deploy;
  const inputs = await collectInputs(project.root, deploy?.copy ?? []);
  // Read only: the log's directory is not created for a check.
  const paths = projectReleaseLog(join(project.root, STATE_DIR), context.env.get("VOX_RELEASE_LOG"), context.cwd);
  const release = (await readReleases(paths.dir, { log: paths.log })).filter((r) => r.image_digest === image.digest).at(-1);
  return {
    manifestPath: project.manifestPath,
    platforms: deploy?.platforms ?? DEFAULT_PLATFORMS,
    lockPath: project.lockPath,
    ...(project.lock ? { lock: project.lock } : {}),
    lockProblems: lockProblems(project.manifest, project.lock, inputs, { assembly: ASSEMBLY_FORMAT }),
    inputFiles: inputs.flatMap((input) => input.files.flatMap((f) => (f.type === "file" && f.sha256 ? [{ path: `/${f.path}`, sha256: f.sha256 }] : []))),
    ...(release ? { release: { seq: release.seq, manifest_content_hash: release.manifest_content_hash } } : {}),
    ...(deploy?.policy ? { policy: deploy.policy } : {}),
  };
}
