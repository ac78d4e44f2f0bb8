// Verified pull: an image reference (registry or `oci:<dir>`) turned into verified local blobs in the scoped,
// content-addressed cache under VOX_CACHE_DIR, with audit events; plus the cache's ls/verify/gc and `verify`.

export { hostPlatform, parseLayoutSource, type PulledImage, type PulledLayer, pullImage, type PullDeps, type PullOptions, type PullRegistry } from "./pull.ts";
export { type VerifiedImage, verifySource } from "./verify.ts";
export { type CacheListing, gcCache, listCache, verifyCache } from "./maintain.ts";
export { GC_GRACE_MS } from "./cache.ts";
