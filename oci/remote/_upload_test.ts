import assert from "node:assert/strict";
import { openAsBlob, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Fetch } from "../../download/mod.ts";
import { concat } from "../../archive/mod.ts";
import { sha256Digest } from "../digest.ts";
import { MediaType } from "../media_types.ts";
import type { Descriptor } from "../types.ts";
import type { RegistryEvent } from "./_session.ts";
import { createRegistryClient } from "./client.ts";
import { RegistryError } from "./errors.ts";

const REPO = { registry: "r.example", repository: "team/app" };

/**
 * One upload session kept the way the distribution spec describes for resumable uploads (zot does so): the bytes
 * held so far, PATCHes accepted only at that offset (else 416), and `GET` on the location answering `Range`.
 * `cut(patch)` may keep part of a PATCH and then fail it like a dropped connection.
 */
function resumableRegistry(options: { refuseMonolithic?: boolean; cut?: (patch: number, body: Uint8Array) => number | undefined } = {}) {
  const held: Uint8Array[] = [];
  const blobs = new Map<string, Uint8Array>();
  const requests: { method: string; range: string | null; body: unknown }[] = [];
  let patches = 0;
  const size = () => held.reduce((n, part) => n + part.byteLength, 0);
  const fetch: Fetch = async (url, init) => {
    const method = init.method ?? "GET";
    const headers = new Headers(init.headers);
    requests.push({ method, range: headers.get("content-range"), body: init.body });
    const body = init.body instanceof Blob ? new Uint8Array(await init.body.arrayBuffer()) : (init.body as Uint8Array | undefined);
    const path = new URL(url);
    if (method === "HEAD") return new Response(null, { status: blobs.has(path.pathname.split("/").at(-1)!) ? 200 : 404 });
    if (method === "POST") return new Response(null, { status: 202, headers: { location: "/v2/team/app/blobs/uploads/u1" } });
    if (method === "GET") return new Response(null, { status: 204, headers: { range: `0-${Math.max(0, size() - 1)}`, location: "/v2/team/app/blobs/uploads/u1" } });
    if (method === "PATCH") {
      const start = Number(headers.get("content-range")!.split("-")[0]);
      if (start !== size()) return new Response('{"errors":[{"code":"BLOB_UPLOAD_INVALID"}]}', { status: 416 });
      const kept = options.cut?.(++patches, body!);
      if (kept !== undefined) {
        held.push(body!.subarray(0, kept));
        throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } });
      }
      held.push(body!);
      return new Response(null, { status: 202, headers: { location: "/v2/team/app/blobs/uploads/u1", range: `0-${size() - 1}` } });
    }
    if (body && body.byteLength > 0 && options.refuseMonolithic) return new Response("too large", { status: 413 });
    if (body) held.push(body);
    const digest = path.searchParams.get("digest")!;
    if (sha256Digest(concat(held)) !== digest) return new Response('{"errors":[{"code":"DIGEST_INVALID"}]}', { status: 400 });
    blobs.set(digest, concat(held));
    return new Response(null, { status: 201 });
  };
  return { fetch, blobs, requests };
}

const blob = (text: string) => {
  const bytes = new TextEncoder().encode(text);
  return { bytes, descriptor: { mediaType: MediaType.ociLayerGzip, digest: sha256Digest(bytes), size: bytes.byteLength } as Descriptor };
};

describe("pushBlob() after a dropped connection", () => {
  test("resumes a chunked upload from the byte the upload's status reports, mid-chunk, in the same upload", async () => {
    const registry = resumableRegistry({ refuseMonolithic: true, cut: (patch) => (patch === 2 ? 2 : undefined) });
    const events: RegistryEvent[] = [];
    const client = createRegistryClient({ fetch: registry.fetch, chunkSize: 4, retry: { sleep: async () => {} }, onEvent: (e) => events.push(e) });
    const { bytes, descriptor } = blob("0123456789ab");
    assert.equal(await client.pushBlob(REPO, descriptor, { read: async () => bytes }), "uploaded");
    assert.deepEqual(registry.blobs.get(descriptor.digest), bytes);
    assert.deepEqual(registry.requests.filter((r) => r.method === "PATCH").map((r) => r.range), ["0-3", "4-7", "6-9", "10-11"]);
    assert.deepEqual(registry.requests.filter((r) => r.method === "POST").length, 2, "one for the refused monolithic PUT, one for the chunked upload");
    const retry = events.find((e) => e.kind === "retry");
    assert.equal(retry?.kind === "retry" && retry.what, `upload bytes 4-7 of blob ${descriptor.digest} to r.example/team/app`);
  });

  test("gives up with the last failure after `attempts` cuts in a row that add no bytes", async () => {
    const registry = resumableRegistry({ refuseMonolithic: true, cut: (patch) => (patch >= 2 ? 0 : undefined) });
    const client = createRegistryClient({ fetch: registry.fetch, chunkSize: 4, retry: { attempts: 3, sleep: async () => {} } });
    const { bytes, descriptor } = blob("0123456789ab");
    await assert.rejects(client.pushBlob(REPO, descriptor, { read: async () => bytes }), (error: unknown) => error instanceof RegistryError && error.temporary && /upload bytes 4-7/.test(error.message));
    assert.equal(registry.requests.filter((r) => r.method === "PATCH").length, 4);
  });
});

describe("pushBlob() from a file", () => {
  const file = (text: string) => {
    const path = join(mkdtempSync(join(tmpdir(), "vox-upload-")), "blob");
    writeFileSync(path, text);
    return path;
  };

  test("sends a file-backed Blob in slices (chunked) and as itself (monolithic), never as bytes read whole", async () => {
    const { bytes, descriptor } = blob("a file-backed layer");
    for (const refuseMonolithic of [true, false]) {
      const registry = resumableRegistry({ refuseMonolithic });
      const client = createRegistryClient({ fetch: registry.fetch, chunkSize: 8 });
      assert.equal(await client.pushBlob(REPO, descriptor, { read: () => openAsBlob(file("a file-backed layer")) }), "uploaded");
      assert.deepEqual(registry.blobs.get(descriptor.digest), bytes);
      const sent = registry.requests.filter((r) => r.body !== undefined && (r.method === "PATCH" || (r.method === "PUT" && !refuseMonolithic)));
      assert.ok(sent.length > 0 && sent.every((r) => r.body instanceof Blob), "every body went out as a Blob");
    }
  });

  test("refuses a file whose content is not the descriptor's before sending anything", async () => {
    const registry = resumableRegistry();
    const client = createRegistryClient({ fetch: registry.fetch });
    const { descriptor } = blob("the right bytes");
    await assert.rejects(client.pushBlob(REPO, descriptor, { read: () => openAsBlob(file("the wrong bytes")) }), (error: Error & { code?: string }) => error.code === "E_DIGEST_MISMATCH");
    await assert.rejects(client.pushBlob(REPO, descriptor, { read: () => openAsBlob(file("short")) }), (error: Error & { code?: string }) => error.code === "E_BLOB_SIZE");
    assert.deepEqual(registry.requests.map((r) => r.method), ["HEAD", "HEAD"]);
  });
});
