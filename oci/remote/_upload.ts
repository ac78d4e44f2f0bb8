import { createHash } from "node:crypto";
import { VoxError } from "../../errors/mod.ts";
import { type Digest, parseDigest } from "../digest.ts";
import type { Descriptor } from "../types.ts";
import { apiPath, type ApiRequest, describe, pullScope, pushScope, type Repository, retryDelay, type Session } from "./_session.ts";
import type { BlobSource } from "./client.ts";
import { RegistryError } from "./errors.ts";

/** How a blob reached the registry: already there (HEAD hit), mounted from another repository, or uploaded. */
export type BlobOutcome = "exists" | "mounted" | "uploaded";

/**
 * A blob's bytes: in memory, or a `Blob` such as a file opened with `openAsBlob(path)`, read piece by piece as it is
 * hashed and sent (from any offset when an upload resumes), so a layer is never held whole.
 */
export type BlobBody = Uint8Array | Blob;

export interface UploadState {
  session: Session;
  chunkSize: number;
  /** Registries that refused a monolithic upload once; later blobs go straight to chunked. */
  monolithicRefused: Set<string>;
}

export interface PushBlobOptions {
  /** The blob, asked for only when the registry lacks it and cannot mount it; pass a file as a Blob. */
  read: () => Promise<BlobBody>;
  /** A repository on the same registry that may already hold the blob (cross-repo mount). */
  mountFrom?: string;
}

/** A blob of `source` as `pushBlob` reads it: opened (a file, never read whole) when the source can, else read. */
export function blobReader(source: BlobSource, digest: Digest): () => Promise<BlobBody> {
  return () => (source.openBlob ? source.openBlob(digest) : source.readBlob(digest));
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
  const body = await options.read();
  await checkSource(body, descriptor);
  if (!state.monolithicRefused.has(repo.registry)) {
    try {
      await transfer(state, { repo, descriptor, body, chunked: false, location });
      return done("uploaded", "monolithic");
    } catch (error) {
      if (!refusesMonolithic(error)) throw error;
      state.monolithicRefused.add(repo.registry);
    }
  }
  await transfer(state, { repo, descriptor, body, chunked: true, location: undefined });
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

interface Upload {
  repo: Repository;
  descriptor: Descriptor;
  body: BlobBody;
  chunked: boolean;
  /** An upload session already opened (by a mount the registry turned into an upload). */
  location: string | undefined;
}

/** An upload session and how many bytes of the blob the registry has acknowledged in it. */
interface Cursor {
  location: string;
  offset: number;
}

/**
 * Sends the blob through one upload session: one PUT (monolithic), or PATCHes of `chunkSize` bytes closed by a PUT.
 * A request cut off on the way (dropped connection, timeout, 5xx) is not sent again blindly, since the registry may
 * have kept part of it: the blob may already be there (the closing PUT landed), or the upload's status (GET on its
 * location) says how many bytes the registry holds and the rest follows from there. Where the registry cannot say
 * (docker-registry forgets an upload it took part of a request for), a new upload starts from byte 0. Each failure
 * without new bytes acknowledged counts against the attempts.
 */
async function transfer(state: UploadState, upload: Upload): Promise<void> {
  const { session } = state;
  const cursor: Cursor = { location: upload.location ?? (await startUpload(session, upload.repo, upload.descriptor.digest)), offset: 0 };
  let failures = 0;
  let failedAt = -1;
  for (;;) {
    try {
      return await sendFrom(state, upload, cursor);
    } catch (error) {
      if (!(error instanceof Interrupted)) throw error;
      failures = cursor.offset > failedAt ? 1 : failures + 1;
      failedAt = cursor.offset;
      const { failure, request } = error;
      if (failures >= session.settings.attempts) throw failure;
      const delayMs = retryDelay(failure, failures);
      session.settings.onEvent({ kind: "retry", method: request.method, url: failure.url, what: request.what, attempt: failures, delayMs, reason: failure.message.replace(`Cannot ${request.what}: `, ""), retryAfter: failure.retryAfterSeconds !== undefined });
      await session.settings.sleep(delayMs);
      if (await blobExists(session, upload.repo, upload.descriptor.digest, [pushScope(upload.repo.repository)])) return;
      Object.assign(cursor, (await uploadStatus(session, upload, cursor.location)) ?? { location: await startUpload(session, upload.repo, upload.descriptor.digest), offset: 0 });
    }
  }
}

/** The rest of the blob from `cursor.offset`, advancing the cursor as the registry acknowledges each PATCH. */
async function sendFrom(state: UploadState, upload: Upload, cursor: Cursor): Promise<void> {
  const { session } = state;
  const { repo, descriptor, body } = upload;
  const size = sizeOf(body);
  const what = (from: number, to: number) => (from === 0 && to === size ? `upload blob ${descriptor.digest} to ${describe(repo)}` : `upload bytes ${from}-${to - 1} of blob ${descriptor.digest} to ${describe(repo)}`);
  while (upload.chunked && cursor.offset < size) {
    const end = Math.min(cursor.offset + state.chunkSize, size);
    const response = await sendPart(session, {
      registry: repo.registry,
      method: "PATCH",
      path: cursor.location,
      scopes: [pushScope(repo.repository)],
      headers: { "content-type": "application/octet-stream", "content-range": `${cursor.offset}-${end - 1}` },
      body: slice(body, cursor.offset, end),
      ok: [202],
      what: what(cursor.offset, end),
    });
    Object.assign(cursor, { location: uploadLocation(response, session.baseUrl(repo.registry)), offset: end });
    session.settings.onEvent({ kind: "transfer", direction: "upload", digest: descriptor.digest, done: end, size });
  }
  // The closing PUT ?digest= carries what is left: the whole blob (monolithic), the rest after a resume, or nothing.
  const url = new URL(cursor.location);
  url.searchParams.set("digest", descriptor.digest);
  const rest = cursor.offset < size ? { headers: { "content-type": "application/octet-stream" }, body: slice(body, cursor.offset, size) } : {};
  await sendPart(session, {
    registry: repo.registry,
    method: "PUT",
    path: url.toString(),
    scopes: [pushScope(repo.repository)],
    ...rest,
    ok: [201],
    what: cursor.offset < size ? what(cursor.offset, size) : `finish uploading blob ${descriptor.digest} to ${describe(repo)}`,
  });
  session.settings.onEvent({ kind: "transfer", direction: "upload", digest: descriptor.digest, done: size, size });
}

/** A request cut off on the way: the registry may hold none, some or all of what it carried. */
class Interrupted extends Error {
  constructor(
    readonly failure: RegistryError,
    readonly request: ApiRequest,
  ) {
    super(failure.message, { cause: failure });
  }
}

async function sendPart(session: Session, request: ApiRequest): Promise<{ status: number; headers: Headers }> {
  try {
    return await session.send({ ...request, once: true });
  } catch (error) {
    if (error instanceof RegistryError && error.temporary) throw new Interrupted(error, request);
    throw error;
  }
}

/**
 * The upload's status (`GET` on its location: 204 with `Range: 0-<last byte held>` and a fresh location), or
 * undefined when the registry no longer knows or will not say (then the upload starts over). distribution writes
 * `0-0` for an empty upload too, so `0-0` reads as nothing held.
 */
async function uploadStatus(session: Session, upload: Upload, location: string): Promise<Cursor | undefined> {
  const { repo, descriptor } = upload;
  try {
    const response = await session.send({
      registry: repo.registry,
      method: "GET",
      path: location,
      scopes: [pushScope(repo.repository)],
      ok: [204],
      what: `check the upload of blob ${descriptor.digest} to ${describe(repo)}`,
    });
    const range = /^(?:bytes=)?0-(\d+)$/.exec(response.headers.get("range") ?? "");
    const offset = range ? (Number(range[1]) === 0 ? 0 : Number(range[1]) + 1) : Number.NaN;
    if (!(offset <= sizeOf(upload.body))) return undefined;
    return { location: response.headers.get("location") ? uploadLocation(response, session.baseUrl(repo.registry)) : location, offset };
  } catch (error) {
    if (error instanceof RegistryError && !error.temporary) return undefined;
    throw error;
  }
}

function sizeOf(body: BlobBody): number {
  return body instanceof Uint8Array ? body.byteLength : body.size;
}

function slice(body: BlobBody, start: number, end: number): BlobBody {
  return body instanceof Uint8Array ? body.subarray(start, end) : body.slice(start, end);
}

/** The source must be the blob the descriptor names before anything is sent; a Blob is hashed as it streams. */
async function checkSource(body: BlobBody, descriptor: Descriptor): Promise<void> {
  const what = `blob ${descriptor.digest} from the source`;
  if (sizeOf(body) !== descriptor.size) {
    throw new VoxError("E_BLOB_SIZE", `Cannot push blob ${descriptor.digest}: the source has ${sizeOf(body)} bytes, the descriptor says ${descriptor.size}`);
  }
  const { algorithm, hex } = parseDigest(descriptor.digest);
  const hash = createHash(algorithm);
  if (body instanceof Uint8Array) hash.update(body);
  else for await (const chunk of body.stream()) hash.update(chunk);
  const actual = hash.digest("hex");
  if (actual !== hex) {
    throw new VoxError("E_DIGEST_MISMATCH", `Cannot use ${what}: its content hashes to ${algorithm}:${actual}, not ${descriptor.digest}`, {
      hint: "The source served different bytes than it promised; do not use it, and report the source",
    });
  }
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
