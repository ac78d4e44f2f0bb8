// The content hash of a normalized manifest: sha256 over its canonical JSON, the bytes releases store and push.
// Comments, key order and formatting never reach the normalized form, so they never change the hash.

import { createHash } from "node:crypto";
import { canonicalJson } from "../oci/canonical_json.ts";
import type { PlatformManifest } from "./types.ts";

/**
 * The exact bytes hashed and stored: canonical JSON (keys sorted, no whitespace) of the normalized manifest.
 *
 * @example
 * ```ts
 * new TextDecoder().decode(canonicalManifestBytes(manifest)).startsWith('{"health":'); // true
 * ```
 */
export function canonicalManifestBytes(manifest: PlatformManifest): Uint8Array {
  return canonicalJson(manifest);
}

/**
 * `sha256:` and the hex digest of {@link canonicalManifestBytes}: the manifest half of a Release tuple.
 *
 * @example
 * ```ts
 * platformContentHash(manifest); // "sha256:3f1c…"
 * ```
 */
export function platformContentHash(manifest: PlatformManifest): `sha256:${string}` {
  return `sha256:${createHash("sha256").update(canonicalManifestBytes(manifest)).digest("hex")}`;
}
