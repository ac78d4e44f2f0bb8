import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Fetch } from "../../download/mod.ts";
import { canonicalJson } from "../canonical_json.ts";
import { type Digest, sha256Digest } from "../digest.ts";
import { MediaType } from "../media_types.ts";
import type { Descriptor } from "../types.ts";
import { concat } from "../../archive/mod.ts";
import { formatRegistryEvent, type RegistryEvent } from "./_session.ts";
import { createRegistryClient, type RegistryClientOptions } from "./client.ts";
import { staticCredentials } from "./credentials.ts";
import { RegistryError } from "./errors.ts";

const HOST = "r.example";
const REPO = { registry: HOST, repository: "team/app" };
const text = (s: string) => new TextEncoder().encode(s);
/** DOM typings want an ArrayBuffer-backed view; Uint8Array<ArrayBufferLike> is what we have. */
const asBody = (bytes: Uint8Array | null) => bytes as BodyInit | null;

interface Seen {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array | undefined;
}

/**
 * An in-memory distribution registry behind a `fetch`: blobs per repository, manifests by tag and digest, upload
 * sessions, optional bearer/basic auth and referrers API. `intercept` injects faults a real registry will not
 * produce on demand; every request is recorded.
 */
class FakeRegistry {
  readonly blobs = new Map<string, Map<string, Uint8Array>>();
  readonly manifests = new Map<string, { bytes: Uint8Array; mediaType: string }>();
  readonly uploads = new Map<string, Uint8Array[]>();
  readonly seen: Seen[] = [];
  auth: "none" | "bearer" | "basic" = "none";
  referrersApi = false;
  tokensIssued = 0;
  inFlight = 0;
  maxInFlight = 0;
  intercept: (request: Seen) => Response | undefined = () => undefined;

  readonly fetch: Fetch = async (input, init) => {
    const request: Seen = { method: init.method ?? "GET", url: new URL(input), headers: new Headers(init.headers), body: init.body as Uint8Array | undefined };
    this.seen.push(request);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setImmediate(resolve)); // let parallel requests overlap
      return this.intercept(request) ?? this.#route(request);
    } finally {
      this.inFlight--;
    }
  };

  repoBlobs(repository: string): Map<string, Uint8Array> {
    let blobs = this.blobs.get(repository);
    if (!blobs) this.blobs.set(repository, (blobs = new Map()));
    return blobs;
  }

  #route(request: Seen): Response {
    const { url, method } = request;
    if (url.host === "auth.example") return this.#token(request);
    const denied = this.#authorize(request);
    if (denied) return denied;
    let match = /^\/v2\/(.+)\/blobs\/uploads\/(.*)$/.exec(url.pathname);
    if (match) return this.#upload(request, match[1]!, match[2]!);
    match = /^\/v2\/(.+)\/(blobs|manifests|referrers)\/([^/]+)$/.exec(url.pathname);
    if (!match) return new Response("404 page not found", { status: 404 });
    const [, repository, kind, reference] = match as unknown as [string, string, string, string];
    if (kind === "blobs") {
      const blob = this.repoBlobs(repository).get(reference);
      if (!blob) return new Response(method === "HEAD" ? null : '{"errors":[{"code":"BLOB_UNKNOWN"}]}', { status: 404 });
      return new Response(asBody(method === "HEAD" ? null : blob), { status: 200, headers: { "content-length": String(blob.byteLength) } });
    }
    if (kind === "referrers") {
      if (!this.referrersApi) return new Response("404 page not found", { status: 404 });
      const manifests = [...this.manifests.entries()]
        .filter(([key, m]) => key.startsWith(`${repository}@`) && (JSON.parse(new TextDecoder().decode(m.bytes)) as { subject?: Descriptor }).subject?.digest === reference)
        .map(([key, m]) => ({ mediaType: m.mediaType, digest: key.split("@")[1]!, size: m.bytes.byteLength, artifactType: (JSON.parse(new TextDecoder().decode(m.bytes)) as { artifactType?: string }).artifactType }));
      return new Response(asBody(canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests })), { headers: { "content-type": MediaType.ociIndex } });
    }
    const key = `${repository}${reference.includes(":") ? "@" : ":"}${reference}`;
    if (method === "PUT") {
      const bytes = request.body!;
      const digest = sha256Digest(bytes);
      const mediaType = request.headers.get("content-type")!;
      this.manifests.set(key, { bytes, mediaType });
      this.manifests.set(`${repository}@${digest}`, { bytes, mediaType });
      const subject = (JSON.parse(new TextDecoder().decode(bytes)) as { subject?: Descriptor }).subject;
      return new Response(null, { status: 201, headers: { "docker-content-digest": digest, ...(this.referrersApi && subject ? { "oci-subject": subject.digest } : {}) } });
    }
    const manifest = this.manifests.get(key);
    if (!manifest) return new Response('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', { status: 404 });
    return new Response(asBody(manifest.bytes), { headers: { "content-type": manifest.mediaType, "docker-content-digest": sha256Digest(manifest.bytes) } });
  }

  #upload(request: Seen, repository: string, id: string): Response {
    const { url, method } = request;
    if (method === "POST") {
      const mount = url.searchParams.get("mount");
      const from = url.searchParams.get("from");
      const source = mount && from ? this.repoBlobs(from).get(mount) : undefined;
      if (mount && source) {
        this.repoBlobs(repository).set(mount, source);
        return new Response(null, { status: 201 });
      }
      const session = `s${this.uploads.size}`;
      this.uploads.set(session, []);
      return new Response(null, { status: 202, headers: { location: `/v2/${repository}/blobs/uploads/${session}?_state=opaque` } });
    }
    const parts = this.uploads.get(id);
    if (!parts) return new Response('{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]}', { status: 404 });
    if (request.body) parts.push(request.body);
    if (method === "PATCH") return new Response(null, { status: 202, headers: { location: `/v2/${repository}/blobs/uploads/${id}?_state=next` } });
    const bytes = concat(parts);
    const digest = url.searchParams.get("digest")!;
    if (sha256Digest(bytes) !== digest) return new Response('{"errors":[{"code":"DIGEST_INVALID"}]}', { status: 400 });
    this.repoBlobs(repository).set(digest, bytes);
    return new Response(null, { status: 201 });
  }

  #authorize(request: Seen): Response | undefined {
    const header = request.headers.get("authorization") ?? "";
    if (this.auth === "basic") {
      return header === `Basic ${Buffer.from("u:p").toString("base64")}` ? undefined : new Response('{"errors":[{"code":"UNAUTHORIZED"}]}', { status: 401, headers: { "www-authenticate": 'Basic realm="fake"' } });
    }
    if (this.auth !== "bearer") return undefined;
    const push = request.method !== "GET" && request.method !== "HEAD";
    const scope = `repository:team/app:${push ? "pull,push" : "pull"}`;
    if (/^Bearer tok-\d+:.*/.test(header) && header.includes(scope)) return undefined;
    return new Response('{"errors":[{"code":"UNAUTHORIZED"}]}', {
      status: 401,
      headers: { "www-authenticate": `Bearer realm="https://auth.example/token",service="fake",scope="${scope}"` },
    });
  }

  /** Tokens that spell out their scopes, so the registry above can check them; `access_token` as OAuth2 servers say. */
  #token(request: Seen): Response {
    if (request.method === "POST") {
      const form = new URLSearchParams(String(request.body));
      if (form.get("grant_type") !== "refresh_token" || form.get("refresh_token") !== "refresh-1") return new Response("{}", { status: 401 });
      return Response.json({ access_token: `tok-${++this.tokensIssued}:${form.get("scope")!.split(" ").join("|")}` });
    }
    if (request.headers.get("authorization") !== `Basic ${Buffer.from("u:p").toString("base64")}`) return new Response("{}", { status: 401 });
    const token = `tok-${++this.tokensIssued}:${request.url.searchParams.getAll("scope").join("|")}`;
    return Response.json({ access_token: token });
  }
}

function setup(options: Partial<RegistryClientOptions> = {}) {
  const registry = new FakeRegistry();
  const sleeps: number[] = [];
  const client = createRegistryClient({
    fetch: registry.fetch,
    retry: { attempts: 3, sleep: async (ms) => void sleeps.push(ms) },
    credentials: staticCredentials({ [HOST]: { username: "u", password: "p" } }),
    ...options,
  });
  return { registry, client, sleeps };
}

function blob(content: string): { descriptor: Descriptor; bytes: Uint8Array } {
  const bytes = text(content);
  return { descriptor: { mediaType: MediaType.ociLayerGzip, digest: sha256Digest(bytes), size: bytes.byteLength }, bytes };
}

describe("retries", () => {
  test("getManifest() waits what a 429's Retry-After says, says what it waits for, then succeeds", async () => {
    const events: RegistryEvent[] = [];
    const { registry, client, sleeps } = setup({ onEvent: (e) => events.push(e) });
    registry.manifests.set("team/app:1", { bytes: text('{"schemaVersion":2,"manifests":[]}'), mediaType: MediaType.ociIndex });
    let limited = false;
    registry.intercept = () => (limited ? undefined : ((limited = true), new Response("", { status: 429, headers: { "retry-after": "7" } })));
    const fetched = await client.getManifest({ ...REPO, tag: "1" });
    assert.equal(fetched.mediaType, MediaType.ociIndex);
    assert.deepEqual(sleeps, [7000]);
    assert.deepEqual(events.map(formatRegistryEvent), ["waiting 7 s for read manifest r.example/team/app:1 (Retry-After; the registry answered 429)"]);
  });

  test("a 503 on every attempt exhausts the retries with exponential backoff and a temporary RegistryError", async () => {
    const { registry, client, sleeps } = setup();
    registry.intercept = () => new Response('{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}', { status: 503 });
    await assert.rejects(client.hasBlob(REPO, sha256Digest("x")), (error: unknown) => {
      assert.ok(error instanceof RegistryError);
      assert.deepEqual([error.status, error.serverCode, error.temporary, error.method], [503, "UNAVAILABLE", true, "HEAD"]);
      return true;
    });
    assert.deepEqual(sleeps, [500, 1000]);
    assert.equal(registry.seen.length, 3);
  });

  test("a network failure is retried; a 404 is not", async () => {
    const { registry, client, sleeps } = setup();
    let failed = false;
    registry.intercept = () => {
      if (failed) return undefined;
      failed = true;
      throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } });
    };
    assert.equal(await client.hasBlob(REPO, sha256Digest("x")), false);
    assert.deepEqual(sleeps, [500]);
    await assert.rejects(client.getManifest({ ...REPO, tag: "missing" }), (error: unknown) => error instanceof RegistryError && error.serverCode === "MANIFEST_UNKNOWN" && error.code === "E_REGISTRY_NOT_FOUND");
    assert.deepEqual(sleeps, [500]);
  });
});

describe("auth", () => {
  test("a bearer challenge gets one token per scope set, with basic auth, and the token is reused", async () => {
    const { registry, client } = setup();
    registry.auth = "bearer";
    registry.manifests.set("team/app:1", { bytes: text('{"schemaVersion":2,"manifests":[]}'), mediaType: MediaType.ociIndex });
    await client.getManifest({ ...REPO, tag: "1" });
    await client.getManifest({ ...REPO, tag: "1" });
    await Promise.all([client.hasBlob(REPO, sha256Digest("a")), client.hasBlob(REPO, sha256Digest("b"))]);
    assert.equal(registry.tokensIssued, 1);
    const { bytes, descriptor } = blob("layer");
    await client.pushBlob(REPO, descriptor, { read: async () => bytes });
    assert.equal(registry.tokensIssued, 2);
    // The challenge's own scope is added to ours: the HEAD before an upload is challenged for pull only.
    assert.deepEqual(client.requestedScopes, [["repository:team/app:pull"], ["repository:team/app:pull,push", "repository:team/app:pull"]]);
    const tokenRequest = registry.seen.find((r) => r.url.host === "auth.example")!;
    assert.equal(tokenRequest.url.searchParams.get("service"), "fake");
  });

  test("an identity token is exchanged by POST (OAuth2 refresh_token grant) and never sent as basic auth", async () => {
    const { registry } = setup();
    registry.auth = "bearer";
    const client = createRegistryClient({ fetch: registry.fetch, credentials: staticCredentials({ [HOST]: { identityToken: "refresh-1" } }) });
    assert.equal(await client.hasBlob(REPO, sha256Digest("a")), false);
    const tokenRequest = registry.seen.find((r) => r.url.host === "auth.example")!;
    assert.equal(tokenRequest.method, "POST");
    assert.equal(tokenRequest.headers.get("authorization"), null);
    assert.equal(new URLSearchParams(String(tokenRequest.body)).get("service"), "fake");
  });

  test("a Basic challenge is answered with the credentials; without credentials the 401 stands with a login hint", async () => {
    const { registry, client } = setup();
    registry.auth = "basic";
    assert.equal(await client.hasBlob(REPO, sha256Digest("a")), false);
    assert.match(registry.seen.at(-1)!.headers.get("authorization") ?? "", /^Basic /);
    const anonymous = createRegistryClient({ fetch: registry.fetch, retry: { attempts: 1 } });
    await assert.rejects(anonymous.hasBlob(REPO, sha256Digest("a")), (error: unknown) => error instanceof RegistryError && error.status === 401 && /docker login r\.example/.test(error.hint ?? ""));
  });

  test("a wrong password at the token endpoint is a permanent auth error that leaks no secret", async () => {
    const { registry } = setup();
    registry.auth = "bearer";
    const client = createRegistryClient({ fetch: registry.fetch, credentials: staticCredentials({ [HOST]: { username: "u", password: "hunter2" } }) });
    await assert.rejects(client.hasBlob(REPO, sha256Digest("a")), (error: unknown) => {
      assert.ok(error instanceof RegistryError);
      assert.deepEqual([error.code, error.status, error.temporary], ["E_REGISTRY_AUTH", 401, false]);
      assert.doesNotMatch(JSON.stringify({ m: error.message, u: error.url, h: error.hint }), /hunter2|dTpodW50ZXIy/);
      return true;
    });
  });

  test("a redirect to another host does not carry the registry's Authorization; https → http is refused", async () => {
    const { registry, client } = setup();
    registry.auth = "basic";
    const { bytes, descriptor } = blob("redirected");
    registry.intercept = (request) => {
      if (request.url.host === "storage.example") return new Response(asBody(bytes));
      if (request.url.pathname.endsWith(descriptor.digest) && request.headers.get("authorization")) return new Response(null, { status: 307, headers: { location: "https://storage.example/blob?sig=1" } });
      return undefined;
    };
    assert.deepEqual(await client.getBlob(REPO, descriptor), bytes);
    assert.equal(registry.seen.find((r) => r.url.host === "storage.example")?.headers.get("authorization"), null);
    registry.intercept = (request) => (request.url.host === HOST && request.headers.get("authorization") ? new Response(null, { status: 302, headers: { location: "http://storage.example/blob" } }) : undefined);
    await assert.rejects(client.getBlob(REPO, descriptor), (error: unknown) => error instanceof RegistryError && error.code === "E_REGISTRY_REDIRECT");
  });
});

/** A body that sends `first` and then nothing, ever; `pulled` counts the bytes handed out. */
function stalling(first: Uint8Array, more?: Uint8Array): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(stream) {
      if (more) {
        pulled += more.byteLength;
        stream.enqueue(more);
        return;
      }
      if (sent) return new Promise<void>(() => {});
      sent = true;
      pulled += first.byteLength;
      stream.enqueue(first);
    },
  });
  return { body, pulled: () => pulled };
}

describe("hostile servers", () => {
  const storage401 = () => new Response(null, { status: 401, headers: { "www-authenticate": 'Bearer realm="https://evil.example/token",service="evil"' } });

  test("a 401 from the storage host a blob is redirected to is a permanent failure, and nothing is sent to its realm", async () => {
    const { registry, client, sleeps } = setup();
    registry.auth = "bearer";
    const { descriptor } = blob("redirected");
    registry.intercept = (request) => {
      if (request.url.host === "storage.example") return storage401();
      if (request.url.host === HOST && request.url.pathname.endsWith(descriptor.digest) && request.headers.get("authorization")) {
        return new Response(null, { status: 307, headers: { location: "https://storage.example/blob" } });
      }
      return undefined;
    };
    await assert.rejects(client.getBlob(REPO, descriptor), (error: unknown) => {
      assert.ok(error instanceof RegistryError);
      assert.deepEqual([error.code, error.status, error.temporary], ["E_REGISTRY_AUTH", 401, false]);
      assert.match(error.message, /https:\/\/storage\.example, where the registry sent this request, asked for credentials/);
      return true;
    });
    assert.deepEqual(registry.seen.filter((r) => r.url.host === "evil.example"), []);
    assert.equal(registry.seen.find((r) => r.url.host === "storage.example")?.headers.get("authorization"), null);
    assert.deepEqual(sleeps, []);
  });

  test("an upload location on another origin that answers 401 fails the push without a login there", async () => {
    const { registry, client } = setup();
    registry.auth = "basic";
    registry.intercept = (request) => {
      if (request.url.host === "upload.example") return storage401();
      if (request.method === "POST" && request.headers.get("authorization")) return new Response(null, { status: 202, headers: { location: "https://upload.example/u/1" } });
      return undefined;
    };
    const { bytes, descriptor } = blob("pushed");
    await assert.rejects(client.pushBlob(REPO, descriptor, { read: async () => bytes }), (error: unknown) => error instanceof RegistryError && error.code === "E_REGISTRY_AUTH" && !error.temporary);
    assert.deepEqual(registry.seen.filter((r) => r.url.host === "evil.example"), []);
    assert.ok(registry.seen.filter((r) => r.url.host === "upload.example").every((r) => r.headers.get("authorization") === null));
  });

  test("an endless token answer is refused after reading 1 MiB of it", async () => {
    const { registry, client } = setup();
    registry.auth = "bearer";
    const endless = stalling(text(""), new Uint8Array(64 << 10).fill(0x61));
    registry.intercept = (request) => (request.url.host === "auth.example" ? new Response(endless.body) : undefined);
    await assert.rejects(client.hasBlob(REPO, sha256Digest("a")), /the token answer is larger than 1 MiB/);
    assert.ok(endless.pulled() <= (1 << 20) + (256 << 10), `read ${endless.pulled()} bytes`);
  });

  test("a body that goes silent fails after the idle timeout and is retried; the retry says why", async () => {
    const events: RegistryEvent[] = [];
    const { registry, client, sleeps } = setup({ timeouts: { idleMs: 20 }, onEvent: (e) => events.push(e) });
    const { bytes, descriptor } = blob("slow blob");
    registry.repoBlobs("team/app").set(descriptor.digest, bytes);
    let stalled = false;
    registry.intercept = (request) => (request.method === "GET" && !stalled ? ((stalled = true), new Response(stalling(bytes.subarray(0, 2)).body)) : undefined);
    assert.deepEqual(await client.getBlob(REPO, descriptor), bytes);
    assert.deepEqual(sleeps, [500]);
    assert.equal(formatRegistryEvent(events[0]!), `retrying read blob ${descriptor.digest} from r.example/team/app in 0.5 s: no data for 0.02 s`);
  });

  test("a body that ends before its Content-Length is temporary and retried, not a size mismatch", async () => {
    const { registry, client, sleeps } = setup();
    const { bytes, descriptor } = blob("0123456789");
    registry.repoBlobs("team/app").set(descriptor.digest, bytes);
    let cut = false;
    registry.intercept = (request) => (request.method === "GET" && !cut ? ((cut = true), new Response(asBody(bytes.subarray(0, 4)), { headers: { "content-length": "10" } })) : undefined);
    assert.deepEqual(await client.getBlob(REPO, descriptor), bytes);
    assert.deepEqual(sleeps, [500]);
  });

  test("the total timeout ends a request for good, however the server trickles", async () => {
    const { registry, client, sleeps } = setup({ timeouts: { totalMs: 30, idleMs: 10_000 } });
    registry.intercept = () => new Response(stalling(text("{")).body);
    await assert.rejects(client.getManifest({ ...REPO, tag: "1" }), (error: unknown) => {
      assert.ok(error instanceof RegistryError);
      assert.deepEqual([error.code, error.temporary], ["E_REGISTRY_TIMEOUT", false]);
      assert.match(error.message, /not done after 0\.03 s/);
      return true;
    });
    assert.deepEqual(sleeps, []);
  });

  test("a token GET redirected to another host goes there without the password; one to plain HTTP is refused", async () => {
    const { registry, client } = setup();
    registry.auth = "bearer";
    registry.intercept = (request) => {
      if (request.url.host === "auth.example") return new Response(null, { status: 307, headers: { location: `https://other.example/token${request.url.search}` } });
      if (request.url.host === "other.example") return Response.json({ token: `tok-0:${request.url.searchParams.getAll("scope").join("|")}` });
      return undefined;
    };
    assert.equal(await client.hasBlob(REPO, sha256Digest("a")), false);
    const moved = registry.seen.filter((r) => r.url.host === "other.example");
    assert.equal(moved.length, 1);
    assert.equal(moved[0]!.headers.get("authorization"), null);
    const downgraded = setup();
    downgraded.registry.auth = "bearer";
    downgraded.registry.intercept = (request) => (request.url.host === "auth.example" && request.url.protocol === "https:" ? new Response(null, { status: 302, headers: { location: "http://auth.example/token" } }) : undefined);
    await assert.rejects(downgraded.client.hasBlob(REPO, sha256Digest("a")), (error: unknown) => error instanceof RegistryError && error.code === "E_REGISTRY_REDIRECT" && !error.temporary);
    assert.deepEqual(downgraded.registry.seen.filter((r) => r.url.protocol === "http:"), []);
  });

  test("a refresh-token POST follows no redirect: the token is never re-sent elsewhere", async () => {
    const { registry } = setup();
    registry.auth = "bearer";
    const client = createRegistryClient({ fetch: registry.fetch, credentials: staticCredentials({ [HOST]: { identityToken: "refresh-1" } }) });
    registry.intercept = (request) => (request.url.host === "auth.example" ? new Response(null, { status: 307, headers: { location: "https://other.example/token" } }) : undefined);
    await assert.rejects(client.hasBlob(REPO, sha256Digest("a")), /its token service redirected the request to https:\/\/other\.example\/token/);
    assert.deepEqual(registry.seen.filter((r) => r.url.host === "other.example"), []);
  });
});

describe("verified reads", () => {
  test("getManifest() refuses bytes that do not match the pinned digest or the Docker-Content-Digest header", async () => {
    const { registry, client } = setup();
    const bytes = text('{"schemaVersion":2,"manifests":[]}');
    const pinned = sha256Digest("something else");
    registry.manifests.set(`team/app@${pinned}`, { bytes, mediaType: MediaType.ociIndex });
    await assert.rejects(client.getManifest({ ...REPO, digest: pinned }), (error: Error & { code?: string }) => error.code === "E_DIGEST_MISMATCH");
    registry.manifests.set("team/app:1", { bytes, mediaType: MediaType.ociIndex });
    registry.intercept = (request) => (request.method === "GET" ? new Response(asBody(bytes), { headers: { "content-type": MediaType.ociIndex, "docker-content-digest": pinned } }) : undefined);
    await assert.rejects(client.getManifest({ ...REPO, tag: "1" }), /Docker-Content-Digest/);
  });

  test("getBlob() stops reading past the declared size and refuses the blob", async () => {
    const { registry, client } = setup();
    const { descriptor } = blob("short");
    registry.intercept = () => new Response(asBody(text("short and then a lot more")));
    await assert.rejects(client.getBlob(REPO, descriptor), (error: Error & { code?: string }) => error.code === "E_BLOB_SIZE" && /served more bytes/.test(error.message));
  });
});

describe("uploads", () => {
  test("pushBlob() falls back to chunked uploads when the monolithic PUT gets a 413, and stays chunked for that registry", async () => {
    const { registry } = setup();
    const client = createRegistryClient({ fetch: registry.fetch, chunkSize: 4 });
    registry.intercept = (request) => (request.method === "PUT" && request.body ? new Response("too large", { status: 413 }) : undefined);
    const first = blob("0123456789");
    assert.equal(await client.pushBlob(REPO, first.descriptor, { read: async () => first.bytes }), "uploaded");
    assert.deepEqual(
      registry.seen.filter((r) => r.method === "PATCH").map((r) => r.headers.get("content-range")),
      ["0-3", "4-7", "8-9"],
    );
    assert.deepEqual(registry.repoBlobs("team/app").get(first.descriptor.digest), first.bytes);
    const before = registry.seen.length;
    const second = blob("abcdef");
    await client.pushBlob(REPO, second.descriptor, { read: async () => second.bytes });
    assert.equal(registry.seen.slice(before).filter((r) => r.method === "PUT" && r.body).length, 0);
  });

  test("pushBlob() does not fall back on a 401, 404 or 5xx: those are not refusals of monolithic uploads", async () => {
    const { registry } = setup();
    const client = createRegistryClient({ fetch: registry.fetch, retry: { attempts: 1 } });
    registry.intercept = (request) => (request.method === "PUT" ? new Response('{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]}', { status: 404 }) : undefined);
    const { bytes, descriptor } = blob("x");
    await assert.rejects(client.pushBlob(REPO, descriptor, { read: async () => bytes }), (error: unknown) => error instanceof RegistryError && error.serverCode === "BLOB_UPLOAD_UNKNOWN");
    assert.equal(registry.seen.filter((r) => r.method === "PATCH").length, 0);
  });

  test("pushBlob() skips what HEAD finds, mounts what another repository has, and never reads either", async () => {
    const { registry, client } = setup();
    const { bytes, descriptor } = blob("shared");
    registry.repoBlobs("team/base").set(descriptor.digest, bytes);
    const read = async () => assert.fail("the source must not be read");
    assert.equal(await client.pushBlob(REPO, descriptor, { read, mountFrom: "team/base" }), "mounted");
    assert.equal(await client.pushBlob(REPO, descriptor, { read, mountFrom: "team/base" }), "exists");
    const mount = registry.seen.find((r) => r.url.searchParams.has("mount"))!;
    assert.equal(mount.url.searchParams.get("from"), "team/base");
  });

  test("pushBlob() refuses source bytes that do not match the descriptor before uploading anything", async () => {
    const { registry, client } = setup();
    const { descriptor } = blob("right");
    await assert.rejects(client.pushBlob(REPO, descriptor, { read: async () => text("wrong") }), (error: Error & { code?: string }) => error.code === "E_DIGEST_MISMATCH");
    assert.equal(registry.seen.filter((r) => r.method === "PUT").length, 0);
  });
});

/** Two platforms sharing one layer, under an index. */
function twoPlatformImage() {
  const blobs = new Map<string, Uint8Array>();
  const add = (mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}): Descriptor => {
    blobs.set(sha256Digest(bytes), bytes);
    return { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength, ...extra };
  };
  const shared = add(MediaType.ociLayerGzip, text("shared layer"));
  const manifests = ["amd64", "arm64"].map((architecture) => {
    const config = add(MediaType.ociConfig, canonicalJson({ architecture, os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
    const own = add(MediaType.ociLayerGzip, text(`${architecture} layer`));
    return add(MediaType.ociManifest, canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [shared, own] }), { platform: { os: "linux", architecture } });
  });
  const root = add(MediaType.ociIndex, canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }));
  return { root, manifests, reads: [] as string[], source: { readBlob: async (digest: Digest) => blobs.get(digest)! } };
}

describe("pushImage()", () => {
  test("uploads each blob once with bounded parallelism, then platform manifests by digest, then the index by tag", async () => {
    const { registry } = setup();
    const client = createRegistryClient({ fetch: registry.fetch, concurrency: 2 });
    const image = twoPlatformImage();
    const digest = await client.pushImage({ ...REPO, tag: "1.0" }, { root: image.root, source: image.source });
    assert.equal(digest, image.root.digest);
    const blobPuts = registry.seen.filter((r) => r.method === "PUT" && r.url.pathname.includes("/blobs/uploads/"));
    assert.equal(blobPuts.length, 5); // shared layer once, two configs, two own layers
    assert.ok(registry.maxInFlight <= 2, `at most 2 requests at once, saw ${registry.maxInFlight}`);
    const manifestPuts = registry.seen.filter((r) => r.method === "PUT" && r.url.pathname.includes("/manifests/")).map((r) => r.url.pathname.split("/manifests/")[1]);
    assert.deepEqual(manifestPuts, [image.manifests[0]!.digest, image.manifests[1]!.digest, "1.0"]);
    const lastBlob = registry.seen.lastIndexOf(blobPuts.at(-1)!);
    const firstManifest = registry.seen.findIndex((r) => r.url.pathname.includes("/manifests/"));
    assert.ok(lastBlob < firstManifest, "every blob is in place before the first manifest");
  });

  test("pushes the root by digest when the target has no tag", async () => {
    const { registry, client } = setup();
    const image = twoPlatformImage();
    await client.pushImage(REPO, { root: image.root, source: image.source });
    assert.ok(registry.manifests.has(`team/app@${image.root.digest}`));
    assert.equal([...registry.manifests.keys()].some((k) => k.startsWith("team/app:")), false);
  });
});

describe("referrers", () => {
  function sbomFor(subject: Descriptor) {
    const empty = text("{}");
    const layer = text('{"spdxVersion":"SPDX-2.3"}');
    const blobs = new Map([
      [sha256Digest(empty), empty],
      [sha256Digest(layer), layer],
    ]);
    const manifest = canonicalJson({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: MediaType.spdxJson,
      config: { mediaType: MediaType.ociEmpty, digest: sha256Digest(empty), size: 2 },
      layers: [{ mediaType: MediaType.spdxJson, digest: sha256Digest(layer), size: layer.byteLength }],
      subject,
    });
    return { manifest, source: { readBlob: async (digest: Digest) => blobs.get(digest)! } };
  }

  test("with the referrers API (OCI-Subject answered) no fallback tag is written, and listing uses the API", async () => {
    const { registry, client } = setup();
    registry.referrersApi = true;
    const image = twoPlatformImage();
    await client.pushImage({ ...REPO, tag: "1" }, { root: image.root, source: image.source });
    const sbom = sbomFor(image.root);
    assert.deepEqual(await client.pushReferrer(REPO, sbom.manifest, { source: sbom.source }), { digest: sha256Digest(sbom.manifest), via: "referrers-api" });
    assert.equal([...registry.manifests.keys()].some((k) => k.includes(":sha256-")), false);
    const listed = await client.listReferrers(REPO, image.root.digest as Digest, { artifactType: MediaType.spdxJson });
    assert.equal(listed.via, "referrers-api");
    assert.deepEqual(listed.manifests.map((d) => d.digest), [sha256Digest(sbom.manifest)]);
    assert.deepEqual((await client.listReferrers(REPO, image.root.digest as Digest, { artifactType: "application/other" })).manifests, []);
  });

  test("without the API the sha256-<hex> tag index gets the descriptor with artifactType, once", async () => {
    const { registry, client } = setup();
    const image = twoPlatformImage();
    await client.pushImage({ ...REPO, tag: "1" }, { root: image.root, source: image.source });
    const sbom = sbomFor(image.root);
    await client.pushReferrer(REPO, sbom.manifest, { source: sbom.source });
    await client.pushReferrer(REPO, sbom.manifest, { source: sbom.source });
    const tag = registry.manifests.get(`team/app:sha256-${image.root.digest.slice(7)}`)!;
    const index = JSON.parse(new TextDecoder().decode(tag.bytes)) as { manifests: Descriptor[] };
    assert.deepEqual(index.manifests, [{ mediaType: MediaType.ociManifest, digest: sha256Digest(sbom.manifest), size: sbom.manifest.byteLength, artifactType: MediaType.spdxJson }]);
    const listed = await client.listReferrers(REPO, image.root.digest as Digest);
    assert.deepEqual([listed.via, listed.manifests.length], ["tag-schema", 1]);
  });

  test("pushReferrer() refuses a manifest without subject", async () => {
    const { client } = setup();
    const image = twoPlatformImage();
    const manifest = await image.source.readBlob(image.manifests[0]!.digest as Digest);
    await assert.rejects(client.pushReferrer(REPO, manifest), (error: Error & { code?: string }) => error.code === "E_REFERRER_SUBJECT");
  });
});

describe("streamBlob()", () => {
  /** A body that sends `bytes` and then fails like a reset connection. */
  const cutting = (bytes: Uint8Array) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
      },
      pull(controller) {
        controller.error(new TypeError("fetch failed", { cause: { code: "ECONNRESET" } }));
      },
    });
  const collect = () => {
    const chunks: Uint8Array[] = [];
    return { chunks, write: async (chunk: Uint8Array) => void chunks.push(chunk.slice()), bytes: () => concat(chunks) };
  };

  test("resumes a connection cut mid-body with Range from the byte it stopped at, and checks the digest", async () => {
    const { registry, client, sleeps } = setup();
    const { bytes, descriptor } = blob("0123456789abcdef");
    registry.repoBlobs("team/app").set(descriptor.digest, bytes);
    registry.intercept = (request) => {
      if (request.method !== "GET" || !request.url.pathname.includes("/blobs/")) return undefined;
      const range = request.headers.get("range");
      if (range === null) return new Response(cutting(bytes.subarray(0, 6)), { headers: { "content-length": "16" } });
      const from = Number(/^bytes=(\d+)-$/.exec(range)![1]);
      return new Response(asBody(bytes.subarray(from)), { status: 206, headers: { "content-range": `bytes ${from}-15/16` } });
    };
    const sink = collect();
    await client.streamBlob(REPO, descriptor, { write: sink.write });
    assert.deepEqual(sink.bytes(), bytes);
    assert.deepEqual(registry.seen.filter((r) => r.url.pathname.includes("/blobs/")).map((r) => r.headers.get("range")), [null, "bytes=6-"]);
    assert.deepEqual(sleeps, [500]);
  });

  test("a registry that ignores Range is read past the bytes already taken; `from` asks only for the rest", async () => {
    const { registry, client } = setup();
    const { bytes, descriptor } = blob("0123456789");
    registry.repoBlobs("team/app").set(descriptor.digest, bytes);
    const sink = collect();
    await client.streamBlob(REPO, descriptor, { write: sink.write, from: 4 });
    assert.equal(new TextDecoder().decode(sink.bytes()), "456789");
    assert.equal(registry.seen.at(-1)!.headers.get("range"), "bytes=4-");
  });

  test("refuses more bytes than the descriptor says, a wrong Content-Range and a wrong digest, and never retries a failing writer", async () => {
    const { registry, client, sleeps } = setup();
    const { bytes, descriptor } = blob("exact");
    registry.intercept = () => new Response(asBody(text("exact and more")));
    await assert.rejects(client.streamBlob(REPO, descriptor, collect()), (error: Error & { code?: string }) => error.code === "E_BLOB_SIZE");
    registry.intercept = () => new Response(asBody(bytes.subarray(1)), { status: 206, headers: { "content-range": "bytes 1-4/5" } });
    await assert.rejects(client.streamBlob(REPO, descriptor, { ...collect(), from: 2 }), (error: Error & { code?: string }) => error.code === "E_REGISTRY_RANGE");
    registry.intercept = () => new Response(asBody(text("EXACT")));
    await assert.rejects(client.streamBlob(REPO, descriptor, collect()), (error: Error & { code?: string }) => error.code === "E_DIGEST_MISMATCH");
    registry.intercept = () => undefined;
    registry.repoBlobs("team/app").set(descriptor.digest, bytes);
    await assert.rejects(client.streamBlob(REPO, descriptor, { write: async () => { throw new Error("disk full"); } }), /disk full/);
    assert.deepEqual(sleeps, []);
  });
});
