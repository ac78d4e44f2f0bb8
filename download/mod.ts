// The one download engine install, upgrade and mirror use: streaming, hashing, capped, timed, retried, resumable.
// Owns transport concerns (proxy, CA, redirects, Range); what to download and what to trust is decided by callers.

export { DownloadError, redactUrl } from "./errors.ts";
export { type Downloaded, type DownloadDeps, type DownloadOptions, downloadToFile, parseRetryAfter } from "./download.ts";
export { type Answer, exchange, type ExchangeFailures, type HttpRequest, isRedirect, type Timeouts } from "./exchange.ts";
export { createFetch, type Fetch, proxyFor } from "./transport.ts";
export { progressReporter } from "./progress.ts";
