import { readFile } from "node:fs/promises";
import { BUILD_TRUSTED_KEYS } from "../build/constants.ts";
import { VoxError } from "../errors/mod.ts";
import { type MinisignPublicKey, parsePublicKey, parseTrustedComment, verifyMinisign } from "../integrity/mod.ts";
import type { Env } from "../io/mod.ts";
import { parseTag, RELEASE_SOURCE, TRUSTED_KEYS } from "../policy/mod.ts";

/** What a release signature's trusted comment binds, so an old checksums file cannot be replayed under a new tag. */
export interface ReleaseScope {
  repo: string;
  tag: string;
}

/**
 * The trusted comment signed into `checksums.txt.minisig`: tab-separated `key:value` fields.
 *
 * @example
 * ```ts
 * releaseTrustedComment({ repo: "vox-foundation/vox", tag: "v1.2.3" }, { timestamp: 0, file: "checksums.txt" });
 * // "timestamp:0\tfile:checksums.txt\trepo:vox-foundation/vox\ttag:v1.2.3\tversion:1.2.3"
 * ```
 */
export function releaseTrustedComment(scope: ReleaseScope, fields: { timestamp: number; file: string }): string {
  const { version } = parseTag(scope.tag);
  return `timestamp:${fields.timestamp}\tfile:${fields.file}\trepo:${scope.repo}\ttag:${scope.tag}\tversion:${version}`;
}

/** Throws unless the trusted comment names exactly this file (checksums.txt), repo, tag and version. */
export function checkReleaseScope(comment: string, scope: ReleaseScope): void {
  const fields = parseTrustedComment(comment);
  const { version } = parseTag(scope.tag);
  const expected: Record<string, string> = { file: RELEASE_SOURCE.checksumsName, repo: scope.repo, tag: scope.tag, version };
  for (const [key, value] of Object.entries(expected)) {
    if (fields[key] !== value) throw scopeError(`it was signed for ${key} '${fields[key] ?? "(none)"}', expected '${value}'`);
  }
}

function scopeError(why: string): VoxError {
  return new VoxError("E_SIGNATURE_SCOPE", `Cannot accept the checksums signature: ${why}`, {
    hint: "The signature is genuine but for another release; this is how a replayed or mixed-up release looks. Do not install it.",
  });
}

/** Verifies `checksums.txt` bytes against its signature and the release scope; returns the signing key id. */
export function verifyChecksumsSignature(checksums: Uint8Array, signatureText: string, options: { scope: ReleaseScope; trustedKeys: readonly MinisignPublicKey[]; source?: string }): string {
  const { key, trustedComment } = verifyMinisign(checksums, signatureText, options.trustedKeys, options.source ?? "checksums.txt.minisig");
  checkReleaseScope(trustedComment, options.scope);
  return key.keyId;
}

/**
 * The keys a mirror index may be signed with: `--mirror-key` files and `VOX_MIRROR_KEY` (public keys as
 * `minisign -P` takes them, separated by commas or spaces). A mirror key vouches only for a listing and its
 * freshness (which release is latest, until when); it never makes a release trusted, so it may come from
 * configuration a release key never would.
 */
export async function loadMirrorKeys(keyFiles: readonly string[], env: Env): Promise<MinisignPublicKey[]> {
  const keys = (env.get("VOX_MIRROR_KEY") ?? "").split(/[\s,]+/).filter(Boolean).map((line, i) => parsePublicKey(line, `VOX_MIRROR_KEY #${i + 1}`));
  for (const file of keyFiles) keys.push(await readPublicKeyFile(file));
  return keys;
}

/** The keys a release may be signed with: the policy's, those embedded at build time, and extra key files. */
export async function loadTrustedKeys(extraKeyFiles: readonly string[] = []): Promise<MinisignPublicKey[]> {
  const keys = [...TRUSTED_KEYS.map((k) => k.publicKey), ...BUILD_TRUSTED_KEYS].map((line, i) => parsePublicKey(line, `built-in trusted key #${i + 1}`));
  for (const file of extraKeyFiles) keys.push(await readPublicKeyFile(file));
  return keys;
}

/** Reads a minisign public key file; an unreadable or wrong-format key is a usage error (exit 2). */
export async function readPublicKeyFile(file: string): Promise<MinisignPublicKey> {
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_PUBLIC_KEY", `Cannot read trusted key ${file}: ${error.code ?? error.message}`, { hint: "Pass the path of a minisign public key file (minisign -G writes one).", exitCode: 2 });
  });
  return parsePublicKey(text, file);
}
