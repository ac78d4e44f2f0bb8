import { VoxError } from "../../errors/mod.ts";
import { canonicalJson } from "../canonical_json.ts";
import { type Digest, parseDigest, sha256Digest } from "../digest.ts";
import { MediaType } from "../media_types.ts";
import { type Descriptor, type Index, parseDocument } from "../types.ts";
import { apiPath, describe, pullScope, type Repository, type Session } from "./_session.ts";
import { MAX_MANIFEST_BYTES, putManifest } from "./_manifests.ts";
import type { BlobSource, RegistryClient } from "./client.ts";
import { RegistryError } from "./errors.ts";
import { blobReader } from "./_upload.ts";

/** Which way the registry keeps referrers: the OCI 1.1 referrers API, or the `<alg>-<hex>` tag schema. */
export type ReferrersVia = "referrers-api" | "tag-schema";

export interface ReferrerPushed {
  digest: Digest;
  via: ReferrersVia;
}

export interface Referrers {
  manifests: Descriptor[];
  via: ReferrersVia;
}

/**
 * The tag the fallback schema keeps a subject's referrers under: `sha256-<hex>`, at most 128 characters.
 *
 * @example
 * ```ts
 * referrersTag("sha256:" + "ab".repeat(32)); // "sha256-abab…"
 * ```
 */
export function referrersTag(subject: string): string {
  const { algorithm, hex } = parseDigest(subject);
  return `${algorithm}-${hex}`.slice(0, 128);
}

/**
 * Pushes an artifact manifest (one with `subject`) by digest. A registry with the referrers API confirms with an
 * `OCI-Subject` header; otherwise the subject's fallback tag index gets the artifact's descriptor added.
 */
export async function pushReferrer(client: RegistryClient, session: Session, target: Repository, manifest: Uint8Array, options: { source?: BlobSource }): Promise<ReferrerPushed> {
  const repo = only(target);
  const document = parseDocument(manifest, undefined, "referrer manifest");
  const body = document.kind === "manifest" ? document.manifest : document.index;
  const subject = body.subject;
  if (!subject) throw new VoxError("E_REFERRER_SUBJECT", "Cannot push referrer: its manifest has no 'subject'", { hint: "Set subject to the descriptor of the image it describes" });
  if (options.source && document.kind === "manifest") {
    for (const blob of [document.manifest.config, ...document.manifest.layers]) {
      await client.pushBlob(repo, blob, { read: blobReader(options.source, blob.digest as Digest) });
    }
  }
  const { digest, headers } = await putManifest(session, repo, { bytes: manifest, mediaType: document.mediaType });
  if (headers.get("oci-subject")) return { digest, via: "referrers-api" };
  const artifactType = body.artifactType ?? (document.kind === "manifest" ? document.manifest.config.mediaType : undefined);
  const descriptor: Descriptor = {
    mediaType: document.mediaType,
    digest,
    size: manifest.byteLength,
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(body.annotations === undefined ? {} : { annotations: body.annotations }),
  };
  await addToFallbackTag(client, session, repo, referrersTag(subject.digest), descriptor);
  return { digest, via: "tag-schema" };
}

/** Reads, merges and writes of the fallback tag before giving up on one that keeps losing entries. */
const MAX_TAG_ROUNDS = 20;
/** Longer than another pusher takes from reading the tag to writing it, so a write based on an older read shows by then. */
const SETTLE_MS = 500;

/**
 * Adds `descriptor` to the fallback tag's index next to other pushers doing the same. Registries offer no conditional
 * PUT, so a pusher that read the index before our write can replace it without our entry: after each write the index
 * is read again, and once it holds every entry, read again SETTLE_MS later. Whenever an entry this pusher has seen
 * there (its own or another's) is missing, the union is written again; done when two reads SETTLE_MS apart hold all.
 */
async function addToFallbackTag(client: RegistryClient, session: Session, repo: Repository, tag: string, descriptor: Descriptor): Promise<void> {
  const wanted = new Map<string, Descriptor>([[descriptor.digest, descriptor]]);
  let settling = false;
  for (let round = 0; round < MAX_TAG_ROUNDS; round++) {
    const current = (await fallbackIndex(client, repo, tag))?.manifests ?? [];
    for (const entry of current) if (!wanted.has(entry.digest)) wanted.set(entry.digest, entry);
    const missing = [...wanted.values()].filter((entry) => !current.some((d) => d.digest === entry.digest));
    if (missing.length === 0) {
      if (settling) return;
      settling = true;
      await session.settings.sleep(SETTLE_MS);
      continue;
    }
    settling = false;
    const index: Index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...current, ...missing] };
    await client.pushManifest({ ...repo, tag }, { bytes: canonicalJson(index), mediaType: MediaType.ociIndex });
  }
  throw new VoxError("E_REFERRERS_RACE", `Cannot add referrer ${descriptor.digest} to ${describe(repo)}:${tag}: other pushers kept replacing the tag through ${MAX_TAG_ROUNDS} rounds`, {
    hint: "The referrer manifest itself is pushed; push again once the other pushes to this image are done",
  });
}

/**
 * The referrers of `subject`, filtered by `artifactType`: from `GET /v2/<name>/referrers/<digest>` when the registry
 * has the API (it then answers 200 with an index), else from the fallback tag (none when the tag does not exist).
 */
export async function listReferrers(client: RegistryClient, session: Session, target: Repository, subject: Digest, options: { artifactType?: string }): Promise<Referrers> {
  const repo = only(target);
  const keep = (manifests: Descriptor[]) => (options.artifactType === undefined ? manifests : manifests.filter((d) => d.artifactType === options.artifactType));
  const what = `list referrers of ${subject} in ${describe(repo)}`;
  const query = options.artifactType === undefined ? "" : `?${new URLSearchParams({ artifactType: options.artifactType })}`;
  const response = await session.send({
    registry: repo.registry,
    method: "GET",
    path: `${apiPath(repo)}/referrers/${parseDigest(subject).digest}${query}`,
    scopes: [pullScope(repo.repository)],
    headers: { accept: MediaType.ociIndex },
    ok: [200, 404],
    maxBody: MAX_MANIFEST_BYTES,
    what,
  });
  // Only a 200 carrying an OCI index is the API; a 404 (or a 200 with anything else, e.g. a proxy's page) means "fall back".
  if (response.status === 200 && response.headers.get("content-type")?.split(";")[0]?.trim() === MediaType.ociIndex) {
    const { bytes, overflow } = response;
    if (overflow) throw new VoxError("E_MANIFEST_SIZE", `Cannot ${what}: the answer is larger than ${MAX_MANIFEST_BYTES} bytes`);
    const document = parseDocument(bytes, MediaType.ociIndex, `referrers of ${subject}`);
    if (document.kind !== "index") throw new VoxError("E_OCI_DOCUMENT", `Cannot ${what}: the answer is not an index`);
    return { manifests: keep(document.index.manifests), via: "referrers-api" };
  }
  const index = await fallbackIndex(client, repo, referrersTag(subject));
  return { manifests: keep(index?.manifests ?? []), via: "tag-schema" };
}

/** The index at the fallback tag, or undefined when the tag does not exist yet. */
async function fallbackIndex(client: RegistryClient, repo: Repository, tag: string): Promise<Index | undefined> {
  try {
    const { document, bytes } = await client.getManifest({ ...repo, tag });
    if (document.kind !== "index") {
      throw new VoxError("E_REFERRERS_TAG", `Cannot use referrers tag ${describe(repo)}:${tag}: it holds a manifest (${sha256Digest(bytes)}), not an index`, {
        hint: "Something else was pushed under the referrers fallback tag; delete that tag",
      });
    }
    return document.index;
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) return undefined;
    throw error;
  }
}

/** The repository alone: a Reference passed as the repository must not carry its tag or digest into our requests. */
function only(repo: Repository): Repository {
  return { registry: repo.registry, repository: repo.repository };
}
