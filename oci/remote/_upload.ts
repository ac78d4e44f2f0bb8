import { VoxError } from "../../errors/mod.ts";
import { verifyDigest } from "../digest.ts";
import type { Descriptor } from "../types.ts";
import { apiPath, describe, pullScope, pushScope, type Repository, type Session } from "./_session.ts";
import { RegistryError } from "./errors.ts";

/** How a blob reached the registry: already there (HEAD hit), mounted from another repository, or uploaded. */
export type BlobOutcome = "exists" | "mounted" | "uploaded";

export interface UploadState {
  session: Session;
  chunkSize: number;
  /** Registries that refused a monolithic upload once; later blobs go straight to chunked. */
  monolithicRefused: Set<string>;
}

export interface PushBlobOptions {
  /** The blob's bytes, read only when the registry lacks it and cannot mount it. */
  read: () => Promise<Uint8Array>;
  /** A repository on the same registry that may already hold the blob (cross-repo mount). */
  mountFrom?: string;
}

/** HEAD, then mount, then monolithic upload, falling back to chunked when the registry refuses monolithic. */
export async function pushBlob(state: UploadState, repo: Repository, descriptor: Descriptor, options: PushBlobOptions): Promise<BlobOutcome> {
  const done = (outcome: BlobOutcome, upload?: "monolithic" | "chunked"): BlobOutcome => {
    state.session.settings.onEvent({ kind: "blob", registry: repo.registry, repository: repo.repository, digest: descriptor.digest, outcome, ...(upload ? { upload } : {}) });
    return outcome;
  };
  if (await blobExists(state.session, repo, descriptor.digest, [pushScope(repo.repository)])) return done("exists");
  let location: string | undefined;
  if (options.mountFrom !== undefined && options.mountFrom !== repo.repository) {
    const mounted = await tryMount(state.session, repo, descriptor, options.mountFrom);
    if (mounted === true) return done("mounted");
    location = mounted;
  }
  const bytes = await options.read();
  if (bytes.byteLength !== descriptor.size) {
    throw new VoxError("E_BLOB_SIZE", `Cannot push blob ${descriptor.digest}: the source has ${bytes.byteLength} bytes, the descriptor says ${descriptor.size}`);
  }
  verifyDigest(bytes, descriptor.digest, `blob ${descriptor.digest} from the source`);
  if (!state.monolithicRefused.has(repo.registry)) {
    try {
      await uploadMonolithic(state.session, repo, descriptor, bytes, location);
      return done("uploaded", "monolithic");
    } catch (error) {
      if (!refusesMonolithic(error)) throw error;
      state.monolithicRefused.add(repo.registry);
    }
  }
  await uploadChunked(state, repo, descriptor, bytes);
  return done("uploaded", "chunked");
}

/** HEAD on the blob: 200 means present, 404 absent. */
export async function blobExists(session: Session, repo: Repository, digest: string, scopes: readonly string[]): Promise<boolean> {
  const response = await session.send({
    registry: repo.registry,
    method: "HEAD",
    path: `${apiPath(repo)}/blobs/${digest}`,
    scopes,
    ok: [200, 404],
    what: `check blob ${digest} in ${describe(repo)}`,
  });
  return response.status === 200;
}

/**
 * The monolithic path is refused, and chunked worth trying, when the PUT with the whole body gets a 4xx that is
 * not about auth (401/403), a lost upload (404) or rate limiting (429): e.g. 413 Payload Too Large, 400, 405, 411.
 *
 * @example
 * ```ts
 * refusesMonolithic(new RegistryError("E_REGISTRY_STATUS", "…", { method: "PUT", url, status: 413, temporary: false })); // true
 * ```
 */
export function refusesMonolithic(error: unknown): boolean {
  return error instanceof RegistryError && error.method === "PUT" && error.status !== undefined && error.status >= 400 && error.status < 500 && ![401, 403, 404, 429].includes(error.status);
}

/**
 * `POST …/uploads/?mount=<digest>&from=<repo>`: 201 means mounted (true); 202 means the registry opened an upload
 * instead (its location). A registry that will not let us read `from` gets no mount, just an upload.
 */
async function tryMount(session: Session, repo: Repository, descriptor: Descriptor, from: string): Promise<true | string | undefined> {
  apiPath({ registry: repo.registry, repository: from }); // Validates `from`: it goes into the query and the token scope.
  const query = new URLSearchParams({ mount: descriptor.digest, from });
  try {
    const response = await session.send({
      registry: repo.registry,
      method: "POST",
      path: `${apiPath(repo)}/blobs/uploads/?${query}`,
      scopes: [pushScope(repo.repository), pullScope(from)],
      ok: [201, 202],
      what: `mount blob ${descriptor.digest} from ${from} into ${describe(repo)}`,
    });
    return response.status === 201 ? true : uploadLocation(response, session.baseUrl(repo.registry));
  } catch (error) {
    if (error instanceof RegistryError && (error.status === 401 || error.status === 403)) return undefined;
    throw error;
  }
}

async function startUpload(session: Session, repo: Repository, digest: string): Promise<string> {
  const response = await session.send({
    registry: repo.registry,
    method: "POST",
    path: `${apiPath(repo)}/blobs/uploads/`,
    scopes: [pushScope(repo.repository)],
    ok: [202],
    what: `start uploading blob ${digest} to ${describe(repo)}`,
  });
  return uploadLocation(response, session.baseUrl(repo.registry));
}

async function uploadMonolithic(session: Session, repo: Repository, descriptor: Descriptor, bytes: Uint8Array, location: string | undefined): Promise<void> {
  await closeUpload(session, repo, descriptor, { location: location ?? (await startUpload(session, repo, descriptor.digest)), body: bytes, what: "upload" });
}

/** The PUT ?digest= that ends an upload session, carrying the whole blob (monolithic) or nothing (after PATCHes). */
async function closeUpload(session: Session, repo: Repository, descriptor: Descriptor, upload: { location: string; body?: Uint8Array; what: string }): Promise<void> {
  const url = new URL(upload.location);
  url.searchParams.set("digest", descriptor.digest);
  await session.send({
    registry: repo.registry,
    method: "PUT",
    path: url.toString(),
    scopes: [pushScope(repo.repository)],
    ...(upload.body ? { headers: { "content-type": "application/octet-stream" }, body: upload.body } : {}),
    ok: [201],
    what: `${upload.what} blob ${descriptor.digest} to ${describe(repo)}`,
  });
}

/** A fresh upload session, PATCHed `chunkSize` bytes at a time with Content-Range, then closed by PUT ?digest=. */
async function uploadChunked(state: UploadState, repo: Repository, descriptor: Descriptor, bytes: Uint8Array): Promise<void> {
  const { session } = state;
  let location = await startUpload(session, repo, descriptor.digest);
  for (let start = 0; start < bytes.byteLength; start += state.chunkSize) {
    const chunk = bytes.subarray(start, Math.min(start + state.chunkSize, bytes.byteLength));
    const response = await session.send({
      registry: repo.registry,
      method: "PATCH",
      path: location,
      scopes: [pushScope(repo.repository)],
      headers: { "content-type": "application/octet-stream", "content-range": `${start}-${start + chunk.byteLength - 1}` },
      body: chunk,
      ok: [202],
      what: `upload bytes ${start}-${start + chunk.byteLength - 1} of blob ${descriptor.digest} to ${describe(repo)}`,
    });
      location = uploadLocation(response, session.baseUrl(repo.registry));
  }
  await closeUpload(session, repo, descriptor, { location, what: "finish uploading" });
}

/** The absolute upload URL from a `Location` header (registries send relative or absolute ones). */
function uploadLocation(response: { status: number; headers: Headers }, base: string): string {
  const location = response.headers.get("location");
  if (!location) {
    throw new RegistryError("E_REGISTRY_PROTOCOL", `Cannot upload: the registry answered ${response.status} without a Location header`, {
      method: "POST",
      url: base,
      status: response.status,
      temporary: false,
      hint: "The registry does not follow the distribution spec's upload protocol",
    });
  }
  return new URL(location, base).toString();
}
