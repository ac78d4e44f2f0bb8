import assert from "node:assert/strict";
import { test } from "node:test";
import type { Digest } from "../oci/mod.ts";
import type { ImageEvidence } from "./evidence.ts";
import { evaluateImagePolicy, type ProjectEvidence, renderPolicyReport } from "./image_policy.ts";

const digest = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const annotations = (extra: Record<string, string> = {}) => ({
  "org.opencontainers.image.source": "https://example.invalid/app",
  "org.opencontainers.image.revision": "abc",
  "org.opencontainers.image.version": "1.0.0",
  "org.opencontainers.image.licenses": "MIT",
  "org.opencontainers.image.title": "app",
  ...extra,
});

/** A scratch image (no base) with an SPDX SBOM and a SLSA v0.2 statement, as tools other than vox write them. */
function scratchImage(): ImageEvidence {
  const index = digest("a");
  return {
    source: "oci:x:1",
    digest: index,
    kind: "index",
    annotations: annotations(),
    platforms: ["linux/amd64", "linux/arm64"].map((platform, i) => ({ platform, digest: digest(String(i + 1)), annotations: annotations() })),
    referrers: [
      { digest: digest("b"), artifactType: "application/spdx+json", subject: index, layers: [], payload: { spdxVersion: "SPDX-2.3", files: [{ checksums: [{ algorithm: "SHA256", checksumValue: "c".repeat(64) }] }] } },
      { digest: digest("d"), artifactType: "application/vnd.in-toto+json", subject: index, layers: [], payload: { _type: "https://in-toto.io/Statement/v0.1", subject: [{ digest: { sha256: "a".repeat(64) } }], predicate: { materials: [{ digest: { sha256: "f".repeat(64) } }] } } },
    ],
  };
}

const scratchProject: ProjectEvidence = {
  manifestPath: "Vox.toml",
  platforms: ["linux/amd64", "linux/arm64"],
  lockPath: "vox.lock",
  lock: { version: 1, assembly: "vox.oci/4", tool: "vox 0.1.0", inputs: [{ from: "app", to: "/app", files: 1, hash: digest("f") }] },
  lockProblems: [],
  inputFiles: [{ path: "/app/x", sha256: "c".repeat(64) }],
};

test("evaluateImagePolicy() passes a scratch image with SPDX and SLSA v0.2 attachments: no base annotations are wanted when vox.lock locks none", () => {
  const report = evaluateImagePolicy(scratchImage(), scratchProject);
  assert.deepEqual(report.gates.map((g) => [g.gate, g.status]), [["base-pinned", "pass"], ["lock", "pass"], ["platforms", "pass"], ["sbom", "pass"], ["provenance", "pass"], ["annotations", "pass"], ["release-manifest", "n/a"]]);
  assert.equal(report.ok, true);
});

test("evaluateImagePolicy() fails the SBOM gate when the SBOM lacks an input file, and an advisory gate does not fail the run", () => {
  const project = { ...scratchProject, inputFiles: [...scratchProject.inputFiles, { path: "/app/y", sha256: "9".repeat(64) }] };
  const strict = evaluateImagePolicy(scratchImage(), project);
  assert.equal(strict.ok, false);
  assert.equal(strict.gates.find((g) => g.gate === "sbom")?.reason, `the SBOM ${digest("b")} does not name input file /app/y (sha256:${"9".repeat(64)})`);
  const lenient = evaluateImagePolicy(scratchImage(), { ...project, policy: { sbom: "advisory" } });
  assert.equal(lenient.ok, true);
  assert.match(renderPolicyReport(lenient), /^ {2}warn {2}sbom {14}advisory {2}the SBOM/m);
});

test("evaluateImagePolicy() fails the base gate when the image names a base but vox.lock locks none, and the SBOM gate on an attachment for another subject", () => {
  const image = scratchImage();
  image.annotations["org.opencontainers.image.base.digest"] = digest("e");
  image.referrers[0]!.subject = digest("9");
  const report = evaluateImagePolicy(image, scratchProject);
  assert.match(report.gates[0]!.reason, /^the image names base \?@sha256:e+, but vox\.lock has none \(scratch\)$/);
  assert.equal(report.gates.find((g) => g.gate === "sbom")?.reason, `application/spdx+json ${digest("b")} has subject ${digest("9")}, not the image ${digest("a")}`);
});

test("evaluateImagePolicy() fails the release gate when the artifact holds another manifest hash than the Release records", () => {
  const image = scratchImage();
  image.referrers.push({ digest: digest("7"), artifactType: "application/vnd.vox.platform.manifest.v1+json", subject: image.digest, layers: [{ mediaType: "application/vnd.vox.platform.manifest.v1+json", digest: digest("5"), size: 2 }], payload: {} });
  const report = evaluateImagePolicy(image, { ...scratchProject, release: { seq: 4, manifest_content_hash: digest("6") } });
  assert.equal(report.gates.at(-1)?.reason, `the platform manifest artifact holds ${digest("5")}, Release 4 records ${digest("6")}`);
});
