// Values baked in by `bun build --define` (policy/source_install.ts compileArgv); development fallbacks otherwise.
// Owns nothing else: importing it costs nothing at start-up.

declare const VOX_BUILD_VERSION: string | undefined;
declare const VOX_BUILD_TRUSTED_KEYS: string | undefined;
declare const VOX_BUILD_BUN_TARGET: string | undefined;

/** Version of this executable without a leading `v`; `0.0.0-dev` when run from source. */
export const BUILD_VERSION: string = typeof VOX_BUILD_VERSION === "string" ? VOX_BUILD_VERSION : "0.0.0-dev";

/** Extra trusted minisign public keys embedded by `release-build --trusted-key`. */
export const BUILD_TRUSTED_KEYS: readonly string[] = typeof VOX_BUILD_TRUSTED_KEYS === "string" ? (JSON.parse(VOX_BUILD_TRUSTED_KEYS) as string[]) : [];

/** The `bun build --target` this executable was compiled for; undefined when run from source. */
export const BUILD_BUN_TARGET: string | undefined = typeof VOX_BUILD_BUN_TARGET === "string" ? VOX_BUILD_BUN_TARGET : undefined;
