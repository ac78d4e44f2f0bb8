import { createHash, type Hash } from "node:crypto";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { errorMessage } from "../errors/mod.ts";
import { besideTarget } from "../io/atomic.ts";
import { fileChunks } from "../io/file_chunks.ts";
import type { BodyWriter } from "../runtime/mod.ts";
import { DownloadError, redactUrl } from "./errors.ts";
import { type Answer, type ExchangeFailures, exchange, seconds } from "./exchange.ts";
import type { Fetch } from "./transport.ts";

export interface DownloadOptions {
  /** Refuse bodies larger than this (declared or actual). */
  maxBytes: number;
  /** When given, the body must hash to this; nothing reaches the destination otherwise. */
  expectedSha256?: string;
  /** Extra request headers (e.g. Authorization); dropped when a redirect leaves the original host. */
  headers?: Record<string, string>;
  /** Until response headers arrive. Default 15 s. */
  connectTimeoutMs?: number;
  /** Longest silence while the body streams. Default 30 s. */
  idleTimeoutMs?: number;
  /** The whole download, retries included. Default 10 min. */
  totalTimeoutMs?: number;
  /** Attempts after the first, for temporary failures only. Default 4. */
  retries?: number;
  /** First backoff; doubles each retry, capped at 10 s (a server's Retry-After wins, capped at 60 s). Default 500 ms. */
  backoffMs?: number;
  onProgress?: (received: number, total: number | undefined) => void;
}

export interface DownloadDeps {
  fetch: Fetch;
  sleep: (ms: number) => Promise<void>;
  /** Writes a body of declared length into the file without passing its chunks through JavaScript (runtime/). */
  writeBody?: BodyWriter;
}

export interface Downloaded {
  sha256: string;
  size: number;
  /** Where the bytes finally came from, after redirects (redacted). */
  finalUrl: string;
  attempts: number;
}

/**
 * Streams `url` into `destination`: hashing while receiving (memory stays flat), capped in size, with a connect
 * timeout separate from the idle and total ones, retries with backoff on temporary failures (5xx, 429, network),
 * `Range` resume after a dropped connection, and no redirect from https to http. The body lands in a temp file
 * beside `destination` and is renamed into place only once size and digest check out.
 *
 * @example
 * ```ts
 * await downloadToFile("https://example.test/vox.tar.gz", "/tmp/vox.tar.gz", { maxBytes: 256 << 20, expectedSha256 }, { fetch, sleep });
 * ```
 */
export async function downloadToFile(url: string, destination: string, options: DownloadOptions, deps: DownloadDeps): Promise<Downloaded> {
  const deadline = Date.now() + (options.totalTimeoutMs ?? 600_000);
  const temp = besideTarget(destination);
  const file = await open(temp, "w+", 0o600);
  const state = { temp, received: 0, hash: createHash("sha256"), etag: undefined as string | undefined, finalUrl: redactUrl(url) };
  let attempt = 0;
  try {
    for (;;) {
      attempt++;
      try {
        await transfer(url, file, state, options, deps, deadline);
        break;
      } catch (error) {
        const failure = asDownloadError(error, url);
        const retriesLeft = (options.retries ?? 4) - (attempt - 1);
        if (!failure.temporary || retriesLeft <= 0 || Date.now() >= deadline) throw failure;
        const backoff = failure.retryAfterSeconds !== undefined ? Math.min(failure.retryAfterSeconds * 1000, 60_000) : Math.min((options.backoffMs ?? 500) * 2 ** (attempt - 1), 10_000);
        await deps.sleep(Math.min(backoff, Math.max(0, deadline - Date.now())));
      }
    }
    const sha256 = state.hash.digest("hex");
    if (options.expectedSha256 !== undefined && sha256 !== options.expectedSha256) {
      throw new DownloadError("E_DOWNLOAD_DIGEST", `Cannot accept ${state.finalUrl}: its sha256 is ${sha256}, expected ${options.expectedSha256}`, {
        url: state.finalUrl,
        temporary: false,
        hint: "The file differs from what the signed checksums promise; it was not used. Do not install from this source until it serves the published release.",
      });
    }
    await file.sync();
    await file.close();
    await rename(temp, destination);
    return { sha256, size: state.received, finalUrl: state.finalUrl, attempts: attempt };
  } catch (error) {
    await file.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
}

interface TransferState {
  /** The file beside the destination that the body is written into. */
  temp: string;
  received: number;
  hash: Hash;
  etag: string | undefined;
  finalUrl: string;
}

async function transfer(url: string, file: FileHandle, state: TransferState, options: DownloadOptions, deps: DownloadDeps, deadline: number): Promise<void> {
  // The bytes hashed must be the bytes the server holds: no transparent decompression by the runtime.
  const { authorization, ...headers }: Record<string, string> = { "accept-encoding": "identity", ...lowerCaseKeys(options.headers ?? {}) };
  if (state.received > 0) {
    headers.range = `bytes=${state.received}-`;
    if (state.etag) headers["if-range"] = state.etag;
  }
  const response = await exchange(deps.fetch, {
    method: "GET",
    url,
    headers,
    // Credentials stay with the origin they were meant for; a redirect elsewhere (release storage) never sees them.
    ...(authorization ? { authorization: { origin: new URL(url).origin, header: authorization } } : {}),
    follow: true,
    deadline,
    timeouts: { connectMs: options.connectTimeoutMs ?? 15_000, idleMs: options.idleTimeoutMs ?? 30_000, totalMs: options.totalTimeoutMs ?? 600_000 },
    what: `download ${redactUrl(url)}`,
    failures: downloadFailures(url),
  });
  state.finalUrl = redactUrl(response.url);
  const resumed = response.status === 206;
  if (response.status !== 200 && !resumed) throw statusError(response, url);
  const encoding = (response.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "") {
    void response.body?.cancel().catch(() => {});
    throw new DownloadError("E_DOWNLOAD_ENCODING", `Cannot download ${redactUrl(url)}: the server sent it with Content-Encoding: ${encoding}, though identity was asked for`, {
      url: redactUrl(url),
      temporary: false,
      hint: "Release files must be served byte for byte; turn off compression for them on the server or mirror (nginx: gzip off).",
    });
  }
  if (resumed) {
    const start = /^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1];
    if (Number(start) !== state.received) throw new DownloadError("E_DOWNLOAD_RANGE", `Cannot resume ${redactUrl(url)}: asked for byte ${state.received}, got ${response.headers.get("content-range")}`, { url: redactUrl(url), temporary: false });
  } else if (state.received > 0) {
    // The server ignored Range (or the file changed, per If-Range): start over.
    state.received = 0;
    state.hash = createHash("sha256");
    await file.truncate(0);
  }
  state.etag = response.headers.get("etag") ?? state.etag;
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  const total = Number.isFinite(declared) ? declared + state.received : undefined;
  if (total !== undefined && total > options.maxBytes) {
    void response.body?.cancel().catch(() => {});
    throw new DownloadError("E_DOWNLOAD_TOO_LARGE", `Cannot download ${redactUrl(url)}: it is ${total} bytes, over the ${options.maxBytes}-byte limit`, { url: redactUrl(url), temporary: false, hint: "A release asset is never this large; the server is misconfigured or hostile." });
  }
  const untimed = response.untimedBody();
  if (deps.writeBody && untimed && state.received === 0 && total !== undefined) await writeWhole(deps.writeBody, untimed, response, file, state, { ...options, total, deadline, url });
  else if (response.body) await readChunks(response.body, file, state, options, total, url);
  if (total !== undefined && state.received !== total) {
    throw new DownloadError("E_DOWNLOAD_TRUNCATED", `Cannot download ${redactUrl(url)}: the connection closed after ${state.received} of ${total} bytes`, { url: redactUrl(url), temporary: true });
  }
}

/** The body chunk by chunk (the portable way): each one counted against the cap, written, then hashed. */
async function readChunks(body: ReadableStream<Uint8Array>, file: FileHandle, state: TransferState, options: DownloadOptions, total: number | undefined, url: string): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      if (state.received + chunk.value.length > options.maxBytes) {
        throw new DownloadError("E_DOWNLOAD_TOO_LARGE", `Cannot download ${redactUrl(url)}: the body passed the ${options.maxBytes}-byte limit`, { url: redactUrl(url), temporary: false });
      }
      await file.write(chunk.value, 0, chunk.value.length, state.received);
      state.hash.update(chunk.value);
      state.received += chunk.value.length;
      options.onProgress?.(state.received, total);
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
}

/**
 * A body of declared length written by the runtime itself, then hashed from the file it filled: no chunk passes
 * through here to be counted, so this is only for a declared length within the cap (HTTP framing ends the body
 * there). Silence shows as a file that stops growing, checked a few times a second, as does the deadline; either
 * aborts the request. A short body keeps what arrived, hashed, so that the retry resumes after it.
 */
async function writeWhole(writeBody: BodyWriter, body: ReadableStream<Uint8Array>, response: Answer, file: FileHandle, state: TransferState, limits: DownloadOptions & { total: number; deadline: number; url: string }): Promise<void> {
  const idleMs = limits.idleTimeoutMs ?? 30_000;
  const what = `Cannot download ${redactUrl(limits.url)}`;
  let size = 0;
  let grew = Date.now();
  let stalled: Error | undefined;
  const watch = setInterval(() => {
    void file.stat().then(({ size: now }) => {
      if (now > size) {
        size = now;
        grew = Date.now();
        limits.onProgress?.(now, limits.total);
      }
      const late = Date.now() >= limits.deadline;
      if (stalled === undefined && (late || Date.now() - grew >= idleMs)) {
        stalled = downloadFailures(limits.url).timeout(`${what}: ${late ? `not done after ${seconds(limits.totalTimeoutMs ?? 600_000)} s` : `no data for ${seconds(idleMs)} s`}`, !late);
        response.abort();
      }
    }, () => {});
  }, Math.max(10, Math.min(250, idleMs / 4)));
  let failure: unknown;
  try {
    await writeBody(body, file.fd);
  } catch (error) {
    failure = stalled ?? error;
  } finally {
    clearInterval(watch);
  }
  const { size: written } = await file.stat();
  if (written > limits.total) throw new DownloadError("E_DOWNLOAD_TOO_LARGE", `${what}: the body passed its declared ${limits.total} bytes`, { url: redactUrl(limits.url), temporary: false });
  for await (const chunk of fileChunks(state.temp)) state.hash.update(chunk);
  state.received = written;
  limits.onProgress?.(state.received, limits.total);
  if (failure !== undefined) throw failure;
}

function downloadFailures(url: string): ExchangeFailures {
  return {
    timeout: (message, temporary) => new DownloadError("E_DOWNLOAD_TIMEOUT", message, { url: redactUrl(url), temporary }),
    refusedRedirect: (message) =>
      new DownloadError("E_DOWNLOAD_INSECURE_REDIRECT", message, {
        url: redactUrl(url),
        temporary: false,
        hint: "Only http(s) redirects are followed, and never from https to http: a downgrade would let anyone on the path swap the file. Fix the server or mirror.",
      }),
    refusedScheme: (message) => new DownloadError("E_DOWNLOAD_SCHEME", message, { url: redactUrl(url), temporary: false, hint: "Pass an https:// base URL (or http:// for a mirror on a trusted network)." }),
  };
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function statusError(response: Answer, url: string): DownloadError {
  const status = response.status;
  const temporary = status >= 500 || status === 429 || status === 408;
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  void response.body?.cancel();
  return new DownloadError("E_DOWNLOAD_STATUS", `Cannot download ${redactUrl(url)}: the server answered ${status} ${response.statusText}`.trim(), {
    url: redactUrl(url),
    status,
    temporary,
    ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
    hint: status === 404 ? "Check the version and the base URL; `vox policy` prints the URL layout." : undefined,
  });
}

/** Retry-After as seconds: a number, or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** Certificate failures are permanent: retrying cannot make an untrusted certificate trusted. */
const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|TLS/;

function asDownloadError(error: unknown, url: string): DownloadError {
  if (error instanceof DownloadError) return error;
  const code = String((error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code ?? "");
  if (TLS_ERROR.test(code)) {
    return new DownloadError("E_DOWNLOAD_TLS", `Cannot download ${redactUrl(url)}: the server's certificate is not trusted (${code}: ${errorMessage(error)})`, {
      url: redactUrl(url),
      temporary: false,
      cause: error,
      hint: "If this is your own mirror with a private CA, set VOX_CA_BUNDLE to its PEM file; otherwise something is intercepting the connection.",
    });
  }
  return new DownloadError("E_DOWNLOAD_NETWORK", `Cannot download ${redactUrl(url)}: ${errorMessage(error)}`, { url: redactUrl(url), temporary: true, cause: error, hint: "Check the network, proxy (HTTPS_PROXY) and base URL, then try again." });
}
