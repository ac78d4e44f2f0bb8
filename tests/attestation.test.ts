// vox ci verify --attestation through the CLI on a real host release (tests/support/releases.ts): Sigstore bundles
// made here as GitHub's attest-build-provenance makes them (an openssl certificate carrying Fulcio's GitHub Actions
// identity, a DSSE-signed in-toto statement), and a real bundle from wolfv/sigstore-test (sigstore-rs's test data).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, createPrivateKey, sign } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { parse } from "yaml";
import { bun, repoRoot, runAsync, tempDir } from "./support/helpers.ts";
import { hostRelease, type ReleaseFixture } from "./support/releases.ts";

const TAG = "v0.9.1";
const REPO = "vox-foundation/vox";
const IDENTITY = `https://github.com/${REPO}/.github/workflows/release-binaries.yml@refs/tags/${TAG}`;
/** A bundle from a public repository's workflow (tlog entries dropped: vox does not read them offline). */
const REAL_BUNDLE = join(repoRoot, "tests", "fixtures", "sigstore-test.dsse.sigstore.json");
let release: ReleaseFixture;
let archives: Array<{ name: string; sha256: string }>;

before(() => {
  release = hostRelease(TAG);
  archives = readdirSync(release.dir).filter((f) => /\.(tar\.gz|zip)$/.test(f)).map((name) => ({ name, sha256: createHash("sha256").update(readFileSync(join(release.dir, name))).digest("hex") }));
  assert.ok(archives.length >= 2);
});

function verify(attestations: readonly string[]) {
  return runAsync(bun, [join(repoRoot, "main.ts"), "ci", "verify", release.dir, "--tag", TAG, "--trusted-key", release.key.pub, ...attestations.flatMap((a) => ["--attestation", a])], { env: process.env });
}

/** A key and certificate as Fulcio issues them to a workflow run: the workflow's URI as SAN, GitHub as issuer (OID .1.8). */
function certificate(identity: string): { key: string; der: Buffer } {
  const dir = tempDir("cert");
  const config = join(dir, "ext.cnf");
  writeFileSync(config, `[req]\ndistinguished_name = dn\n[dn]\n[ext]\nsubjectAltName = critical,URI:${identity}\n1.3.6.1.4.1.57264.1.8 = ASN1:UTF8String:https://token.actions.githubusercontent.com\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = codeSigning\n`);
  execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(dir, "key.pem")]);
  execFileSync("openssl", ["req", "-new", "-x509", "-key", join(dir, "key.pem"), "-subj", "/", "-days", "1", "-config", config, "-extensions", "ext", "-outform", "DER", "-out", join(dir, "cert.der")], { stdio: "ignore" });
  return { key: readFileSync(join(dir, "key.pem"), "utf8"), der: readFileSync(join(dir, "cert.der")) };
}

/** A v0.3 bundle whose DSSE envelope signs an in-toto statement naming `subjects`, written to a file. */
function bundle(subjects: ReadonlyArray<{ name: string; sha256: string }>, options: { identity?: string } = {}): string {
  const { key, der } = certificate(options.identity ?? IDENTITY);
  const payload = Buffer.from(JSON.stringify({ _type: "https://in-toto.io/Statement/v1", subject: subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })), predicateType: "https://slsa.dev/provenance/v1", predicate: {} }));
  const type = "application/vnd.in-toto+json";
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${payload.length} `), payload]);
  const sig = sign("sha256", pae, createPrivateKey(key));
  const file = join(tempDir("bundle"), "attestation.sigstore.json");
  writeFileSync(file, JSON.stringify({
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: { certificate: { rawBytes: der.toString("base64") }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
    dsseEnvelope: { payload: payload.toString("base64"), payloadType: type, signatures: [{ sig: sig.toString("base64"), keyid: "" }] },
  }));
  return file;
}

test("a bundle from the release workflow at the tag naming every archive's sha256 attests them all, and the output says what was not checked offline", async () => {
  const result = await verify([bundle(archives)]);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, new RegExp(`^ok {4}attestation .*: signed by ${IDENTITY.replace(/[.]/g, "\\.")}, ${archives.length} subject\\(s\\)$`, "m"));
  for (const archive of archives) assert.match(result.stdout, new RegExp(`^ok {4}${archive.name.replace(/[.]/g, "\\.")}: attested: sha256 ${archive.sha256} named by attestation\\.sigstore\\.json$`, "m"));
  assert.match(result.stdout, /^attestations checked offline: .*; not checked offline: the certificate's chain to Sigstore's Fulcio root, the Rekor transparency log entry/m);
});

test("an archive whose digest the bundle does not name fails with both digests; an archive in no bundle fails too", async () => {
  const [first, second, ...rest] = archives;
  const wrong = "0".repeat(64);
  const result = await verify([bundle([{ name: first!.name, sha256: wrong }, ...rest])]);
  assert.equal(result.status, 1);
  assert.match(result.stdout, new RegExp(`^FAIL {2}${first!.name.replace(/[.]/g, "\\.")}: not attested: attestation\\.sigstore\\.json names sha256 ${wrong}, the archive is ${first!.sha256}$`, "m"));
  assert.match(result.stdout, new RegExp(`^FAIL {2}${second!.name.replace(/[.]/g, "\\.")}: not attested: no bundle names it$`, "m"));
});

test("a bundle signed for another workflow, or with a signature that does not verify, attests nothing", async () => {
  const other = await verify([bundle(archives, { identity: `https://github.com/${REPO}/.github/workflows/ci.yml@refs/heads/main` })]);
  assert.equal(other.status, 1);
  assert.match(other.stdout, /^FAIL {2}attestation .*: its certificate names the workflow https:\/\/github\.com\/vox-foundation\/vox\/\.github\/workflows\/ci\.yml@refs\/heads\/main, not https:\/\/github\.com\/vox-foundation\/vox\/\.github\/workflows\/release-binaries\.yml@refs\/tags\/v0\.9\.1$/m);
  assert.match(other.stdout, /: not attested: attestation\.sigstore\.json names it but is not accepted/);

  const forged = bundle(archives);
  const json = JSON.parse(readFileSync(forged, "utf8"));
  json.dsseEnvelope.payload = Buffer.from(Buffer.from(json.dsseEnvelope.payload, "base64").toString().replace(archives[0]!.sha256, "1".repeat(64))).toString("base64");
  writeFileSync(forged, JSON.stringify(json));
  const result = await verify([forged]);
  assert.equal(result.status, 1);
  assert.match(result.stdout, /^FAIL {2}attestation .*: its DSSE signature does not verify with the certificate's key$/m);
});

test("a real GitHub Actions bundle (wolfv/sigstore-test): its signature verifies offline, its workflow is not vox's release workflow and it names none of the archives", async () => {
  const result = await verify([REAL_BUNDLE]);
  assert.equal(result.status, 1);
  assert.match(result.stdout, /^FAIL {2}attestation .*sigstore-test\.dsse\.sigstore\.json: its certificate names the workflow https:\/\/github\.com\/wolfv\/sigstore-test\/\.github\/workflows\/action\.yaml@refs\/heads\/main, not https:\/\/github\.com\/vox-foundation\/vox\/\.github\/workflows\/release-binaries\.yml@refs\/tags\/v0\.9\.1$/m);
  assert.doesNotMatch(result.stdout, /does not verify/);
  for (const archive of archives) assert.match(result.stdout, new RegExp(`^FAIL {2}${archive.name.replace(/[.]/g, "\\.")}: not attested: no bundle names it$`, "m"));
});

test("the release workflow attests every archive in the build jobs, which alone get id-token and attestations write, and publishes the bundles beside the archives", () => {
  const workflow = parse(readFileSync(join(repoRoot, ".github", "workflows", "release-binaries.yml"), "utf8")) as {
    permissions: Record<string, string>;
    jobs: Record<string, { permissions?: Record<string, string>; steps: Array<{ uses?: string; with?: Record<string, string>; run?: string }> }>;
  };
  assert.deepEqual(workflow.permissions, { contents: "read" });
  assert.deepEqual(workflow.jobs.build!.permissions, { contents: "read", "id-token": "write", attestations: "write" });
  for (const [name, job] of Object.entries(workflow.jobs)) if (name !== "build") assert.ok(!job.permissions?.["id-token"] && !job.permissions?.attestations, name);
  const attest = workflow.jobs.build!.steps.find((s) => s.uses?.startsWith("actions/attest-build-provenance@"));
  assert.deepEqual(attest?.with?.["subject-path"]?.trim().split("\n"), ["dist/*.tar.gz", "dist/*.zip"]);
  assert.ok(workflow.jobs.build!.steps.some((s) => s.with?.path?.includes("dist/*.sigstore.json")));
  assert.ok(workflow.jobs.publish!.steps.some((s) => s.run?.includes("ci verify release") && s.run.includes("--attestation")));
});
