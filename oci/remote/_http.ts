import { type Fetch, redactUrl } from "../../download/mod.ts";
import { RegistryError } from "./errors.ts";

/** How long one registry or token request may take: the download engine's limits, for bodies kept in memory. */
export interface Timeouts {
  /** Until an answer's headers arrive. A request that sends a body (an upload) waits for them under `totalMs` only. Default 15 s. */
  connectMs: number;
  /** Longest silence while an answer's body streams. Default 30 s. */
  idleMs: number;
  /** One operation, retries and their waits included. Default 10 min. */
  totalMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 15_000, idleMs: 30_000, totalMs: 600_000 };

/** An answer whose body reads are timed: each read fails once `idleMs` pass in silence or the deadline passes. */
export interface Answer {
  status: number;
  headers: Headers;
  /** The URL that answered, after redirects: whose answer this is. */
  url: string;
  body: ReadableStream<Uint8Array> | null;
}

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array | string;
  /** Sent only to `origin`: a redirect or an upload location on another origin never sees it. */
  authorization?: { origin: string; header: string };
  /** Follow redirects (by hand, never from https to http); otherwise a 3xx is the answer. */
  follow: boolean;
  /** Epoch ms by which the request, body included, must be done. */
  deadline: number;
  timeouts: Timeouts;
  /** For messages: "read manifest r.example/app:1". */
  what: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
/** Statuses whose answers never have a body (a Response cannot be made with one). */
const NO_BODY = new Set([101, 103, 204, 205, 304]);

/** Whether `status` is a redirect. */
export function isRedirect(status: number): boolean {
  return REDIRECTS.has(status);
}

/**
 * One request under the connect, idle and total limits, following redirects by hand when asked: never from https
 * to http, and `authorization` only on its own origin. Nothing of the body is read here; the caller reads it,
 * capped, through the timed stream.
 */
export async function exchange(fetch: Fetch, request: HttpRequest): Promise<Answer> {
  const controller = new AbortController();
  let current = new URL(request.url);
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
      return { status: response.status, headers: response.headers, url: current.toString(), body: timedBody(response, request, controller) };
    }
    void response.body?.cancel().catch(() => {});
    const next = new URL(location, current);
    if (current.protocol === "https:" && next.protocol !== "https:") {
      throw new RegistryError("E_REGISTRY_REDIRECT", `Cannot ${request.what}: ${redactUrl(current.toString())} redirected from HTTPS to ${redactUrl(next.toString())}`, {
        method: request.method,
        url: redactUrl(current.toString()),
        status: response.status,
        temporary: false,
        hint: "Refusing a downgrade to plain HTTP; report this to the registry's operator",
      });
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
 * `promise`, or a temporary E_REGISTRY_TIMEOUT once `phaseMs` (or the deadline, when sooner) passes; the request
 * is then aborted so nothing keeps the connection open.
 */
async function within<T>(promise: Promise<T>, limit: HttpRequest & { phaseMs: number; phase: "connect" | "idle" }, controller: AbortController): Promise<T> {
  const left = limit.deadline - Date.now();
  const total = left <= limit.phaseMs;
  const ms = Math.max(0, total ? left : limit.phaseMs);
  const why = total ? `not done after ${seconds(limit.timeouts.totalMs)} s` : limit.phase === "connect" ? `no answer for ${seconds(ms)} s` : `no data for ${seconds(ms)} s`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject before aborting, so the race settles on the timeout rather than on the abort it causes.
      reject(
        new RegistryError("E_REGISTRY_TIMEOUT", `Cannot ${limit.what}: ${why}`, {
          method: limit.method,
          url: redactUrl(limit.url),
          temporary: !total,
          hint: "The server stopped answering; check the network and proxy, then try again",
        }),
      );
      controller.abort();
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function seconds(ms: number): string {
  return String(Number((ms / 1000).toFixed(3)));
}
