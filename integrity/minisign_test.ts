import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { formatPublicKey, parsePublicKey, parseSecretKey, parseSignature, publicKeyOf, signMinisign, verifyMinisign } from "./minisign.ts";

/** A key pair made by the real minisign tool (-W: no password; otherwise the password is fed on stdin). */
function minisignKeyPair(password?: string) {
  const dir = mkdtempSync(join(tmpdir(), "vox-minisign-"));
  const args = ["-G", "-p", join(dir, "key.pub"), "-s", join(dir, "key.sec")];
  execFileSync("minisign", password === undefined ? [...args, "-W"] : args, { input: password === undefined ? "" : `${password}\n${password}\n`, stdio: ["pipe", "ignore", "ignore"] });
  return { dir, pub: readFileSync(join(dir, "key.pub"), "utf8"), sec: readFileSync(join(dir, "key.sec"), "utf8") };
}

const message = new TextEncoder().encode("0000  vox-v1.0.0-x86_64-unknown-linux-gnu.tar.gz\n");

test("verifyMinisign() accepts signatures made by the minisign tool, prehashed and legacy", () => {
  const keys = minisignKeyPair();
  writeFileSync(join(keys.dir, "msg"), message);
  for (const legacy of [false, true]) {
    execFileSync("minisign", ["-S", ...(legacy ? ["-l"] : []), "-s", join(keys.dir, "key.sec"), "-m", join(keys.dir, "msg"), "-t", "repo:x\ttag:v1"], { stdio: "ignore" });
    const signature = readFileSync(join(keys.dir, "msg.minisig"), "utf8");
    assert.equal(parseSignature(signature).algorithm, legacy ? "Ed" : "ED");
    const result = verifyMinisign(message, signature, [parsePublicKey(keys.pub)]);
    assert.equal(result.trustedComment, "repo:x\ttag:v1");
  }
});

test("signMinisign() output verifies with minisign -V, from unencrypted and password-protected keys", () => {
  for (const password of [undefined, "correct horse"]) {
    const keys = minisignKeyPair(password);
    const secret = parseSecretKey(keys.sec, { password });
    assert.equal(secret.keyId, parsePublicKey(keys.pub).keyId);
    writeFileSync(join(keys.dir, "msg"), message);
    writeFileSync(join(keys.dir, "msg.minisig"), signMinisign(message, secret, { trusted: "timestamp:0\ttag:v1.0.0" }));
    const output = execFileSync("minisign", ["-V", "-p", join(keys.dir, "key.pub"), "-m", join(keys.dir, "msg")], { encoding: "utf8" });
    assert.match(output, /Trusted comment: timestamp:0\ttag:v1\.0\.0/);
  }
});

test("parseSecretKey() refuses a wrong or missing password and a damaged key", () => {
  const keys = minisignKeyPair("right");
  assert.throws(() => parseSecretKey(keys.sec, { password: "wrong" }), /wrong password/);
  assert.throws(() => parseSecretKey(keys.sec), (error: Error & { code?: string; exitCode?: number }) => error.code === "E_SECRET_KEY_PASSWORD" && error.exitCode === 2);
  assert.throws(() => parseSecretKey(keys.pub), /not a minisign secret key/);
  const plain = minisignKeyPair();
  const lines = plain.sec.split("\n");
  const bytes = Buffer.from(lines[1]!, "base64");
  bytes[100]! ^= 1;
  assert.throws(() => parseSecretKey([lines[0], bytes.toString("base64"), ""].join("\n")), /damaged/);
});

test("verifyMinisign() refuses a changed message, a changed trusted comment and an untrusted key", () => {
  const keys = minisignKeyPair();
  const secret = parseSecretKey(keys.sec);
  const trusted = [parsePublicKey(keys.pub)];
  const signature = signMinisign(message, secret, { trusted: "tag:v1.0.0" });
  const changed = new Uint8Array(message);
  changed[0]! ^= 1;
  assert.throws(() => verifyMinisign(changed, signature, trusted), (e: Error & { code?: string }) => e.code === "E_SIGNATURE_INVALID");
  const forgedComment = signature.replace("trusted comment: tag:v1.0.0", "trusted comment: tag:v9.9.9");
  assert.throws(() => verifyMinisign(message, forgedComment, trusted), (e: Error & { code?: string }) => e.code === "E_SIGNATURE_INVALID");
  const stranger = minisignKeyPair();
  assert.throws(() => verifyMinisign(message, signature, [parsePublicKey(stranger.pub)]), (e: Error & { code?: string }) => e.code === "E_SIGNATURE_UNTRUSTED_KEY" && e.message.includes(secret.keyId));
  assert.throws(() => verifyMinisign(message, signature, []), /trusted: none/);
});

test("parseSignature() refuses malformed signature files", () => {
  const keys = minisignKeyPair();
  const good = signMinisign(message, parseSecretKey(keys.sec), { trusted: "t" });
  const lines = good.split("\n");
  const cases = ["", "hello\n", [lines[0], "AAAA", lines[2], lines[3]].join("\n"), [lines[0], lines[1], "comment: t", lines[3]].join("\n"), `${good}extra\n`];
  for (const text of cases) assert.throws(() => parseSignature(text), (e: Error & { code?: string }) => e.code === "E_SIGNATURE_MALFORMED", JSON.stringify(text));
  assert.throws(() => signMinisign(message, parseSecretKey(keys.sec), { trusted: "two\nlines" }), /one line/);
});

test("formatPublicKey() round-trips a key, and publicKeyOf() matches minisign's public key file", () => {
  const keys = minisignKeyPair();
  const pub = parsePublicKey(keys.pub);
  assert.deepEqual(parsePublicKey(formatPublicKey(pub)), pub);
  assert.deepEqual(publicKeyOf(parseSecretKey(keys.sec)), pub);
  assert.match(formatPublicKey(pub), new RegExp(`^untrusted comment: minisign public key ${pub.keyId}\n`));
  assert.throws(() => parsePublicKey("untrusted comment: x\nnot base64!\n"), /not a minisign Ed25519 public key/);
});
