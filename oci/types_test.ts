import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson } from "./canonical_json.ts";
import { isDigest, parseDigest, sha256Digest, verifyDigest } from "./digest.ts";
import { MediaType } from "./media_types.ts";
import { parseDocument, parsePlatform } from "./types.ts";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const descriptor = { mediaType: MediaType.ociConfig, digest: sha256Digest("{}"), size: 2 };

test("parseDigest() accepts sha256/sha512 of the exact length and refuses everything else", () => {
  assert.equal(parseDigest(sha256Digest("x")).algorithm, "sha256");
  assert.ok(isDigest(`sha512:${"0".repeat(128)}`));
  for (const bad of [`sha256:${"A".repeat(64)}`, `sha256:${"a".repeat(63)}`, `md5:${"a".repeat(32)}`, "sha256", `sha256:../${"a".repeat(61)}`]) assert.equal(isDigest(bad), false, bad);
});

test("verifyDigest() throws E_DIGEST_MISMATCH naming both digests", () => {
  assert.throws(() => verifyDigest(new TextEncoder().encode("a"), sha256Digest("b"), "blob"), (e: Error & { code?: string }) => e.code === "E_DIGEST_MISMATCH" && e.message.includes(sha256Digest("a")));
});

test("canonicalJson() sorts keys at every depth and drops undefined members", () => {
  assert.equal(new TextDecoder().decode(canonicalJson({ b: { d: 1, c: [{ z: 0, y: undefined }] }, a: "é" })), '{"a":"é","b":{"c":[{"z":0}],"d":1}}');
});

test("parseDocument() tells an index from a manifest, by media type or by shape", () => {
  assert.equal(parseDocument(encode({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }), undefined).kind, "index");
  assert.equal(parseDocument(encode({ schemaVersion: 2, config: descriptor, layers: [] }), MediaType.dockerManifest).kind, "manifest");
  assert.equal(parseDocument(encode({ schemaVersion: 2, manifests: [] }), "application/octet-stream").kind, "index");
});

test("parseDocument() refuses ambiguous and malformed documents", () => {
  const refuses = (bytes: Uint8Array, type: string | undefined, code: string) => assert.throws(() => parseDocument(bytes, type), (e: Error & { code?: string }) => e.code === code);
  refuses(encode({ schemaVersion: 2, manifests: [], config: descriptor, layers: [] }), undefined, "E_OCI_AMBIGUOUS");
  refuses(encode({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: descriptor, layers: [] }), MediaType.ociIndex, "E_OCI_AMBIGUOUS");
  refuses(encode({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { ...descriptor, digest: "sha256:zz" }, layers: [] }), undefined, "E_OCI_DOCUMENT");
  refuses(new Uint8Array([0xff, 0xfe]), undefined, "E_OCI_DOCUMENT");
  refuses(encode({ schemaVersion: 2, mediaType: "application/vnd.example+json", config: descriptor, layers: [] }), undefined, "E_OCI_MEDIA_TYPE");
});

test("parsePlatform() reads os/arch[/variant] and refuses other shapes", () => {
  assert.deepEqual(parsePlatform("linux/arm64/v8"), { os: "linux", architecture: "arm64", variant: "v8" });
  assert.throws(() => parsePlatform("amd64"), /os\/architecture/);
});
