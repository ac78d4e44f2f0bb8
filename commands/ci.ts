// `vox ci …`: release engineering handlers (build, checksums, sign, verify, pm-provenance).
// Each resolves options in one place, calls release/ or pm/, and renders a report; none prints from deep inside.

import { join, resolve } from "node:path";
import { compressionWorkers } from "../archive/mod.ts";
import type { CommandContext, Handler, ParsedArgs } from "../cli/mod.ts";
import { ExitCode, usageError, VoxError } from "../errors/mod.ts";
import { formatPublicKey } from "../integrity/mod.ts";
import { checkProvenanceDir } from "../pm/mod.ts";
import { detectHostTarget, findCheckout, findTarget, PACKAGES, type Package, parseTag, RELEASE_SOURCE, type Target, TARGETS } from "../policy/mod.ts";
import { type AttestationReport, attestArchives, checkoutVersion, loadTrustedKeys, readAttestation, readPublicKeyFile, releaseBuild, type ReleaseBuildReport, releaseWorkflowIdentity, resolveBun, resolveSourceDateEpoch, signReleaseFile, verifyReleaseDir, writeReleaseChecksums } from "../release/mod.ts";
import { renderJson } from "../cli/json.ts";

/** `vox ci release-build` */
export const releaseBuildCommand: Handler = async (args, context) => {
  const root = await findCheckout(context.cwd, context.env);
  const hostTarget = await detectHostTarget(context.execPath);
  const targets = selectTargets(args.list("target"), hostTarget);
  const packages = selectPackages(args.string("package") ?? "both");
  const tag = parseTag(args.string("version") ?? `v${await checkoutVersion(root)}`);
  const trustedKeys = await Promise.all(args.list("trusted-key").map(readPublicKeyLine));
  const report = await releaseBuild(
    {
      root,
      targets,
      packages,
      tag,
      outDir: resolve(context.cwd, args.string("out-dir") ?? "dist"),
      trustedKeys,
      sourceDateEpoch: await resolveSourceDateEpoch(context.env.get("SOURCE_DATE_EPOCH"), root, context.spawner),
      smoke: !args.flag("no-smoke"),
      hostTriple: hostTarget.triple,
      compressionWorkers: compressionWorkers(context.env.get("VOX_COMPRESSION_WORKERS")),
    },
    { spawner: context.spawner, bun: await resolveBun(root, context.env), log: (line) => context.out.stderr(`${line}\n`) },
  );
  context.out.stdout(args.flag("json") ? renderJson("vox.release-build/1", report, { indent: 2 }) : renderBuildReport(report));
  return report.smoke.some((s) => s.status === "failed") ? ExitCode.failure : ExitCode.ok;
};

function renderBuildReport(report: ReleaseBuildReport): string {
  const lines = [`release ${report.tag} (SOURCE_DATE_EPOCH=${report.sourceDateEpoch}) in ${report.outDir}`];
  for (const artifact of report.artifacts) {
    const smoke = report.smoke.find((s) => s.basename === artifact.basename);
    lines.push(`  ${artifact.basename}  ${artifact.sha256}  ${smoke ? `${smoke.status} (${smoke.runner})` : "smoke skipped"}`);
  }
  for (const script of report.installScripts) lines.push(`  ${script}`);
  lines.push(`  ${report.checksums}`);
  return `${lines.join("\n")}\n`;
}

function selectTargets(requested: readonly string[], host: Target): Target[] {
  if (requested.length === 0) return [host];
  if (requested.includes("all")) return [...TARGETS];
  return requested.map((triple) => {
    const target = findTarget(triple);
    if (!target) throw usageError("E_TARGET", `Cannot build for '${triple}': not a supported target triple`, `Supported: ${TARGETS.map((t) => t.triple).join(", ")} (or 'all').`);
    return target;
  });
}

const PACKAGE_CHOICES: Record<string, readonly Package[]> = {
  vox: PACKAGES.filter((p) => p.name === "vox"),
  bootstrap: PACKAGES.filter((p) => p.name === "vox-bootstrap"),
  both: PACKAGES,
};

function selectPackages(choice: string): readonly Package[] {
  const packages = PACKAGE_CHOICES[choice];
  if (!packages) throw usageError("E_PACKAGE", `Cannot build package '${choice}': expected vox, bootstrap or both`);
  return packages;
}


/** The base64 line of a public key file, validated, for embedding into a build. */
async function readPublicKeyLine(file: string): Promise<string> {
  return formatPublicKey(await readPublicKeyFile(file)).split("\n")[1]!;
}

/** `vox ci checksums <dir>` */
export const checksumsCommand: Handler = async (args, context) => {
  const dir = resolve(context.cwd, args.positionals[0]!);
  const entries = await writeReleaseChecksums(dir).catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_CHECKSUMS_DIR", `Cannot write checksums for ${dir}: ${error.code ?? error.message}`, { hint: "Pass a directory that holds release archives.", exitCode: 2 });
  });
  if (entries.length === 0) throw new VoxError("E_CHECKSUMS_EMPTY", `Cannot write checksums for ${dir}: it holds no release archives`, { hint: "Archives are named vox-<tag>-<triple>.tar.gz|zip (see vox policy)." });
  context.out.stdout(args.flag("json") ? renderJson("vox.checksums/1", { file: join(dir, RELEASE_SOURCE.checksumsName), entries }, { indent: 2 }) : entries.map((e) => `${e.sha256}  ${e.basename}\n`).join(""));
};

/** `vox ci sign --key <file> --tag <tag> [--repo owner/repo] <file>` */
export const signCommand: Handler = async (args, context) => {
  const keyFile = required(args, "key");
  const tag = parseTag(required(args, "tag")).tag;
  const file = resolve(context.cwd, args.positionals[0]!);
  const { signature, keyId } = await signReleaseFile(file, {
    keyFile: resolve(context.cwd, keyFile),
    password: context.env.get("VOX_SIGNING_KEY_PASSWORD"),
    scope: { repo: args.string("repo") ?? RELEASE_SOURCE.repo, tag },
    timestamp: signatureTimestamp(context),
  });
  context.out.stdout(`${signature}\n`);
  context.out.stderr(`signed ${file} with key ${keyId} for ${args.string("repo") ?? RELEASE_SOURCE.repo} ${tag}\n`);
};

function signatureTimestamp(context: CommandContext): number {
  const epoch = context.env.get("SOURCE_DATE_EPOCH");
  return epoch && /^\d+$/.test(epoch) ? Number(epoch) : Math.floor(context.clock.now().getTime() / 1000);
}

/** `vox ci verify <dir> --tag <tag>` */
export const verifyCommand: Handler = async (args, context) => {
  const tag = parseTag(required(args, "tag")).tag;
  const dir = resolve(context.cwd, args.positionals[0]!);
  const trustedKeys = await loadTrustedKeys(args.list("trusted-key").map((f) => resolve(context.cwd, f)));
  const result = await verifyReleaseDir(dir, { scope: { repo: args.string("repo") ?? RELEASE_SOURCE.repo, tag }, trustedKeys });
  const attestation = await attestationReport(args.list("attestation").map((f) => resolve(context.cwd, f)), result.files, releaseWorkflowIdentity(result.repo, tag));
  const ok = result.ok && (attestation?.ok ?? true);
  if (args.flag("json")) {
    context.out.stdout(renderJson("vox.release-verify/1", { ...result, ok, ...(attestation ? { attestation } : {}) }, { indent: 2 }));
  } else {
    const lines = [`signature: ok (key ${result.keyId}, ${result.repo} ${result.tag})`, ...result.files.map((f) => `${f.status === "ok" ? "ok  " : "FAIL"}  ${f.basename}: ${f.detail}`)];
    if (attestation) lines.push(...renderAttestation(attestation));
    context.out.stdout(`${lines.join("\n")}\n`);
  }
  return ok ? ExitCode.ok : ExitCode.failure;
};

/** `--attestation`: each archive must be named, with its sha256, by a bundle from the release workflow at this tag. */
async function attestationReport(files: readonly string[], verified: ReadonlyArray<{ basename: string; sha256: string }>, identity: string): Promise<AttestationReport | undefined> {
  if (files.length === 0) return undefined;
  const bundles = await Promise.all(files.map((file) => readAttestation(file, identity)));
  return attestArchives(verified.filter((f) => /\.(tar\.gz|zip)$/.test(f.basename)), bundles, identity);
}

function renderAttestation(report: AttestationReport): string[] {
  return [
    ...report.bundles.map((b) => `${b.problems.length === 0 ? "ok  " : "FAIL"}  attestation ${b.file}: ${b.problems.length === 0 ? `signed by ${b.identity}, ${b.subjects.length} subject(s)` : b.problems.join("; ")}`),
    ...report.archives.map((a) => `${a.status === "ok" ? "ok  " : "FAIL"}  ${a.basename}: ${a.detail}`),
    `attestations ${report.scope}`,
  ];
}

/** `vox ci pm-provenance [--strict] [--root <dir>]` */
export const pmProvenanceCommand: Handler = async (args, context) => {
  const report = await checkProvenanceDir(resolve(context.cwd, args.string("root") ?? "."), context.clock);
  const invalid = report.files.filter((f) => !f.valid);
  const strict = args.flag("strict");
  const failed = strict && (!report.found || report.files.length === 0 || invalid.length > 0);
  if (args.flag("json")) {
    context.out.stdout(renderJson("vox.pm-provenance-check/1", { ...report, strict, ok: !failed }, { indent: 2 }));
  } else {
    const lines = report.found ? [] : [`no provenance directory at ${report.dir}`];
    if (report.found && report.files.length === 0) lines.push(`no sidecars in ${report.dir}`);
    for (const file of report.files) lines.push(file.valid ? `ok    ${file.file} (${file.package}@${file.version})` : `${strict ? "error" : "warn "} ${file.file}: ${file.problems.join("; ")}`);
    lines.push(`${report.files.length - invalid.length} valid, ${invalid.length} invalid${strict ? " (strict)" : ""}`);
    (failed ? context.out.stderr : context.out.stdout)(`${lines.join("\n")}\n`);
  }
  return failed ? ExitCode.failure : ExitCode.ok;
};

function required(args: ParsedArgs, name: string): string {
  const value = args.string(name);
  if (value === undefined) throw usageError("E_USAGE", `Cannot run 'vox ${args.path.join(" ")}': --${name} is required`, `Run 'vox ${args.path.join(" ")} --help'.`);
  return value;
}
