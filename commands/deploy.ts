// `vox lock`, `vox deploy build` and `vox deploy schema`: daemonless OCI packaging from Vox.toml and vox.lock.
// Option resolution and reporting only; the work is in deploy/, pm/ and oci/.

import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { BUILD_VERSION } from "../build/constants.ts";
import type { CommandContext, Handler, ParsedArgs } from "../cli/mod.ts";
import { ASSEMBLY_FORMAT, buildImage, type BuildResult, checkPlatformFile, noPlatformManifestError, platformProblemsError, pushBuild, resolveLock } from "../deploy/mod.ts";
import { progressReporter } from "../download/mod.ts";
import { usageError, VoxError } from "../errors/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { formatReference, openLayout, parsePlatform, parseReference } from "../oci/mod.ts";
import { platformJsonSchema } from "../platform/mod.ts";
import { collectInputs, loadProject, projectStateDir, voxManifestJsonSchema, writeLock } from "../pm/mod.ts";
import { parseSourceDateEpoch } from "../release/mod.ts";
import { cacheDir } from "./_pull.ts";
import { registryClient } from "./_registry.ts";
import { renderJson } from "../cli/json.ts";

export const lockCommand: Handler = async (args, context) => {
  const project = await loadProject(resolve(context.cwd, args.string("project") ?? "."));
  const platforms = (project.manifest.deploy?.platforms ?? []).map(parsePlatform);
  const inputs = await collectInputs(project.root, project.manifest.deploy?.copy ?? []);
  const registry = await registryClient(args, context, [project.manifest.deploy?.base]);
  const lock = await resolveLock(project, inputs, platforms, { registry, toolVersion: BUILD_VERSION });
  await writeLock(project.lockPath, lock);
  if (args.flag("json")) context.out.stdout(renderJson("vox.lock-result/1", { lock: project.lockPath, ...lock }));
  else {
    const base = lock.base ? `base ${lock.base.reference} → ${lock.base.digest}\n${lock.base.platforms.map((p) => `  ${p.platform}: ${p.digest}`).join("\n")}\n` : "base scratch\n";
    context.out.stdout(`${base}${lock.inputs.map((i) => `input ${i.from} → ${i.to}: ${i.files} files, ${i.hash}`).join("\n")}\nwrote ${project.lockPath}\n`);
  }
};

export const deployBuildCommand: Handler = async (args, context) => {
  if (args.flag("frozen") && args.string("push")) throw usageError("E_USAGE", "Cannot use --frozen with --push: pushing needs the network", "Drop --frozen, or push later from the layout");
  const project = await loadProject(resolve(context.cwd, args.string("project") ?? "."));
  const stateDir = await projectStateDir(project.root);
  const output = parseOutput(args.string("output"), { cwd: context.cwd, stateDir, version: project.manifest.package.version });
  const platforms = args.list("platform").flatMap((p) => p.split(",")).filter(Boolean);
  const push = args.string("push") ? parseReference(args.string("push")!) : undefined;
  const registry = args.flag("frozen") ? undefined : await registryClient(args, context, [project.manifest.deploy?.base, push && formatReference(push)]);
  const result = await buildImage(project, {
    outputDir: output.dir,
    tag: output.tag,
    ...(platforms.length > 0 ? { platforms } : {}),
    locked: args.flag("locked"),
    frozen: args.flag("frozen"),
    // Default 0: an image digest should change with content, not with when or where it was built.
    sourceDateEpoch: parseSourceDateEpoch(context.env.get("SOURCE_DATE_EPOCH") || undefined) ?? 0,
  }, {
    ...(registry ? { registry } : {}),
    cacheDir: cacheDir(context),
    env: context.env,
    spawner: context.spawner,
    hostname: hostname(),
    toolVersion: BUILD_VERSION,
    log: (line) => context.out.stderr(`${line}\n`),
    ...withProgress(progressReporter("packing layers", context.out)),
  });
  const pushed = push && registry ? await pushBuild(registry, push, result, await openLayout(result.outputDir), project.manifest.deploy?.base) : undefined;
  await writeRelease(join(stateDir, "release.json"), result, pushed);
  report(args, context, result, pushed);
};

export const deploySchemaCommand: Handler = async (args, context) => {
  context.out.stdout(`${JSON.stringify(args.flag("platform") ? platformJsonSchema() : voxManifestJsonSchema(), null, 2)}\n`);
};

/** `vox deploy validate`: the problems (exit 1), or the normalized manifest and its content hash, and with --explain the defaults. */
export const deployValidateCommand: Handler = async (args, context) => {
  const named = args.string("manifest");
  const start = resolve(context.cwd, args.string("project") ?? (named === undefined ? "." : dirname(resolve(context.cwd, named))));
  const project = await loadProject(start).catch((error: unknown) => {
    if (named !== undefined && error instanceof VoxError && error.code === "E_NO_PROJECT") return undefined;
    throw error;
  });
  const options = { cwd: context.cwd, ...(named === undefined ? {} : { manifest: named }) };
  const found = await checkPlatformFile(project, options);
  if (!found) throw noPlatformManifestError(project!, context.cwd);
  const { path, source, validation } = found;
  const explain = args.flag("explain");
  if (args.flag("json")) {
    const result = validation.ok
      ? { ok: true, path, content_hash: validation.contentHash, manifest: validation.manifest, ...(explain ? { defaults: validation.defaults } : {}) }
      : { ok: false, path, problems: validation.problems };
    context.out.stdout(renderJson("vox.validate/1", result));
    return validation.ok ? 0 : 1;
  }
  if (!validation.ok) throw platformProblemsError(source, validation.problems);
  const lines = [`${source}: valid (${validation.manifest.schema}, workload ${validation.manifest.name})`, `content_hash ${validation.contentHash}`];
  if (explain) {
    const width = Math.max(...validation.defaults.map((d) => `${d.key} = ${tomlValue(d.value)}`.length));
    lines.push(`defaults applied (${validation.defaults.length}):`, ...validation.defaults.map((d) => `  ${`${d.key} = ${tomlValue(d.value)}`.padEnd(width)}  # ${d.why}`));
  }
  context.out.stdout(`${lines.join("\n")}\n`);
};

/** A default as one would write it in TOML; a value that TOML cannot hold (null) is shown as "(none)". */
function tomlValue(value: unknown): string {
  return value === null ? "(none)" : JSON.stringify(value);
}

function report(args: ParsedArgs, context: CommandContext, result: BuildResult, pushed: { reference: string; referrers: string } | undefined): void {
  const release = { image_digest: result.indexDigest, manifest_content_hash: result.manifestContentHash };
  if (args.flag("json")) {
    const { referrers: _documents, index: _index, ...rest } = result;
    context.out.stdout(renderJson("vox.build/1", { ...rest, assembly: ASSEMBLY_FORMAT, release, ...(pushed ? { pushed } : {}) }));
    return;
  }
  const lines = [
    `image ${result.indexDigest}`,
    ...result.platforms.map((p) => `  ${p.platform}: ${p.manifest}${p.base ? ` (base ${p.base})` : ""}`),
    ...result.attachments.map((a) => `  referrer ${a.artifactType}: ${a.digest}`),
    `layout oci:${result.outputDir}:${result.tag}`,
    ...(pushed ? [`pushed ${pushed.reference} (referrers: ${pushed.referrers})`] : []),
    `release (${release.image_digest}, ${release.manifest_content_hash ?? `no platform manifest: ${result.platformManifest.path} does not exist`})`,
  ];
  context.out.stdout(`${lines.join("\n")}\n`);
}

/** The Release tuple of the last build, for `vox deploy release` to record; written beside, then renamed. */
async function writeRelease(path: string, result: BuildResult, pushed: { reference: string } | undefined): Promise<void> {
  const release = {
    image_digest: result.indexDigest,
    manifest_content_hash: result.manifestContentHash,
    // Relative to the project root; null when there is none (a build needs no manifest, a Release does).
    manifest: result.platformManifest.found ? result.platformManifest.path : null,
    image: pushed?.reference ?? `oci:${result.outputDir}:${result.tag}@${result.indexDigest}`,
    platforms: result.platforms,
  };
  await writeFileAtomic(path, renderJson("vox.release/1", release, { indent: 2 }));
}

/** `oci:<dir>[:<tag>]`; the default is `.vox/oci` in the project, named after the package version. */
function parseOutput(text: string | undefined, where: { cwd: string; stateDir: string; version: string | undefined }): { dir: string; tag: string } {
  const fallbackTag = where.version ?? "latest";
  if (text === undefined) return { dir: join(where.stateDir, "oci"), tag: fallbackTag };
  const match = /^oci:(.+?)(?::([\w][\w.-]{0,127}))?$/.exec(text);
  if (!match) throw usageError("E_USAGE", `Cannot use --output ${text}: expected oci:<dir>[:<tag>]`, "For example --output oci:dist/image:1.0.0");
  return { dir: resolve(where.cwd, match[1]!), tag: match[2] ?? fallbackTag };
}

/** The progress seam only on a terminal: `progressReporter` gives none otherwise. */
function withProgress(progress: ReturnType<typeof progressReporter>): { progress?: (done: number, total: number) => void } {
  return progress ? { progress } : {};
}
