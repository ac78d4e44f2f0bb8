import assert from "node:assert/strict";
import { test } from "node:test";
import { mapEnv } from "../io/mod.ts";
import { builderIdentity, IN_TOTO_STATEMENT_V1, SLSA_PROVENANCE_V1, slsaProvenance } from "./provenance.ts";
import { cycloneDxSbom } from "./sbom.ts";

const input = {
  name: "hello",
  version: "0.1.0",
  license: "Apache-2.0",
  files: [{ path: "/app/bin/hello", sha256: "ab".repeat(32) }, { path: "/app/a.txt", sha256: "cd".repeat(32) }],
  bases: [{ reference: "docker.io/library/busybox:1.35", platform: "linux/amd64", digest: `sha256:${"ef".repeat(32)}` }],
  created: "1970-01-01T00:00:00Z",
  toolVersion: "0.2.0",
};

test("cycloneDxSbom() is CycloneDX 1.6 JSON listing every file with its sha256 and the base, byte-identical across calls", () => {
  const first = cycloneDxSbom(input);
  assert.deepEqual(first, cycloneDxSbom({ ...input, files: [...input.files].reverse() }));
  const bom = JSON.parse(new TextDecoder().decode(first));
  assert.equal(bom.bomFormat, "CycloneDX");
  assert.equal(bom.specVersion, "1.6");
  assert.equal(bom.metadata.component.name, "hello");
  const names = bom.components.map((c: { name: string }) => c.name);
  assert.ok(names.includes("/app/bin/hello") && names.includes("docker.io/library/busybox:1.35"));
  const file = bom.components.find((c: { name: string }) => c.name === "/app/bin/hello");
  assert.deepEqual(file.hashes, [{ alg: "SHA-256", content: "ab".repeat(32) }]);
});

test("slsaProvenance() is an in-toto v1 Statement with a SLSA v1 predicate about the subject digest", () => {
  const statement = JSON.parse(new TextDecoder().decode(slsaProvenance({
    subject: { name: "hello", digest: `sha256:${"12".repeat(32)}` },
    externalParameters: { platforms: ["linux/amd64"] },
    internalParameters: {},
    resolvedDependencies: [{ uri: "file:app", digest: { sha256: "34".repeat(32) } }],
    builder: { id: "urn:vox:builder:local:host", version: { vox: "0.2.0" } },
  })));
  assert.equal(statement._type, IN_TOTO_STATEMENT_V1);
  assert.equal(statement.predicateType, SLSA_PROVENANCE_V1);
  assert.deepEqual(statement.subject, [{ name: "hello", digest: { sha256: "12".repeat(32) } }]);
  assert.equal(statement.predicate.buildDefinition.resolvedDependencies[0].uri, "file:app");
});

test("builderIdentity() names the GitHub Actions run in CI and the machine otherwise", () => {
  const ci = builderIdentity(mapEnv({ GITHUB_ACTIONS: "true", GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "acme/app", GITHUB_RUN_ID: "42", GITHUB_WORKFLOW_REF: "acme/app/.github/workflows/release.yml@refs/tags/v1" }), "runner");
  assert.equal(ci.id, "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1");
  assert.equal(ci.invocationId, "https://github.com/acme/app/actions/runs/42/attempts/1");
  assert.equal(builderIdentity(mapEnv({}), "laptop").id, "urn:vox:builder:local:laptop");
});

test("builderIdentity() falls back to the host when GITHUB_REPOSITORY or GITHUB_RUN_ID is missing, and drops credentials from GITHUB_SERVER_URL", () => {
  const partial = builderIdentity(mapEnv({ GITHUB_ACTIONS: "true", GITHUB_SERVER_URL: "https://github.com" }), "runner");
  assert.deepEqual(partial, { id: "urn:vox:builder:local:runner" });
  assert.deepEqual(builderIdentity(mapEnv({ GITHUB_ACTIONS: "true", GITHUB_REPOSITORY: "acme/app" }), "runner"), { id: "urn:vox:builder:local:runner" });
  const secret = builderIdentity(mapEnv({ GITHUB_ACTIONS: "true", GITHUB_SERVER_URL: "https://bot:s3cret@ghe.example/path", GITHUB_REPOSITORY: "acme/app", GITHUB_RUN_ID: "7" }), "runner");
  assert.deepEqual(secret, { id: "https://ghe.example/acme/app/actions/runs/7", invocationId: "https://ghe.example/acme/app/actions/runs/7/attempts/1" });
});
