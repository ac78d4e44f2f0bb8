// minisign signatures (Ed25519, legacy `Ed` and prehashed `ED`), by hand because this is what trust rests on.
// Ed25519 comes from node:crypto, BLAKE2b from @noble/hashes; the formats follow minisign's own source.
import { blake2b } from "@noble/hashes/blake2.js";
import { createPrivateKey, createPublicKey, type KeyObject, scryptSync, sign, verify } from "node:crypto";
import { VoxError } from "../errors/mod.ts";

export interface MinisignPublicKey {
  /** 16 hex digits as minisign prints them. */
  keyId: string;
  keyIdBytes: Uint8Array;
  publicKey: Uint8Array;
}

export interface MinisignSecretKey {
  keyId: string;
  keyIdBytes: Uint8Array;
  /** libsodium layout: 32-byte seed followed by the 32-byte public key. */
  secretKey: Uint8Array;
}

export interface MinisignSignature {
  algorithm: "Ed" | "ED";
  keyId: string;
  signature: Uint8Array;
  untrustedComment: string;
  trustedComment: string;
  globalSignature: Uint8Array;
}

/** Parses a public key file's text, or just its base64 line. */
export function parsePublicKey(text: string, source = "public key"): MinisignPublicKey {
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== "" && !l.startsWith("untrusted comment:"));
  const bytes = line === undefined ? new Uint8Array() : decodeBase64(line);
  if (bytes.length !== 42 || bytes[0] !== 0x45 || bytes[1] !== 0x64) {
    throw keyError("E_PUBLIC_KEY", `Cannot read ${source}: not a minisign Ed25519 public key`);
  }
  const keyIdBytes = bytes.slice(2, 10);
  return { keyId: keyIdHex(keyIdBytes), keyIdBytes, publicKey: bytes.slice(10, 42) };
}

/**
 * Parses a secret key file as `minisign -G` writes it; encrypted keys need `password` (scrypt, as libsodium
 * derives it), unencrypted ones (`minisign -G -W`) do not.
 */
export function parseSecretKey(text: string, options: { password?: string; source?: string } = {}): MinisignSecretKey {
  const source = options.source ?? "secret key";
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== "" && !l.startsWith("untrusted comment:"));
  const bytes = line === undefined ? new Uint8Array() : decodeBase64(line);
  if (bytes.length !== 158 || ascii(bytes.subarray(0, 2)) !== "Ed" || ascii(bytes.subarray(4, 6)) !== "B2") {
    throw keyError("E_SECRET_KEY", `Cannot read ${source}: not a minisign secret key`);
  }
  const kdf = ascii(bytes.subarray(2, 4));
  const material = bytes.slice(54, 158);
  if (kdf === "Sc") {
    if (options.password === undefined) {
      throw keyError("E_SECRET_KEY_PASSWORD", `Cannot read ${source}: it is encrypted and no password was given`, "Set VOX_SIGNING_KEY_PASSWORD, or use a key made with 'minisign -G -W'.");
    }
    const salt = bytes.subarray(6, 38);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const params = scryptParams(Number(view.getBigUint64(38, true)), Number(view.getBigUint64(46, true)));
    const stream = scryptSync(options.password, salt, material.length, { ...params, maxmem: 256 * params.N * params.r + (1 << 24) });
    for (let i = 0; i < material.length; i++) material[i]! ^= stream[i]!;
  } else if (kdf !== "\0\0") {
    throw keyError("E_SECRET_KEY", `Cannot read ${source}: unknown key derivation '${kdf}'`);
  }
  const keyIdBytes = material.slice(0, 8);
  const secretKey = material.slice(8, 72);
  // Unencrypted keys from minisign 0.11 carry an all-zero checksum; the seed must still yield the stored public key.
  const storedChecksum = material.subarray(72, 104);
  const checksumOk = equal(blake2b(concat(bytes.subarray(0, 2), keyIdBytes, secretKey), { dkLen: 32 }), storedChecksum) || (kdf === "\0\0" && storedChecksum.every((b) => b === 0));
  if (!checksumOk || !equal(derivePublicKey(secretKey.subarray(0, 32)), secretKey.subarray(32, 64))) {
    throw keyError("E_SECRET_KEY_PASSWORD", `Cannot read ${source}: ${kdf === "Sc" ? "wrong password" : "checksum mismatch, the key is damaged"}`);
  }
  return { keyId: keyIdHex(keyIdBytes), keyIdBytes, secretKey };
}

/** The public half of a secret key, in public key file form. */
export function publicKeyOf(secret: MinisignSecretKey): MinisignPublicKey {
  return { keyId: secret.keyId, keyIdBytes: secret.keyIdBytes, publicKey: secret.secretKey.slice(32, 64) };
}

/** A public key file's text. */
export function formatPublicKey(key: MinisignPublicKey): string {
  return `untrusted comment: minisign public key ${key.keyId}\n${encodeBase64(concat(new Uint8Array([0x45, 0x64]), key.keyIdBytes, key.publicKey))}\n`;
}

/** Parses a `.minisig` file. */
export function parseSignature(text: string, source = "signature"): MinisignSignature {
  const lines = text.split(/\r?\n/);
  const [untrusted, sigLine, trusted, globalLine] = lines;
  const bad = (why: string) => new VoxError("E_SIGNATURE_MALFORMED", `Cannot read ${source}: ${why}`, { hint: "The signature file is damaged or not a minisign signature; re-download it." });
  if (!untrusted?.startsWith("untrusted comment:")) throw bad("it does not start with 'untrusted comment:'");
  if (!trusted?.startsWith("trusted comment: ")) throw bad("its third line is not 'trusted comment: …'");
  const sig = decodeBase64(sigLine?.trim() ?? "");
  const global = decodeBase64(globalLine?.trim() ?? "");
  const algorithm = ascii(sig.subarray(0, 2));
  if (sig.length !== 74 || (algorithm !== "Ed" && algorithm !== "ED")) throw bad("its signature line is not a minisign Ed25519 signature");
  if (global.length !== 64) throw bad("its global signature line is malformed");
  if (lines.slice(4).some((l) => l.trim() !== "")) throw bad("it has trailing lines");
  return {
    algorithm,
    keyId: keyIdHex(sig.subarray(2, 10)),
    signature: sig.slice(10, 74),
    untrustedComment: untrusted.slice("untrusted comment:".length).trim(),
    trustedComment: trusted.slice("trusted comment: ".length),
    globalSignature: global,
  };
}

/**
 * Verifies `message` against a minisign signature made by one of `trustedKeys`; returns the key and the
 * (authenticated) trusted comment. Throws `E_SIGNATURE_UNTRUSTED_KEY` or `E_SIGNATURE_INVALID`.
 *
 * @example
 * ```ts
 * const { trustedComment } = verifyMinisign(bytes, signatureText, [parsePublicKey(pubText)]);
 * ```
 */
export function verifyMinisign(message: Uint8Array, signatureText: string, trustedKeys: readonly MinisignPublicKey[], source = "signature"): { key: MinisignPublicKey; trustedComment: string } {
  const signature = parseSignature(signatureText, source);
  const key = trustedKeys.find((k) => k.keyId === signature.keyId);
  if (!key) {
    throw new VoxError("E_SIGNATURE_UNTRUSTED_KEY", `Cannot verify ${source}: it was made by key ${signature.keyId}, which is not trusted (trusted: ${trustedKeys.map((k) => k.keyId).join(", ") || "none"})`, {
      hint: "Only releases signed with a key from the install policy (or one passed with --trusted-key) are accepted.",
    });
  }
  const publicKey = ed25519PublicKey(key.publicKey);
  const signed = signature.algorithm === "ED" ? blake2b(message, { dkLen: 64 }) : message;
  const global = concat(signature.signature, new TextEncoder().encode(signature.trustedComment));
  if (!verify(null, signed, publicKey, signature.signature) || !verify(null, global, publicKey, signature.globalSignature)) {
    throw new VoxError("E_SIGNATURE_INVALID", `Cannot verify ${source}: the signature by key ${key.keyId} does not match the file or its trusted comment`, {
      hint: "The file or its signature was altered after signing. Do not use it; re-download both.",
    });
  }
  return { key, trustedComment: signature.trustedComment };
}

/** Signs `message` the way `minisign -S` does (prehashed `ED`), with the given comments. */
export function signMinisign(message: Uint8Array, key: MinisignSecretKey, comments: { trusted: string; untrusted?: string }): string {
  if (/[\r\n]/.test(comments.trusted)) throw new VoxError("E_SIGN_COMMENT", "Cannot sign: the trusted comment must be one line");
  const privateKey = ed25519PrivateKey(key.secretKey.subarray(0, 32));
  const signature = new Uint8Array(sign(null, blake2b(message, { dkLen: 64 }), privateKey));
  const global = new Uint8Array(sign(null, concat(signature, new TextEncoder().encode(comments.trusted)), privateKey));
  return [
    `untrusted comment: ${comments.untrusted ?? `signature from vox secret key ${key.keyId}`}`,
    encodeBase64(concat(new TextEncoder().encode("ED"), key.keyIdBytes, signature)),
    `trusted comment: ${comments.trusted}`,
    encodeBase64(global),
    "",
  ].join("\n");
}

/** libsodium's crypto_pwhash_scryptsalsa208sha256 parameter choice from opslimit/memlimit. */
function scryptParams(opslimit: number, memlimit: number): { N: number; r: number; p: number } {
  const ops = Math.max(opslimit, 32768);
  const r = 8;
  const byOps = ops < memlimit / 32;
  const maxN = Math.floor(byOps ? ops / (r * 4) : memlimit / (r * 128));
  let log2 = 1;
  while (log2 < 63 && 2 ** log2 <= Math.floor(maxN / 2)) log2++;
  const p = byOps ? 1 : Math.max(1, Math.floor(Math.min(0x3fffffff, Math.floor(ops / 4 / 2 ** log2)) / r));
  return { N: 2 ** log2, r, p };
}

/** PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410), the one form every runtime's node:crypto imports. */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
}

function derivePublicKey(seed: Uint8Array): Uint8Array {
  const jwk = createPublicKey(ed25519PrivateKey(seed)).export({ format: "jwk" });
  return new Uint8Array(Buffer.from(jwk.x ?? "", "base64url"));
}

function ed25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: base64Url(raw) }, format: "jwk" });
}

function keyError(code: string, message: string, hint = "Pass a key file written by 'minisign -G'."): VoxError {
  return new VoxError(code, message, { hint, exitCode: 2 });
}

function keyIdHex(bytes: Uint8Array): string {
  return [...bytes].reverse().map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

function decodeBase64(text: string): Uint8Array {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(text) ? new Uint8Array(Buffer.from(text, "base64")) : new Uint8Array();
}

function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

function base64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

function ascii(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * The `key:value` fields of a trusted comment, tab-separated. Unknown keys are kept; a repeated key is refused,
 * since "which of the two counts" is exactly what a forger would like a verifier to decide.
 *
 * @example
 * ```ts
 * parseTrustedComment("timestamp:0\tfile:index.json\tserial:7").serial; // "7"
 * ```
 */
export function parseTrustedComment(comment: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  for (const part of comment.split("\t")) {
    const colon = part.indexOf(":");
    if (colon <= 0) continue;
    const key = part.slice(0, colon);
    if (key in fields) {
      throw new VoxError("E_SIGNATURE_SCOPE", `Cannot accept the signature: its trusted comment repeats '${key}'`, { hint: "A genuine signer never writes a field twice; do not use what it covers." });
    }
    fields[key] = part.slice(colon + 1);
  }
  return fields;
}
