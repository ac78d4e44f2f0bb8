// The OCI distribution client: auth (bearer, basic, Docker config.json and credential helpers), retries, verified
// reads, HEAD/mount/monolithic/chunked pushes, whole-image pushes and OCI 1.1 referrers with the tag fallback.

export { parseChallenges, type Challenge } from "./challenge.ts";
export {
  type BlobSource,
  createRegistryClient,
  type PushImageOptions,
  type RegistryClient,
  type RegistryClientOptions,
} from "./client.ts";
export { type Credential, type Credentials, dockerConfigCredentials, type DockerConfigOptions, noCredentials, staticCredentials } from "./credentials.ts";
export { networkError, RegistryError, type RegistryErrorDetails, registryErrorFromResponse } from "./errors.ts";
export { type StreamBlobOptions } from "./_blob_stream.ts";
export { type FetchedManifest, MAX_MANIFEST_BYTES } from "./_manifests.ts";
export { type ReferrerPushed, type Referrers, type ReferrersVia, referrersTag } from "./_referrers.ts";
export { formatRegistryEvent, type RegistryEvent, type Repository } from "./_session.ts";
export { type Timeouts } from "./_http.ts";
export { type BlobBody, type BlobOutcome, type PushBlobOptions, refusesMonolithic } from "./_upload.ts";
export { layoutBlobSource } from "./layout_source.ts";
