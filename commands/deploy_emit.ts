// `vox deploy emit`: descriptors for one target from a Release (the log's tuple, by default the latest) or from a
// pinned image and the platform manifest. Option resolution and reporting only; the mapping is in emit/.

import { resolve } from "node:path";
import type { CommandContext, Handler, ParsedArgs } from "../cli/mod.ts";
import { loadPlatformManifest } from "../deploy/platform_file.ts";
import { EMIT_TARGETS, type EmitInput, type EmitTarget, emitDescriptors, isPinnedImage } from "../emit/mod.ts";
import { writeEmitted } from "../emit/write.ts";
import { usageError, VoxError } from "../errors/mod.ts";
import { findProjectRoot, loadProject, projectStateDir } from "../pm/mod.ts";
import { projectReleaseLog, readReleases, readStoredManifest, type ReleaseRecord, resolveRelease } from "../releases/mod.ts";

/** `vox deploy emit --target compose|kubernetes|quadlet|systemd [--release <seq>|latest | --image <ref>@sha256:… [--manifest FILE]] [--out DIR] [--strict] [--json]` */
export const deployEmitCommand: Handler = async (args, context) => {
  const target = args.string("target");
  if (!target || !(EMIT_TARGETS as readonly string[]).includes(target)) {
    throw usageError("E_USAGE", `Cannot emit for --target ${target ?? "(none)"}: not a descriptor target`, `Use --target ${EMIT_TARGETS.join("|")}`);
  }
  const { input, release } = await emitInput(args, context);
  const { files, notExpressible } = emitDescriptors(target as EmitTarget, input);
  for (const n of notExpressible) context.out.stderr(`not expressible: ${n.field}: ${n.why}\n`);
  if (args.flag("strict") && notExpressible.length > 0) {
    throw new VoxError("E_NOT_EXPRESSIBLE", `Cannot emit ${target} descriptors under --strict: ${notExpressible.length} field(s) not expressible (listed above)`, {
      hint: "Change those fields in the manifest, choose another target, or drop --strict",
    });
  }
  const out = args.string("out");
  const written = out ? await writeEmitted(resolve(context.cwd, out), files) : undefined;
  if (args.flag("json")) {
    const report = { schema: "vox.emit/1", target, image: input.image, release: release?.seq ?? null, files: written ? files.map((f) => f.path) : files, not_expressible: notExpressible, ...(written ? { out: resolve(context.cwd, out!), removed: written.removed } : {}) };
    context.out.stdout(`${JSON.stringify(report)}\n`);
  } else if (written) {
    context.out.stdout(`${written.written.map((p) => `wrote ${p}`).join("\n")}\n`);
  } else {
    context.out.stdout(files.map((f) => (files.length > 1 ? `# ==> ${f.path} <==\n${f.content}` : f.content)).join("\n"));
  }
};

/**
 * What to emit from: `--image` (with `--manifest` or the project's manifest) for a build not yet released, else a
 * Release from the log (`--release`, default latest), whose stored manifest is re-hashed on read. A Release is
 * only ever its digests: the descriptors of an earlier release are reproduced byte for byte after a rollback.
 */
async function emitInput(args: ParsedArgs, context: CommandContext): Promise<{ input: EmitInput; release?: ReleaseRecord }> {
  const image = args.string("image");
  const which = args.string("release");
  if (image !== undefined) {
    if (which !== undefined) throw usageError("E_USAGE", "Cannot use --image with --release: a Release already names its image", "Pass one of them");
    if (!isPinnedImage(image)) throw usageError("E_USAGE", `Cannot emit for --image ${image}: descriptors pin the image by digest`, "Pass --image <repo>@sha256:<64 hex> (vox deploy build prints the digest)");
    const root = await findProjectRoot(resolve(context.cwd, args.string("project") ?? ".")).catch(() => undefined);
    const project = root ? await loadProject(root) : undefined;
    const manifest = args.string("manifest");
    const { manifest: loaded } = await loadPlatformManifest(project, { cwd: context.cwd, ...(manifest !== undefined ? { manifest } : {}) });
    return { input: { image, manifest: loaded } };
  }
  if (args.string("manifest") !== undefined) throw usageError("E_USAGE", "Cannot use --manifest without --image: a Release carries its own manifest", "Pass --image <repo>@sha256:… with --manifest, or --release <seq>|latest alone");
  const project = await loadProject(resolve(context.cwd, args.string("project") ?? "."));
  const paths = projectReleaseLog(await projectStateDir(project.root), context.env.get("VOX_RELEASE_LOG"), context.cwd);
  const records = await readReleases(paths.dir, { log: paths.log });
  const release = resolveRelease(records, parseWhich(which));
  return { input: { image: release.image, manifest: await readStoredManifest(paths.dir, release.manifest_content_hash) }, release };
}

function parseWhich(which: string | undefined): number | "latest" {
  if (which === undefined || which === "latest") return "latest";
  if (/^[1-9]\d*$/.test(which)) return Number(which);
  throw usageError("E_USAGE", `Cannot emit --release ${which}: expected a sequence number or latest`, "`vox deploy releases` lists them");
}
