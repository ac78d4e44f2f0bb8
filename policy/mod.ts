// The install policy, as data: supported triples, asset names, URLs, env vars, trusted keys, source-install argv.
// Install, upgrade, release and the install scripts all read it from here; `vox policy` prints it.

export { describePolicy, type PolicyDescription } from "./describe.ts";
export { ENV_VARS, GITHUB_TOKEN_VARS } from "./env_names.ts";
export { detectHostFacts, detectHostTarget, type HostFacts, targetForHost } from "./host.ts";
export { findPackage, type Package, PACKAGES } from "./packages.ts";
export { assetName, executableName, latestAssetUrl, parseAssetName, RELEASE_SOURCE, releaseBaseUrl, taggedAssetUrl } from "./release_source.ts";
export { findCheckout, namedCheckout, requireOwnCheckout } from "./checkout.ts";
export { type BuildDefines, compileArgv, SOURCE_INSTALL, sourceInstallSteps } from "./source_install.ts";
export { parseTag, type ReleaseTag, tagOf } from "./tag.ts";
export { type ExecutableFormat, findTarget, type Target, TARGETS } from "./targets.ts";
export { type TrustedKey, TRUSTED_KEYS } from "./trusted_keys.ts";
