import assert from "node:assert/strict";
import { test } from "node:test";
import { networkError, RegistryError, registryErrorFromResponse } from "./errors.ts";

const request = { method: "PUT", url: "https://user:pw@r.example/v2/app/blobs/uploads/1?_state=SECRET&digest=sha256:x", what: "upload blob", host: "r.example" };

test("registryErrorFromResponse() reads the distribution error code and redacts the URL", async () => {
  const response = new Response(JSON.stringify({ errors: [{ code: "BLOB_UPLOAD_INVALID", message: "blob upload invalid", detail: {} }] }), { status: 400 });
  const error = await registryErrorFromResponse(response, request);
  assert.ok(error instanceof RegistryError);
  assert.equal(error.serverCode, "BLOB_UPLOAD_INVALID");
  assert.equal(error.status, 400);
  assert.equal(error.method, "PUT");
  assert.equal(error.temporary, false);
  assert.ok(error.url.startsWith("https://r.example/v2/app/blobs/uploads/1?"), error.url);
  assert.doesNotMatch(`${error.message} ${error.url} ${error.hint}`, /SECRET|pw/);
  assert.match(error.message, /^Cannot upload blob: the registry answered 400 BLOB_UPLOAD_INVALID: blob upload invalid$/);
});

test("registryErrorFromResponse() marks 429 and 5xx temporary and keeps Retry-After", async () => {
  const limited = await registryErrorFromResponse(new Response("slow down", { status: 429, headers: { "retry-after": "12" } }), request);
  assert.equal(limited.temporary, true);
  assert.equal(limited.retryAfterSeconds, 12);
  assert.equal((await registryErrorFromResponse(new Response("", { status: 502 }), request)).temporary, true);
  assert.equal((await registryErrorFromResponse(new Response("", { status: 501 }), request)).temporary, false);
});

test("registryErrorFromResponse() hints at docker login on 401/403 and at dropping --insecure for an HTTPS server", async () => {
  const denied = await registryErrorFromResponse(new Response('{"errors":[{"code":"DENIED"}]}', { status: 403 }), request);
  assert.equal(denied.code, "E_REGISTRY_AUTH");
  assert.match(denied.hint ?? "", /docker login r\.example/);
  const plain = await registryErrorFromResponse(new Response("Client sent an HTTP request to an HTTPS server.\n", { status: 400 }), request);
  assert.match(plain.hint ?? "", /drop --insecure r\.example/);
});

test("networkError() makes TLS mismatches permanent with an --insecure hint, other failures temporary", () => {
  const tls = networkError(new TypeError("fetch failed", { cause: Object.assign(new Error("ssl3_get_record:wrong version number"), { code: "ERR_SSL_WRONG_VERSION_NUMBER" }) }), request);
  assert.equal(tls.code, "E_REGISTRY_TLS");
  assert.equal(tls.temporary, false);
  assert.match(tls.hint ?? "", /--insecure r\.example/);
  const cert = networkError(new TypeError("fetch failed", { cause: { code: "SELF_SIGNED_CERT_IN_CHAIN" } }), request);
  assert.equal(cert.temporary, false);
  assert.match(cert.hint ?? "", /VOX_CA_BUNDLE/);
  const reset = networkError(new TypeError("fetch failed", { cause: { code: "ECONNRESET" } }), request);
  assert.equal(reset.temporary, true);
  assert.doesNotMatch(reset.url, /SECRET/);
});
