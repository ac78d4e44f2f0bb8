// Release artifacts: compile per target, archive reproducibly, checksum, sign, smoke-test and verify.
// Owns the release contract's procedures; names and targets come from the policy, bytes from archive/ and integrity/.

export { type BuiltArtifact, ensureWritableDir, parseSourceDateEpoch, releaseBuild, type ReleaseBuildOptions, type ReleaseBuildReport, resolveSourceDateEpoch } from "./build.ts";
export { listReleaseAssets, writeReleaseChecksums } from "./checksums.ts";
export { buildFromSource, checkoutVersion, compileExecutable, resolveBun } from "./compile.ts";
export { type Acquired, acquireExecutable, acquireLocalExecutable, isVerificationFailure } from "./acquire.ts";
export { type InspectedArchive, MAX_EXECUTABLE_BYTES, requireExecutableFor, withInspectedArchive } from "./inspect.ts";
export { readSecretKeyFile, signReleaseFile } from "./sign.ts";
export { findRunner, smokeArchive, type SmokeResult, type SmokeStatus } from "./smoke.ts";
export { checkReleaseScope, loadMirrorKeys, loadTrustedKeys, readPublicKeyFile, type ReleaseScope, releaseTrustedComment, verifyChecksumsSignature } from "./trust.ts";
export { type ReleaseVerification, type VerifiedFile, verifyReleaseDir } from "./verify.ts";
export { ATTESTATION_SCOPE, type ArchiveAttestation, type AttestationBundle, type AttestationReport, attestArchives, GITHUB_ACTIONS_ISSUER, readAttestation, releaseWorkflowIdentity } from "./attestation.ts";
