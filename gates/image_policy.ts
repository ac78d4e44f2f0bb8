import { Annotation } from "../deploy/annotations.ts";
import { type Digest, MediaType, parsePlatform, samePlatform } from "../oci/mod.ts";
import { PLATFORM_MANIFEST_ARTIFACT_TYPE } from "../platform/types.ts";
import { DEFAULT_PLATFORMS, POLICY_GATES, type PolicyGate, type VoxLock } from "../pm/mod.ts";
import type { ImageEvidence, ReferrerEvidence } from "./evidence.ts";

export type PolicyLevel = "required" | "advisory";
/** `n/a`: the gate does not apply (no Release names the image); it never fails a run. */
export type GateStatus = "pass" | "fail" | "n/a";

/** What the project says the image must be, read by the command (the gates do no I/O). */
export interface ProjectEvidence {
  manifestPath: string;
  /** `[deploy] platforms` (its default when not written). */
  platforms: readonly string[];
  lockPath: string;
  lock?: VoxLock;
  /** Why vox.lock no longer describes the project (`lockProblems`); empty when current. */
  lockProblems: readonly string[];
  /** Every regular file the project's `[[deploy.copy]]` entries add, with its content sha256 (hex). */
  inputFiles: ReadonlyArray<{ path: string; sha256: string }>;
  /** The latest Release in the project's log that names this image, if any. */
  release?: { seq: number; manifest_content_hash: string };
  /** `[deploy.policy]` as written (every gate defaults to required). */
  policy?: Partial<Record<PolicyGate, PolicyLevel>>;
}

export interface GateResult {
  gate: PolicyGate;
  level: PolicyLevel;
  status: GateStatus;
  /** One line: why it passed or failed. */
  reason: string;
  /** What was compared: digests, annotations, referrers. */
  evidence: string[];
}

export interface PolicyReport {
  schema: "vox.image-policy/1";
  image: string;
  digest: Digest;
  /** False when a required gate failed. */
  ok: boolean;
  gates: GateResult[];
}

type Verdict = Omit<GateResult, "gate" | "level">;
type Gate = (image: ImageEvidence, project: ProjectEvidence | undefined) => Verdict;

const REQUIRED_ANNOTATIONS = [Annotation.source, Annotation.revision, Annotation.version, Annotation.licenses, Annotation.title] as const;
const SBOM_TYPES: readonly string[] = [MediaType.cycloneDxJson, MediaType.spdxJson];
const NO_PROJECT = "not checked: no project (pass --project DIR)";

const GATES: Readonly<Record<PolicyGate, Gate>> = {
  "base-pinned": basePinned,
  lock: lockCurrent,
  platforms: platformsPresent,
  sbom,
  provenance,
  annotations: annotationsComplete,
  "release-manifest": releaseManifest,
};

/**
 * Runs every gate of `POLICY_GATES` over the evidence and decides the run: it fails when a required gate fails
 * (`[deploy.policy]` makes a gate advisory). Pure: the same evidence gives the same report.
 *
 * @example
 * ```ts
 * const report = evaluateImagePolicy(await gatherImageEvidence(ref, reader), projectEvidence);
 * report.gates.find((g) => g.gate === "platforms")?.status; // "pass"
 * ```
 */
export function evaluateImagePolicy(image: ImageEvidence, project: ProjectEvidence | undefined): PolicyReport {
  const gates = POLICY_GATES.map((gate): GateResult => ({ gate, level: project?.policy?.[gate] ?? "required", ...GATES[gate](image, project) }));
  return { schema: "vox.image-policy/1", image: image.source, digest: image.digest, ok: gates.every((g) => g.status !== "fail" || g.level === "advisory"), gates };
}

/**
 * The report for a terminal: one line per gate (`pass`, `FAIL`, `warn` for an advisory failure, `n/a`), its
 * evidence indented below, and the verdict.
 *
 * @example
 * ```ts
 * process.stdout.write(renderPolicyReport(report));
 * ```
 */
export function renderPolicyReport(report: PolicyReport): string {
  const lines = [`image-policy ${report.image} (${report.digest})`];
  for (const gate of report.gates) {
    const mark = gate.status === "fail" ? (gate.level === "required" ? "FAIL" : "warn") : gate.status;
    lines.push(`  ${mark.padEnd(4)}  ${gate.gate.padEnd(16)}  ${gate.level.padEnd(8)}  ${gate.reason}`, ...gate.evidence.map((e) => `${" ".repeat(10)}${e}`));
  }
  const failed = report.gates.filter((g) => g.status === "fail");
  const required = failed.filter((g) => g.level === "required").map((g) => g.gate);
  const advisory = failed.filter((g) => g.level === "advisory").map((g) => g.gate);
  lines.push(report.ok ? `ok: every required gate passed${advisory.length ? ` (advisory failed: ${advisory.join(", ")})` : ""}` : `failed: required gate(s) ${required.join(", ")}${advisory.length ? `; advisory: ${advisory.join(", ")}` : ""}`);
  return `${lines.join("\n")}\n`;
}

// ---- the gates -------------------------------------------------------------------------------------------------

/** The base's digests as the image records them: the index's (the base index) and each platform's (its manifest). */
function basePinned(image: ImageEvidence, project: ProjectEvidence | undefined): Verdict {
  const name = image.annotations[Annotation.baseName];
  const digest = image.annotations[Annotation.baseDigest];
  const lock = project?.lock;
  if (lock && !lock.base) {
    return name || digest
      ? fail(`the image names base ${name ?? "?"}@${digest ?? "?"}, but vox.lock has none (scratch)`, [])
      : pass("no base image: vox.lock locks none (scratch)", []);
  }
  const evidence = [`${image.kind}: ${Annotation.baseName}=${name ?? "(none)"} ${Annotation.baseDigest}=${digest ?? "(none)"}`];
  const unpinned = image.platforms.filter((p) => !p.annotations[Annotation.baseDigest]).map((p) => p.platform);
  for (const p of image.platforms) if (image.kind === "index") evidence.push(`${p.platform}: ${Annotation.baseDigest}=${p.annotations[Annotation.baseDigest] ?? "(none)"}`);
  if (!digest) return fail(`the ${image.kind} has no ${Annotation.baseDigest} annotation: its base is not pinned by digest`, evidence);
  if (unpinned.length > 0) return fail(`no ${Annotation.baseDigest} on ${unpinned.join(", ")}: the base is not pinned by digest there`, evidence);
  if (!lock) return pass(`base ${name ?? "(unnamed)"} pinned at ${digest}; ${project ? "no vox.lock" : "no project"} to compare with`, evidence);
  const locked = lock.base!;
  evidence.push(`vox.lock: ${locked.reference}@${locked.digest}; ${locked.platforms.map((p) => `${p.platform} ${p.digest}`).join(", ")}`);
  const disagreements: string[] = [];
  if (digest !== locked.digest) disagreements.push(`base digest ${digest} disagrees with vox.lock (${locked.digest})`);
  if (name !== locked.reference) disagreements.push(`base name ${name ?? "(none)"} disagrees with vox.lock (${locked.reference})`);
  for (const p of image.platforms) {
    const entry = locked.platforms.find((l) => samePlatform(parsePlatform(l.platform), parsePlatform(p.platform)));
    const recorded = p.annotations[Annotation.baseDigest];
    if (image.kind === "index" && entry && recorded !== entry.digest) disagreements.push(`${p.platform} base digest ${recorded} disagrees with vox.lock (${entry.digest})`);
  }
  return disagreements.length > 0 ? fail(disagreements.join("; "), evidence) : pass(`base ${name}@${digest} agrees with vox.lock`, evidence);
}

function lockCurrent(_image: ImageEvidence, project: ProjectEvidence | undefined): Verdict {
  if (!project) return fail(NO_PROJECT, []);
  if (!project.lock) return fail(`${project.lockPath} does not exist`, ["run `vox lock` and commit vox.lock"]);
  if (project.lockProblems.length > 0) return fail(`vox.lock is stale: ${project.lockProblems.join("; ")}`, [project.lockPath]);
  const { base, inputs } = project.lock;
  return pass(`vox.lock is current (${base ? `base ${base.reference}@${base.digest}` : "no base"}, ${inputs.length} input set(s))`, [project.lockPath]);
}

function platformsPresent(image: ImageEvidence, project: ProjectEvidence | undefined): Verdict {
  const required = project?.platforms ?? DEFAULT_PLATFORMS;
  const present = image.platforms.map((p) => p.platform);
  const evidence = [`required: ${required.join(", ")} (${project ? project.manifestPath : "the Vox.toml default; no project"})`, `${image.kind === "index" ? "index lists" : "single-platform image manifest"}: ${present.join(", ") || "nothing"}`];
  const missing = required.filter((wanted) => !present.some((p) => samePlatform(parsePlatform(p), parsePlatform(wanted))));
  if (missing.length > 0) return fail(`${missing.join(", ")} missing: the ${image.kind === "index" ? "index lists" : "image is a single-platform manifest for"} ${present.join(", ") || "no platform"}`, evidence);
  return pass(`every platform present: ${required.join(", ")}`, evidence);
}

function sbom(image: ImageEvidence, project: ProjectEvidence | undefined): Verdict {
  const candidates = image.referrers.filter((r) => r.artifactType !== undefined && SBOM_TYPES.includes(r.artifactType));
  if (candidates.length === 0) return fail(`no SBOM (${SBOM_TYPES.join(" or ")}) attached to ${image.digest}`, referrerEvidence(image));
  return bestOf(candidates, (referrer) => {
    const problem = attachmentProblem(referrer, image);
    if (problem) return problem;
    const named = namedHexes(referrer.payload);
    const missing = [
      ...baseDigests(image).filter((d) => !named.has(hexOf(d))).map((d) => `base ${d}`),
      ...(project?.inputFiles ?? []).filter((f) => !named.has(f.sha256)).map((f) => `input file ${f.path} (sha256:${f.sha256})`),
    ];
    return missing.length > 0 ? `the SBOM ${referrer.digest} does not name ${missing.join(", ")}` : undefined;
  }, (referrer) => `SBOM ${referrer.digest} (${referrer.artifactType}) names the base digests${project ? ` and the ${project.inputFiles.length} input file(s)` : ""}`);
}

function provenance(image: ImageEvidence, project: ProjectEvidence | undefined): Verdict {
  const candidates = image.referrers.filter((r) => r.artifactType === MediaType.inTotoJson);
  if (candidates.length === 0) return fail(`no provenance (${MediaType.inTotoJson}) attached to ${image.digest}`, referrerEvidence(image));
  return bestOf(candidates, (referrer) => {
    const problem = attachmentProblem(referrer, image);
    if (problem) return problem;
    const statement = referrer.payload as { _type?: unknown; subject?: unknown; predicateType?: unknown; predicate?: unknown };
    if (typeof statement !== "object" || statement === null || typeof statement._type !== "string" || !statement._type.startsWith("https://in-toto.io/Statement/")) return `the provenance ${referrer.digest} is not an in-toto Statement`;
    const subjects = Array.isArray(statement.subject) ? statement.subject.flatMap((s: { digest?: Record<string, unknown> }) => (typeof s?.digest?.sha256 === "string" ? [`sha256:${s.digest.sha256}`] : [])) : [];
    if (!subjects.includes(image.digest)) return `the provenance statement's subject is ${subjects.join(", ") || "no sha256 digest"}, not the image ${image.digest}`;
    const named = namedHexes(statement.predicate);
    const missing = [
      ...baseDigests(image).filter((d) => !named.has(hexOf(d))).map((d) => `base ${d}`),
      ...(project?.lock?.inputs ?? []).filter((i) => !named.has(hexOf(i.hash))).map((i) => `locked input ${i.from} → ${i.to} (${i.hash})`),
    ];
    return missing.length > 0 ? `the provenance ${referrer.digest} does not name ${missing.join(", ")}` : undefined;
  }, (referrer) => `provenance ${referrer.digest} (${(referrer.payload as { predicateType?: string }).predicateType ?? "no predicateType"}) has the image as subject and names the base digests${project?.lock ? " and the locked inputs" : ""}`);
}

function annotationsComplete(image: ImageEvidence, project: ProjectEvidence | undefined): Verdict {
  const scratch = project?.lock !== undefined && project.lock.base === undefined;
  const wanted: string[] = [...REQUIRED_ANNOTATIONS, ...(scratch ? [] : [Annotation.baseName, Annotation.baseDigest])];
  const documents = [{ what: `the ${image.kind}`, annotations: image.annotations }, ...(image.kind === "index" ? image.platforms.map((p) => ({ what: p.platform, annotations: p.annotations })) : [])];
  const missing = documents.flatMap((d) => {
    const absent = wanted.filter((key) => !d.annotations[key]);
    return absent.length > 0 ? [`${absent.join(", ")} on ${d.what}`] : [];
  });
  const evidence = wanted.map((key) => `${key}=${image.annotations[key] ?? "(none)"}`);
  return missing.length > 0 ? fail(`missing ${missing.join("; ")}`, evidence) : pass(`${wanted.length} annotations on the ${image.kind}${image.kind === "index" ? " and every platform manifest" : ""}`, evidence);
}

function releaseManifest(image: ImageEvidence, project: ProjectEvidence | undefined): Verdict {
  const release = project?.release;
  if (!release) return { status: "n/a", reason: project ? "no Release in the project's log names this image" : "no project, so no Release to check (pass --project DIR)", evidence: [] };
  const artifacts = image.referrers.filter((r) => r.artifactType === PLATFORM_MANIFEST_ARTIFACT_TYPE);
  const evidence = [`Release ${release.seq}: manifest_content_hash ${release.manifest_content_hash}`, ...artifacts.map((a) => `artifact ${a.digest}: layer ${a.layers[0]?.digest ?? "(none)"}`)];
  if (artifacts.length === 0) return fail(`no platform manifest artifact (${PLATFORM_MANIFEST_ARTIFACT_TYPE}) attached; Release ${release.seq} records ${release.manifest_content_hash} (vox deploy release --push)`, evidence);
  const match = artifacts.find((a) => a.subject === image.digest && a.layers[0]?.digest === release.manifest_content_hash && a.payload !== undefined);
  if (!match) {
    const first = artifacts[0]!;
    return fail(first.payloadProblem ?? `the platform manifest artifact holds ${first.layers[0]?.digest ?? "nothing"}, Release ${release.seq} records ${release.manifest_content_hash}`, evidence);
  }
  return pass(`platform manifest artifact ${match.digest} holds ${release.manifest_content_hash}, as Release ${release.seq} records`, evidence);
}

// ---- helpers ---------------------------------------------------------------------------------------------------

function pass(reason: string, evidence: string[]): Verdict {
  return { status: "pass", reason, evidence };
}

function fail(reason: string, evidence: string[]): Verdict {
  return { status: "fail", reason, evidence };
}

/** Passes on the first candidate without a problem; otherwise fails with the first candidate's problem. */
function bestOf(candidates: readonly ReferrerEvidence[], problemOf: (r: ReferrerEvidence) => string | undefined, passReason: (r: ReferrerEvidence) => string): Verdict {
  const problems = candidates.map((r) => ({ r, problem: problemOf(r) }));
  const evidence = candidates.map((r) => `${r.artifactType} ${r.digest} subject ${r.subject ?? "(none)"}`);
  const good = problems.find((p) => p.problem === undefined);
  return good ? pass(passReason(good.r), evidence) : fail(problems[0]!.problem!, evidence);
}

/** Why a referrer does not describe this image: another subject, or a payload that could not be read. */
function attachmentProblem(referrer: ReferrerEvidence, image: ImageEvidence): string | undefined {
  if (referrer.subject !== image.digest) return `${referrer.artifactType} ${referrer.digest} has subject ${referrer.subject ?? "(none)"}, not the image ${image.digest}`;
  if (referrer.payload === undefined) return `${referrer.artifactType} ${referrer.digest}: ${referrer.payloadProblem ?? "it has no payload"}`;
  return undefined;
}

function referrerEvidence(image: ImageEvidence): string[] {
  return image.referrers.length === 0 ? ["no referrers"] : image.referrers.map((r) => `referrer ${r.digest}: ${r.artifactType ?? "(no artifactType)"}`);
}

/**
 * The base manifests the image was built on, as it records them: each platform manifest's base digest (an index's
 * own base digest names the base's index, which no build consumed as such), once each.
 */
function baseDigests(image: ImageEvidence): string[] {
  return [...new Set(image.platforms.map((p) => p.annotations[Annotation.baseDigest]).filter((d): d is string => Boolean(d)))];
}

function hexOf(digest: string): string {
  return digest.replace(/^sha256:/, "");
}

/**
 * Every sha256 hex string anywhere in a JSON document's strings: CycloneDX puts digests in hashes and versions,
 * SPDX in checksums, SLSA in resolvedDependencies or materials; "names a digest" means it appears in one of them.
 */
function namedHexes(value: unknown, found = new Set<string>()): Set<string> {
  if (typeof value === "string") for (const match of value.matchAll(/[0-9a-f]{64}/g)) found.add(match[0]);
  else if (Array.isArray(value)) for (const item of value) namedHexes(item, found);
  else if (value !== null && typeof value === "object") for (const item of Object.values(value)) namedHexes(item, found);
  return found;
}
