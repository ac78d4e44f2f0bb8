import { VoxError } from "../../errors/mod.ts";
import { type Digest, sha256Digest, verifyDigest } from "../digest.ts";
import { MANIFEST_ACCEPT } from "../media_types.ts";
import { formatReference, type Reference } from "../reference.ts";
import { type ParsedDocument, parseDocument } from "../types.ts";
import { apiPath, pullScope, pushScope, type Session } from "./_session.ts";

/** Manifests are small; the OCI spec suggests registries accept at least 4 MiB, and we read no more. */
export const MAX_MANIFEST_BYTES = 4 << 20;

/** A manifest or index as fetched: the exact bytes (digests are over them), their media type and digest. */
export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: Digest;
  document: ParsedDocument;
}

/** GET a manifest or index with every Accept type vox reads; verified against a pinned digest and Docker-Content-Digest. */
export async function getManifest(session: Session, ref: Reference): Promise<FetchedManifest> {
  const reference = ref.digest ?? ref.tag;
  const what = `read manifest ${formatReference(ref)}`;
  if (reference === undefined) throw new VoxError("E_REFERENCE", `Cannot ${what}: it has neither a tag nor a digest`, { hint: "Add :tag or @sha256:<hex>", exitCode: 2 });
  const response = await session.send({
    registry: ref.registry,
    method: "GET",
    path: `${apiPath(ref)}/manifests/${reference}`,
    scopes: [pullScope(ref.repository)],
    headers: { accept: MANIFEST_ACCEPT },
    ok: [200],
    maxBody: MAX_MANIFEST_BYTES,
    what,
  });
  const { bytes, overflow } = response;
  if (overflow) throw new VoxError("E_MANIFEST_SIZE", `Cannot ${what}: it is larger than ${MAX_MANIFEST_BYTES} bytes`, { hint: "Refusing an oversized manifest" });
  // A pinned digest is the contract; the registry's own Docker-Content-Digest is checked too when it sends one.
  if (ref.digest !== undefined) verifyDigest(bytes, ref.digest, `manifest ${formatReference(ref)}`);
  const served = response.headers.get("docker-content-digest");
  if (served?.startsWith("sha256:")) verifyDigest(bytes, served, `manifest ${formatReference(ref)} (Docker-Content-Digest)`);
  const document = parseDocument(bytes, response.headers.get("content-type") ?? undefined, `manifest ${formatReference(ref)}`);
  return { bytes, mediaType: document.mediaType, digest: ref.digest ?? sha256Digest(bytes), document };
}

/** PUTs a manifest by the target's tag, else by its digest; returns the digest and the response headers. */
export async function putManifest(session: Session, target: Reference, manifest: { bytes: Uint8Array; mediaType: string }): Promise<{ digest: Digest; headers: Headers }> {
  const digest = sha256Digest(manifest.bytes);
  const what = `push manifest to ${formatReference(target)}`;
  if (target.digest !== undefined && target.digest !== digest) {
    throw new VoxError("E_DIGEST_MISMATCH", `Cannot ${what}: the manifest's digest is ${digest}`, { hint: "Push by tag, or by the manifest's own digest" });
  }
  const reference = target.tag ?? digest;
  const response = await session.send({
    registry: target.registry,
    method: "PUT",
    path: `${apiPath(target)}/manifests/${reference}`,
    scopes: [pushScope(target.repository)],
    headers: { "content-type": manifest.mediaType },
    body: manifest.bytes,
    ok: [200, 201],
    what,
  });
  const served = response.headers.get("docker-content-digest");
  if (served && served !== digest) {
    throw new VoxError("E_DIGEST_MISMATCH", `Cannot ${what}: the registry stored it as ${served}, not ${digest}`, { hint: "The registry rewrote the manifest; it cannot be trusted to serve it by digest" });
  }
  session.settings.onEvent({ kind: "manifest", registry: target.registry, repository: target.repository, reference, digest });
  return { digest, headers: response.headers };
}
