import assert from "node:assert/strict";
import { test } from "node:test";
import { formatReference, parseReference } from "./reference.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;

test("parseReference() splits registry, repository, tag and digest like the distribution project", () => {
  assert.deepEqual(parseReference("localhost:5000/team/app:1.0"), { registry: "localhost:5000", repository: "team/app", tag: "1.0" });
  assert.deepEqual(parseReference(`ghcr.io/acme/app@${DIGEST}`), { registry: "ghcr.io", repository: "acme/app", digest: DIGEST });
  assert.deepEqual(parseReference(`127.0.0.1:5000/base:1.36@${DIGEST}`), { registry: "127.0.0.1:5000", repository: "base", tag: "1.36", digest: DIGEST });
  assert.deepEqual(parseReference("busybox"), { registry: "docker.io", repository: "library/busybox" });
  assert.deepEqual(parseReference("acme/app:latest"), { registry: "docker.io", repository: "acme/app", tag: "latest" });
});

test("parseReference() refuses upper case paths, bad tags, bad digests and spaces, with a usage hint", () => {
  for (const bad of ["Acme/App", "app:-bad", "app@sha256:1234", "app name", "", "ghcr.io/", `app@md5:${"a".repeat(32)}`]) {
    assert.throws(() => parseReference(bad), (error: Error & { code?: string; hint?: string }) => error.code === "E_REFERENCE" && /registry\/repository/.test(error.hint ?? ""), bad);
  }
});

test("formatReference() round-trips parseReference()", () => {
  for (const text of ["localhost:5000/team/app:1.0", `ghcr.io/acme/app:1@${DIGEST}`, "docker.io/library/busybox:1.36"]) {
    assert.equal(formatReference(parseReference(text)), text);
  }
});
