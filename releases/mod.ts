// Releases: the hash-chained, append-only log of (image digest, manifest content hash) tuples, the content-addressed
// store of normalized manifests beside it, verification, rollback by digest and the manifest pushed as an OCI artifact.

export { type ChainProblem, type LogHead, type ReleaseFields, type ReleaseRecord, recordHash, resolveRelease, rollbackTarget, sealRecord, verifyChain } from "./record.ts";
export { appendRelease, inspectLog, LOG_FILE, type LogLockOptions, projectReleaseLog, readReleases, type ReleaseLogPaths, releaseLogPaths, repairTornTail } from "./log.ts";
export { readStoredManifest, storedManifestPath, storeManifest } from "./store.ts";
export { type ImageLookup, type LocatedImage, locateImage, type PinnedReference, pinnedImage } from "./image.ts";
export { type PushedManifest, pushPlatformManifest } from "./push.ts";
export { makeRelease, type ReleaseRequest, type ReleaseSeams, rollbackRelease } from "./release.ts";
