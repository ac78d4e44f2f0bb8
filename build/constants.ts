// Values baked in by `bun build --define` (policy/source_install.ts compileArgv); development fallbacks otherwise.
// Owns nothing else: importing it costs nothing at start-up.

declare const VOX_BUILD_VERSION: string | undefined;
declare const VOX_BUILD_TRUSTED_KEYS: string | undefined;

/** Version of this executable without a leading `v`; `0.0.0-dev` when run from source. */
export const BUILD_VERSION: string = typeof VOX_BUILD_VERSION === "string" ? VOX_BUILD_VERSION : "0.0.0-dev";

/** Extra trusted minisign public keys embedded by `release-build --trusted-key`. */
export const BUILD_TRUSTED_KEYS: readonly string[] = typeof VOX_BUILD_TRUSTED_KEYS === "string" ? (JSON.parse(VOX_BUILD_TRUSTED_KEYS) as string[]) : [];
