import type { Fetch } from "../../download/mod.ts";
import { VoxError } from "../../errors/mod.ts";
import { type Digest, verifyDigest } from "../digest.ts";
import type { Reference } from "../reference.ts";
import type { Descriptor } from "../types.ts";
import { DEFAULT_TIMEOUTS, type Timeouts } from "./_http.ts";
import { type FetchedManifest, getManifest, putManifest } from "./_manifests.ts";
import { streamBlob, type StreamBlobOptions } from "./_blob_stream.ts";
import { pushImage } from "./_push_image.ts";
import { listReferrers, pushReferrer, type Referrers, type ReferrerPushed } from "./_referrers.ts";
import { apiPath, describe, pullScope, type RegistryEvent, type Repository, Session } from "./_session.ts";
import { type BlobOutcome, blobExists, pushBlob, type PushBlobOptions, type UploadState } from "./_upload.ts";
import { type Credentials, noCredentials } from "./credentials.ts";

export interface RegistryClientOptions {
  /** The transport; pass `createFetch(env, { caBundle })` so proxy and custom CA apply. */
  fetch: Fetch;
  /** Who we are per registry host. Default: anonymous everywhere. */
  credentials?: Credentials;
  /** Registry hosts (as written in references, with port) spoken to over plain HTTP. Default: none. */
  insecure?: readonly string[];
  /** Blob uploads running at once in `pushImage`. Default 4. */
  concurrency?: number;
  /** Attempts per request for temporary failures (429, 5xx, network, timeouts), and how to wait. Default 5 attempts, real timers. */
  retry?: { attempts?: number; sleep?: (ms: number) => Promise<void> };
  /** Limits on every registry and token request; defaults: connect 15 s, idle 30 s, total 10 min (retries included). */
  timeouts?: Partial<Timeouts>;
  /** Bytes per PATCH when a registry refuses monolithic uploads. Default 8 MiB. */
  chunkSize?: number;
  /** Default `vox`. */
  userAgent?: string;
  /** Progress and diagnostics (retries, blob outcomes, manifests); the client prints nothing itself. */
  onEvent?: (event: RegistryEvent) => void;
}

/** Where `pushImage` and `pushReferrer` read what they upload (an image layout, an assembler's output, …). */
export interface BlobSource {
  /** A document or blob, whole: manifests and indexes are walked from these bytes, and blobs when `openBlob` is absent. */
  readBlob(digest: Digest): Promise<Uint8Array>;
  /** A blob to upload without holding it, such as a file opened with `openAsBlob`; see `layoutBlobSource`. */
  openBlob?(digest: Digest): Promise<Blob>;
}

export interface PushImageOptions {
  /** The index or manifest to push; everything it references is read from `source`. */
  root: Descriptor;
  source: BlobSource;
  /** A repository on the target registry that may already hold the base layers (cross-repo mount). */
  mountFrom?: string;
}

/** The OCI distribution API: reads, pushes, referrers. Every method verifies what it reads. */
export interface RegistryClient {
  /** GET a manifest or index by digest (preferred) or tag; e.g. `await client.getManifest(parseReference("ghcr.io/a/b:1"))`. */
  getManifest(ref: Reference): Promise<FetchedManifest>;
  /** GET a blob, capped at `descriptor.size`, checked for size and digest; e.g. `await client.getBlob(ref, manifest.config)`. */
  getBlob(repo: Repository, descriptor: Descriptor): Promise<Uint8Array>;
  /**
   * Streams a blob to `options.write` (flat memory), capped at its size, resumed with Range after a dropped connection,
   * digest-checked when read from byte 0; e.g. `await client.streamBlob(ref, layer, { write: (chunk) => file.write(chunk) })`.
   */
  streamBlob(repo: Repository, descriptor: Descriptor, options: StreamBlobOptions): Promise<void>;
  /** HEAD a blob; e.g. `await client.hasBlob(ref, "sha256:…")`. */
  hasBlob(repo: Repository, digest: Digest): Promise<boolean>;
  /**
   * HEAD, mount, then upload (monolithic, else chunked), resumed or restarted after a dropped connection; a file is
   * sent as a Blob, never read whole; e.g. `await client.pushBlob(ref, layer, { read: () => openAsBlob(path) })`.
   */
  pushBlob(repo: Repository, descriptor: Descriptor, options: PushBlobOptions): Promise<BlobOutcome>;
  /** PUT a manifest by `target.tag`, else by its digest; returns the digest; e.g. `await client.pushManifest(ref, { bytes, mediaType: MediaType.ociIndex })`. */
  pushManifest(target: Reference, manifest: { bytes: Uint8Array; mediaType: string }): Promise<Digest>;
  /** Pushes everything under `root`, the root last; returns its digest; e.g. `await client.pushImage(parseReference("r.example/app:1"), { root, source })`. */
  pushImage(target: Reference, options: PushImageOptions): Promise<Digest>;
  /**
   * Pushes an artifact manifest whose `subject` names the image it describes (its blobs too, when `source` is given),
   * keeping the tag-schema index up to date on registries without the referrers API;
   * e.g. `await client.pushReferrer(ref, sbomManifest, { source })` → `{ digest, via: "tag-schema" }`.
   */
  pushReferrer(repo: Repository, manifest: Uint8Array, options?: { source?: BlobSource }): Promise<ReferrerPushed>;
  /** The referrers of `subject`; e.g. `(await client.listReferrers(ref, imageDigest, { artifactType: MediaType.spdxJson })).manifests`. */
  listReferrers(repo: Repository, subject: Digest, options?: { artifactType?: string }): Promise<Referrers>;
  /** Every scope list a token was requested for, in order (diagnostics; tests assert on it). */
  readonly requestedScopes: readonly (readonly string[])[];
}

/**
 * A registry client on the `fetch` seam: bearer/basic auth from `credentials` (sent only to the registry's own origin),
 * retries with backoff, connect/idle/total timeouts, capped and verified reads, HEAD-before-upload, cross-repo mount,
 * monolithic-then-chunked uploads, OCI 1.1 referrers with the tag fallback.
 *
 * @example
 * ```ts
 * const client = createRegistryClient({ fetch: createFetch(processEnv()), credentials: dockerConfigCredentials({ env: processEnv(), spawner: nodeSpawner }) });
 * const { digest } = await client.getManifest(parseReference("ghcr.io/acme/app:1.0"));
 * ```
 */
export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const session = new Session({
    fetch: options.fetch,
    credentials: options.credentials ?? noCredentials,
    insecure: options.insecure ?? [],
    attempts: Math.max(1, options.retry?.attempts ?? 5),
    sleep: options.retry?.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    userAgent: options.userAgent ?? "vox",
    onEvent: options.onEvent ?? (() => {}),
  });
  const uploads: UploadState = { session, chunkSize: Math.max(1, options.chunkSize ?? 8 << 20), monolithicRefused: new Set() };
  const client: RegistryClient = {
    getManifest: (ref) => getManifest(session, ref),
    getBlob: (repo, descriptor) => getBlob(session, repo, descriptor),
    streamBlob: (repo, descriptor, streamOptions) => streamBlob(session, repo, descriptor, streamOptions),
    hasBlob: (repo, digest) => blobExists(session, repo, digest, [pullScope(repo.repository)]),
    pushBlob: (repo, descriptor, blobOptions) => pushBlob(uploads, repo, descriptor, blobOptions),
    pushManifest: async (target, manifest) => (await putManifest(session, target, manifest)).digest,
    pushImage: (target, pushOptions) => pushImage(client, target, { ...pushOptions, concurrency: Math.max(1, options.concurrency ?? 4) }),
    pushReferrer: (repo, manifest, referrerOptions = {}) => pushReferrer(client, session, repo, manifest, referrerOptions),
    listReferrers: (repo, subject, listOptions = {}) => listReferrers(client, session, repo, subject, listOptions),
    get requestedScopes() {
      return session.auth.requestedScopes;
    },
  };
  return client;
}

/** Reads a blob capped at its declared size, then checks size and digest; nothing unverified is returned. */
async function getBlob(session: Session, repo: Repository, descriptor: Descriptor): Promise<Uint8Array> {
  const what = `read blob ${descriptor.digest} from ${describe(repo)}`;
  const response = await session.send({
    registry: repo.registry,
    method: "GET",
    path: `${apiPath(repo)}/blobs/${descriptor.digest}`,
    scopes: [pullScope(repo.repository)],
    // The digest is over the stored bytes; a transparently decompressed body would never match.
    headers: { "accept-encoding": "identity" },
    ok: [200],
    maxBody: descriptor.size,
    what,
  });
  const { bytes, overflow } = response;
  if (overflow || bytes.byteLength !== descriptor.size) {
    throw new VoxError("E_BLOB_SIZE", `Cannot ${what}: the registry served ${overflow ? "more" : bytes.byteLength} bytes, the descriptor says ${descriptor.size}`, {
      hint: "The registry served different content than the manifest promises; do not use it",
    });
  }
  verifyDigest(bytes, descriptor.digest, `blob ${descriptor.digest} from ${describe(repo)}`);
  return bytes;
}
