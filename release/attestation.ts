import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { bundleFromJSON, isBundleWithCertificateChain, isBundleWithDsseEnvelope } from "@sigstore/bundle";
import { ASN1Obj, crypto, dsse, X509Certificate } from "@sigstore/core";
import { errorMessage, VoxError } from "../errors/mod.ts";

/** GitHub Actions' OIDC issuer, as Fulcio records it in the certificates it issues for workflow runs. */
export const GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com";
/** Fulcio's certificate extensions (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md). */
const OID = { issuerV1: "1.3.6.1.4.1.57264.1.1", issuerV2: "1.3.6.1.4.1.57264.1.8" } as const;
const IN_TOTO = "application/vnd.in-toto+json";
/** What offline verification covers and does not: printed with every report, and in the README. */
export const ATTESTATION_SCOPE =
  "checked offline: the bundle's structure, the DSSE signature against the bundle's certificate, the certificate's workflow identity and issuer, the subject digests; " +
  "not checked offline: the certificate's chain to Sigstore's Fulcio root, the Rekor transparency log entry and its time (run `gh attestation verify <archive> --repo <owner/repo>` online for those)";

export interface AttestationBundle {
  file: string;
  /** The certificate's workflow identity (its URI SAN), e.g. https://github.com/o/r/.github/workflows/release-binaries.yml@refs/tags/v1.2.3. */
  identity: string | undefined;
  issuer: string | undefined;
  /** In-toto subjects: name and sha256 hex. */
  subjects: Array<{ name: string; sha256: string }>;
  /** Why the bundle is not accepted; empty when it is. */
  problems: string[];
}

export interface ArchiveAttestation {
  basename: string;
  status: "ok" | "failed";
  detail: string;
}

export interface AttestationReport {
  /** The workflow identity required of every bundle. */
  expectedIdentity: string;
  bundles: AttestationBundle[];
  archives: ArchiveAttestation[];
  scope: string;
  ok: boolean;
}

/**
 * The identity the release workflow's certificates carry: its file at the tag, in the repository.
 *
 * @example
 * ```ts
 * releaseWorkflowIdentity("vox-foundation/vox", "v1.2.3");
 * // "https://github.com/vox-foundation/vox/.github/workflows/release-binaries.yml@refs/tags/v1.2.3"
 * ```
 */
export function releaseWorkflowIdentity(repo: string, tag: string): string {
  return `https://github.com/${repo}/.github/workflows/release-binaries.yml@refs/tags/${tag}`;
}

/**
 * Reads a Sigstore bundle (GitHub's artifact attestation) and checks what can be checked offline: its structure
 * (@sigstore/bundle), the DSSE signature over the in-toto statement with the certificate's key (@sigstore/core),
 * and the certificate's identity and issuer against `expectedIdentity`. The chain to Fulcio and the Rekor entry
 * are not checked (see ATTESTATION_SCOPE).
 *
 * @example
 * ```ts
 * const bundle = await readAttestation("vox.sigstore.json", releaseWorkflowIdentity("vox-foundation/vox", "v1.2.3"));
 * bundle.problems; // [] when it is the release workflow's, correctly signed
 * ```
 */
export async function readAttestation(file: string, expectedIdentity: string): Promise<AttestationBundle> {
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_ATTESTATION", `Cannot read attestation ${file}: ${error.code ?? error.message}`, { hint: "Pass the .sigstore.json bundle attached to the release (or `gh attestation download`)", exitCode: 2 });
  });
  const none: AttestationBundle = { file, identity: undefined, issuer: undefined, subjects: [], problems: [] };
  let bundle;
  try {
    bundle = bundleFromJSON(JSON.parse(text));
  } catch (error) {
    return { ...none, problems: [`not a Sigstore bundle: ${errorMessage(error)}`] };
  }
  if (!isBundleWithDsseEnvelope(bundle)) return { ...none, problems: ["it signs a message, not an in-toto statement (a DSSE envelope)"] };
  const material = bundle.verificationMaterial.content;
  const raw = material.$case === "certificate" ? material.certificate.rawBytes : isBundleWithCertificateChain(bundle) ? bundle.verificationMaterial.content.x509CertificateChain.certificates[0]?.rawBytes : undefined;
  if (!raw) return { ...none, problems: ["it carries a public key, not a certificate: there is no workflow identity to check"] };
  const certificate = X509Certificate.parse(Buffer.from(raw));
  const identity = certificate.extSubjectAltName?.uri;
  const issuer = extensionText(certificate, OID.issuerV2) ?? certificate.extension(OID.issuerV1)?.value.toString("utf8");
  const envelope = bundle.content.dsseEnvelope;
  const problems: string[] = [];
  const key = crypto.createPublicKey(certificate.publicKey, "spki");
  const signed = dsse.preAuthEncoding(envelope.payloadType, Buffer.from(envelope.payload));
  if (!envelope.signatures.some((s) => crypto.verify(signed, key, Buffer.from(s.sig), "sha256"))) problems.push("its DSSE signature does not verify with the certificate's key");
  if (envelope.payloadType !== IN_TOTO) problems.push(`its payload is ${envelope.payloadType}, not an in-toto statement`);
  if (issuer !== GITHUB_ACTIONS_ISSUER) problems.push(`its certificate was issued for ${issuer ?? "no OIDC issuer"}, not GitHub Actions (${GITHUB_ACTIONS_ISSUER})`);
  if (identity !== expectedIdentity) problems.push(`its certificate names the workflow ${identity ?? "(none)"}, not ${expectedIdentity}`);
  return { file, identity, issuer, subjects: statementSubjects(Buffer.from(envelope.payload)), problems };
}

/**
 * Matches archives to bundles: an archive is attested when an accepted bundle names it with its sha256.
 *
 * @example
 * ```ts
 * const report = attestArchives([{ basename: "vox-v1.2.3-x86_64-unknown-linux-gnu.tar.gz", sha256: "ab…" }], bundles, identity);
 * report.ok; // true when every archive is named by an accepted bundle
 * ```
 */
export function attestArchives(archives: ReadonlyArray<{ basename: string; sha256: string }>, bundles: readonly AttestationBundle[], expectedIdentity: string): AttestationReport {
  const accepted = bundles.filter((b) => b.problems.length === 0);
  const results = archives.map((archive): ArchiveAttestation => {
    const by = accepted.find((b) => b.subjects.some((s) => s.sha256 === archive.sha256 && basename(s.name) === archive.basename));
    if (by) return { basename: archive.basename, status: "ok", detail: `attested: sha256 ${archive.sha256} named by ${basename(by.file)}` };
    const sameName = bundles.flatMap((b) => b.subjects.filter((s) => basename(s.name) === archive.basename).map((s) => ({ b, s })))[0];
    if (sameName && sameName.s.sha256 !== archive.sha256) return { basename: archive.basename, status: "failed", detail: `not attested: ${basename(sameName.b.file)} names sha256 ${sameName.s.sha256}, the archive is ${archive.sha256}` };
    if (sameName) return { basename: archive.basename, status: "failed", detail: `not attested: ${basename(sameName.b.file)} names it but is not accepted (${sameName.b.problems.join("; ")})` };
    return { basename: archive.basename, status: "failed", detail: "not attested: no bundle names it" };
  });
  return { expectedIdentity, bundles: [...bundles], archives: results, scope: ATTESTATION_SCOPE, ok: bundles.length > 0 && results.every((r) => r.status === "ok") };
}

/** A V2 Fulcio extension: its value is a DER UTF8String. */
function extensionText(certificate: X509Certificate, oid: string): string | undefined {
  const extension = certificate.extension(oid);
  return extension ? ASN1Obj.parseBuffer(Buffer.from(extension.value)).value.toString("utf8") : undefined;
}

function statementSubjects(payload: Buffer): Array<{ name: string; sha256: string }> {
  try {
    const statement = JSON.parse(payload.toString("utf8")) as { subject?: Array<{ name?: unknown; digest?: { sha256?: unknown } }> };
    return (statement.subject ?? []).flatMap((s) => (typeof s.name === "string" && typeof s.digest?.sha256 === "string" ? [{ name: s.name, sha256: s.digest.sha256 }] : []));
  } catch {
    return [];
  }
}
