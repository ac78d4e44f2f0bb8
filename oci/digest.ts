import { createHash } from "node:crypto";
import { VoxError } from "../errors/mod.ts";

/** A validated content digest such as `sha256:<64 hex>`. */
export type Digest = `${"sha256" | "sha512"}:${string}`;

const DIGEST_SHAPES: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ };

/**
 * Parses and validates a digest: a registered algorithm and an encoding of exactly the right length. Anything
 * else (upper case, short hex, unknown algorithm) is refused, because digests end up in paths and URLs.
 *
 * @example
 * ```ts
 * parseDigest("sha256:" + "a".repeat(64)).algorithm; // "sha256"
 * ```
 */
export function parseDigest(text: string): { digest: Digest; algorithm: "sha256" | "sha512"; hex: string } {
  const colon = text.indexOf(":");
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  const shape = DIGEST_SHAPES[algorithm];
  if (colon < 0 || !shape || !shape.test(hex)) {
    throw new VoxError("E_DIGEST", `Cannot use digest '${text}': expected 'sha256:' followed by 64 lowercase hex digits`, {
      hint: "Copy the digest exactly as the registry or `vox deploy build` printed it",
    });
  }
  return { digest: text as Digest, algorithm: algorithm as "sha256" | "sha512", hex };
}

/** True when `text` is a valid digest. */
export function isDigest(text: string): text is Digest {
  try {
    parseDigest(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The sha256 digest of some bytes.
 *
 * @example
 * ```ts
 * sha256Digest(new TextEncoder().encode("")); // "sha256:e3b0c442…"
 * ```
 */
export function sha256Digest(bytes: Uint8Array | string): Digest {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Throws unless `bytes` hash to `expected` (sha256 or sha512): the check every fetched blob passes before use. */
export function verifyDigest(bytes: Uint8Array, expected: string, what: string): void {
  const { algorithm, hex } = parseDigest(expected);
  const actual = createHash(algorithm).update(bytes).digest("hex");
  if (actual !== hex) {
    throw new VoxError("E_DIGEST_MISMATCH", `Cannot use ${what}: its content hashes to ${algorithm}:${actual}, not ${expected}`, {
      hint: "The source served different bytes than it promised; do not use it, and report the source",
    });
  }
}
