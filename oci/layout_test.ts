import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { sha256Digest } from "./digest.ts";
import { openLayout, REF_NAME } from "./layout.ts";
import { MediaType } from "./media_types.ts";

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "vox-layout-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("openLayout() creates oci-layout and an empty index, and refuses a plain directory without create", async (t) => {
  const dir = scratch(t);
  await assert.rejects(openLayout(dir), (e: Error & { code?: string }) => e.code === "E_LAYOUT");
  await openLayout(dir, { create: true });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "index.json"), "utf8")).manifests, []);
});

test("Layout.readBlob() re-verifies: a blob changed on disk is refused", async (t) => {
  const dir = scratch(t);
  const layout = await openLayout(dir, { create: true });
  const digest = await layout.writeBlob(new TextEncoder().encode("hello"));
  assert.equal(digest, sha256Digest("hello"));
  assert.equal(new TextDecoder().decode(await layout.readBlob(digest)), "hello");
  rmSync(layout.blobPath(digest));
  writeFileSync(layout.blobPath(digest), "jello");
  await assert.rejects(layout.readBlob(digest), (e: Error & { code?: string }) => e.code === "E_DIGEST_MISMATCH");
  await assert.rejects(layout.readBlob(sha256Digest("absent")), (e: Error & { code?: string }) => e.code === "E_BLOB_MISSING");
  await assert.rejects(layout.writeBlob(new TextEncoder().encode("x"), sha256Digest("y")), (e: Error & { code?: string }) => e.code === "E_DIGEST_MISMATCH");
});

test("Layout.putIndexEntry() moves a name to the new descriptor and keeps unnamed entries once", async (t) => {
  const layout = await openLayout(scratch(t), { create: true });
  const first = { mediaType: MediaType.ociIndex, digest: sha256Digest("1"), size: 1 };
  const second = { mediaType: MediaType.ociIndex, digest: sha256Digest("2"), size: 1 };
  const sbom = { mediaType: MediaType.ociManifest, digest: sha256Digest("3"), size: 1, artifactType: MediaType.spdxJson };
  await layout.putIndexEntry(first, "1.0.0");
  await layout.putIndexEntry(second, "1.0.0");
  await layout.putIndexEntry(sbom);
  await layout.putIndexEntry(sbom);
  const index = await layout.readIndex();
  assert.deepEqual(index.manifests.map((m) => [m.digest, m.annotations?.[REF_NAME]]), [[second.digest, "1.0.0"], [sbom.digest, undefined]]);
  assert.equal((await layout.resolveRef("1.0.0"))?.digest, second.digest);
});

test("Layout.scope() keeps one scope's names from another's while blobs stay shared; scopes() lists them by name", async (t) => {
  const layout = await openLayout(scratch(t), { create: true });
  const a = { mediaType: MediaType.ociIndex, digest: sha256Digest("a"), size: 1 };
  const b = { mediaType: MediaType.ociIndex, digest: sha256Digest("b"), size: 1 };
  await layout.scope("team/one").put(a, "r.example/app:1");
  await layout.scope("127.0.0.1:5000/app").put(b, "r.example/app:1");
  assert.equal((await layout.scope("team/one").resolveRef("r.example/app:1"))?.digest, a.digest);
  assert.equal((await layout.scope("127.0.0.1:5000/app").resolveRef("r.example/app:1"))?.digest, b.digest);
  assert.deepEqual((await layout.readIndex()).manifests, []);
  assert.deepEqual((await layout.scopes()).map((s) => s.scopeName).sort(), ["127.0.0.1:5000/app", "team/one"]);
  assert.deepEqual((await layout.scope("never/written").read()).manifests, []);
  for (const bad of ["", "../x", ".hidden", "a b", "x".repeat(256)]) assert.throws(() => layout.scope(bad), (e: Error & { code?: string }) => e.code === "E_SCOPE");
});
