import assert from "node:assert/strict";
import { test } from "node:test";
import { browsableUrl, imageAnnotations } from "./annotations.ts";

test("browsableUrl() turns git remotes into https URLs without credentials, and ignores local paths", () => {
  assert.equal(browsableUrl("git@github.com:vox-foundation/vox.git"), "https://github.com/vox-foundation/vox");
  assert.equal(browsableUrl("https://user:ghp_secret@github.com/acme/app.git"), "https://github.com/acme/app");
  assert.equal(browsableUrl("ssh://git@gitlab.example.com:2222/team/app.git"), "https://gitlab.example.com/team/app");
  assert.equal(browsableUrl("/srv/git/app"), undefined);
  assert.equal(browsableUrl("file:///srv/git/app"), undefined);
});

test("imageAnnotations() uses the OCI keys and leaves out what is unknown", () => {
  assert.deepEqual(imageAnnotations({ title: "hello", version: "0.1.0", baseName: "docker.io/library/busybox:1.35", vendor: "" }), {
    "org.opencontainers.image.title": "hello",
    "org.opencontainers.image.version": "0.1.0",
    "org.opencontainers.image.base.name": "docker.io/library/busybox:1.35",
  });
});
