import { redactUrl } from "./errors.ts";
import type { Fetch } from "./transport.ts";

/** How long one request may take. */
export interface Timeouts {
  /** Until an answer's headers arrive. A request that sends a body (an upload) waits for them under `totalMs` only. */
  connectMs: number;
  /** Longest silence while an answer's body streams. */
  idleMs: number;
  /** One operation, retries and their waits included (callers turn it into `deadline`). */
  totalMs: number;
}

/** An answer whose body reads are timed: each read fails once `idleMs` pass in silence or the deadline passes. */
export interface Answer {
  status: number;
  statusText: string;
  headers: Headers;
  /** The URL that answered, after redirects: whose answer this is. */
  url: string;
  /** Taken on first use; it and `untimedBody()` are exclusive (whichever is taken first locks the stream). */
  body: ReadableStream<Uint8Array> | null;
  /** The body as it arrives, untimed: for a writer that times itself (by what it has written) and calls `abort`. */
  untimedBody(): ReadableStream<Uint8Array> | null;
  /** Ends the request: its body, timed or not, fails. */
  abort(): void;
}

/**
 * The errors a caller's domain reports them as (a DownloadError for release files, a RegistryError for
 * registries), so one transport serves both without knowing either.
 */
export interface ExchangeFailures {
  /** No answer, or no data, in time. `temporary` is false when the whole operation's deadline passed. */
  timeout(message: string, temporary: boolean): Error;
  /** A redirect we refuse to follow: to another scheme than http(s), or from https to http. */
  refusedRedirect(message: string, status: number): Error;
  /** The URL itself is not http(s). */
  refusedScheme(message: string): Error;
}

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** A Blob (a file opened with `openAsBlob`) is read as it is sent, and again on a redirect or retry. */
  body?: Uint8Array | string | Blob;
  /** Sent only to `origin`: a redirect or an upload location on another origin never sees it. */
  authorization?: { origin: string; header: string };
  /** Follow redirects (by hand, only to http(s), never from https to http); otherwise a 3xx is the answer. */
  follow: boolean;
  /** Epoch ms by which the request, body included, must be done. */
  deadline: number;
  timeouts: Timeouts;
  /** For messages: "read manifest r.example/app:1", "download https://…". */
  what: string;
  failures: ExchangeFailures;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
/** Only these are fetched: `file:`, `data:` or a cloud SDK's scheme would read what no server vouched for. */
const WEB_SCHEMES = new Set(["http:", "https:"]);
/** Statuses whose answers never have a body (a Response cannot be made with one). */
const NO_BODY = new Set([101, 103, 204, 205, 304]);

/** Whether `status` is a redirect. */
export function isRedirect(status: number): boolean {
  return REDIRECTS.has(status);
}

/**
 * One request under the connect, idle and total limits, following redirects by hand when asked: only to http(s),
 * never from https to http, and `authorization` only on its own origin. Nothing of the body is read here; the
 * caller reads it, capped, through the timed stream. The one transport release downloads and registry calls use.
 *
 * @example
 * ```ts
 * const answer = await exchange(fetch, { method: "GET", url, headers: {}, follow: true, deadline: Date.now() + 60_000, timeouts, what: `download ${url}`, failures });
 * ```
 */
export async function exchange(fetch: Fetch, request: HttpRequest): Promise<Answer> {
  const controller = new AbortController();
  let current = new URL(request.url);
  if (!WEB_SCHEMES.has(current.protocol)) throw request.failures.refusedScheme(`Cannot ${request.what}: only http and https URLs are fetched`);
  for (let hop = 0; ; hop++) {
    const headers = { ...request.headers };
    if (request.authorization && current.origin === request.authorization.origin) headers.authorization = request.authorization.header;
    const init: RequestInit = { method: request.method, headers, redirect: "manual", signal: controller.signal };
    if (request.body !== undefined) init.body = request.body as BodyInit;
    // An upload's answer comes only after the whole body went out: no connect limit can tell slow from stuck.
    const connect = request.body === undefined ? request.timeouts.connectMs : Number.POSITIVE_INFINITY;
    const response = await within(fetch(current.toString(), init), { ...request, phaseMs: connect, phase: "connect" }, controller);
    const location = response.headers.get("location");
    if (!request.follow || !isRedirect(response.status) || !location || hop >= MAX_REDIRECTS) {
      let timed: ReadableStream<Uint8Array> | null | undefined;
      return {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
        url: current.toString(),
        get body() {
          return (timed ??= timedBody(response, request, controller));
        },
        untimedBody: () => response.body,
        abort: () => controller.abort(),
      };
    }
    void response.body?.cancel().catch(() => {});
    const next = new URL(location, current);
    const who = hop === 0 ? "it" : redactUrl(current.toString());
    if (!WEB_SCHEMES.has(next.protocol)) {
      throw request.failures.refusedRedirect(`Cannot ${request.what}: ${who} redirects to a ${next.protocol.replace(":", "")}: URL`, response.status);
    }
    if (current.protocol === "https:" && next.protocol !== "https:") {
      throw request.failures.refusedRedirect(`Cannot ${request.what}: ${who} redirects from https to http (${redactUrl(next.toString())})`, response.status);
    }
    current = next;
  }
}

/** The body as a stream whose every read is bounded by the idle limit and the deadline. */
function timedBody(response: Response, request: HttpRequest, controller: AbortController): ReadableStream<Uint8Array> | null {
  if (!response.body || NO_BODY.has(response.status) || request.method === "HEAD") return response.body;
  const reader = response.body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(stream) {
      const chunk = await within(reader.read(), { ...request, phaseMs: request.timeouts.idleMs, phase: "idle" }, controller);
      if (chunk.done) stream.close();
      else stream.enqueue(chunk.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/**
 * `promise`, or the caller's timeout error once `phaseMs` (or the deadline, when sooner) passes; the request is
 * then aborted so nothing keeps the connection open.
 */
async function within<T>(promise: Promise<T>, limit: HttpRequest & { phaseMs: number; phase: "connect" | "idle" }, controller: AbortController): Promise<T> {
  const left = limit.deadline - Date.now();
  const total = left <= limit.phaseMs;
  const ms = Math.max(0, total ? left : limit.phaseMs);
  const why = total ? `not done after ${seconds(limit.timeouts.totalMs)} s` : limit.phase === "connect" ? `no response for ${seconds(ms)} s` : `no data for ${seconds(ms)} s`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject before aborting, so the race settles on the timeout rather than on the abort it causes.
      reject(limit.failures.timeout(`Cannot ${limit.what}: ${why}`, !total));
      controller.abort();
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Milliseconds as seconds for a message: 1500 → "1.5". */
export function seconds(ms: number): string {
  return String(Number((ms / 1000).toFixed(3)));
}
