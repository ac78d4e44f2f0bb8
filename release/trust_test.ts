import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parsePublicKey, parseSecretKey, signMinisign } from "../integrity/mod.ts";
import { parseTrustedComment } from "../integrity/mod.ts";
import { checkReleaseScope, loadTrustedKeys, releaseTrustedComment, verifyChecksumsSignature } from "./trust.ts";

const scope = { repo: "vox-foundation/vox", tag: "v1.2.3" };

test("releaseTrustedComment() binds repo, tag and version, and parseTrustedComment() reads them back", () => {
  const comment = releaseTrustedComment(scope, { timestamp: 1_700_000_000, file: "checksums.txt" });
  assert.equal(comment, "timestamp:1700000000\tfile:checksums.txt\trepo:vox-foundation/vox\ttag:v1.2.3\tversion:1.2.3");
  assert.deepEqual({ ...parseTrustedComment(comment) }, { timestamp: "1700000000", file: "checksums.txt", repo: "vox-foundation/vox", tag: "v1.2.3", version: "1.2.3" });
  checkReleaseScope(comment, scope);
});

test("checkReleaseScope() refuses another tag, another repo, a mismatched version and a repeated key", () => {
  const comment = releaseTrustedComment(scope, { timestamp: 0, file: "checksums.txt" });
  const refusals: Array<[string, typeof scope, RegExp]> = [
    [comment, { ...scope, tag: "v1.2.4" }, /tag 'v1.2.3', expected 'v1.2.4'/],
    [comment, { ...scope, repo: "evil/vox" }, /repo 'vox-foundation\/vox', expected 'evil\/vox'/],
    [comment.replace("version:1.2.3", "version:9.9.9"), scope, /version '9.9.9', expected '1.2.3'/],
    ["timestamp:0\tfile:checksums.txt", scope, /repo '\(none\)'/],
    [`${comment}\ttag:v1.2.3`, scope, /repeats 'tag'/],
  ];
  for (const [text, expected, pattern] of refusals) {
    assert.throws(() => checkReleaseScope(text, expected), (e: Error & { code?: string }) => e.code === "E_SIGNATURE_SCOPE" && pattern.test(e.message), text);
  }
});

test("verifyChecksumsSignature() accepts the right scope and key, and refuses a genuine signature replayed for another tag", () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-trust-"));
  execFileSync("minisign", ["-G", "-W", "-p", join(dir, "k.pub"), "-s", join(dir, "k.sec")], { stdio: "ignore" });
  const secret = parseSecretKey(readFileSync(join(dir, "k.sec"), "utf8"));
  const keys = [parsePublicKey(readFileSync(join(dir, "k.pub"), "utf8"))];
  const checksums = new TextEncoder().encode(`${"c".repeat(64)}  vox-v1.2.3-x86_64-unknown-linux-gnu.tar.gz\n`);
  const signature = signMinisign(checksums, secret, { trusted: releaseTrustedComment(scope, { timestamp: 0, file: "checksums.txt" }) });
  assert.equal(verifyChecksumsSignature(checksums, signature, { scope, trustedKeys: keys }), secret.keyId);
  assert.throws(() => verifyChecksumsSignature(checksums, signature, { scope: { ...scope, tag: "v2.0.0" }, trustedKeys: keys }), /signed for tag 'v1.2.3', expected 'v2.0.0'/);
});

test("loadTrustedKeys() starts from the policy's keys and adds key files, refusing unreadable ones with exit 2", async () => {
  const base = await loadTrustedKeys();
  assert.ok(base.length >= 1);
  const dir = mkdtempSync(join(tmpdir(), "vox-trust-"));
  execFileSync("minisign", ["-G", "-W", "-p", join(dir, "k.pub"), "-s", join(dir, "k.sec")], { stdio: "ignore" });
  const more = await loadTrustedKeys([join(dir, "k.pub")]);
  assert.equal(more.length, base.length + 1);
  await assert.rejects(loadTrustedKeys([join(dir, "missing.pub")]), (e: Error & { exitCode?: number }) => e.exitCode === 2 && /ENOENT/.test(e.message));
  await assert.rejects(loadTrustedKeys([join(dir, "k.sec")]), /not a minisign Ed25519 public key/);
});
