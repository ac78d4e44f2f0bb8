import { type Fetch, redactUrl } from "../../download/mod.ts";
import { registryApiHost } from "../reference.ts";
import { Authenticator } from "./_auth.ts";
import { readLimited } from "./_body.ts";
import { type Answer, exchange, type Timeouts } from "./_http.ts";
import type { Credentials } from "./credentials.ts";
import { networkError, RegistryError, registryErrorFromResponse } from "./errors.ts";

/** Something the client did worth telling a progress display or a log; the client itself prints nothing. */
export type RegistryEvent =
  | {
      kind: "retry";
      method: string;
      url: string;
      /** What is being retried: "read manifest r.example/app:1". */
      what: string;
      attempt: number;
      delayMs: number;
      /** Why the attempt failed, without the "Cannot <what>: " prefix. */
      reason: string;
      /** The wait is the server's own (Retry-After), not our backoff. */
      retryAfter: boolean;
    }
  | { kind: "blob"; registry: string; repository: string; digest: string; outcome: "exists" | "mounted" | "uploaded"; upload?: "monolithic" | "chunked" }
  | { kind: "manifest"; registry: string; repository: string; reference: string; digest: string }
  /** Bytes of a blob moved so far (downloads after each chunk; uploads after each acknowledged request). */
  | { kind: "transfer"; direction: "download" | "upload"; digest: string; done: number; size: number };

/**
 * The line a command prints for an event, or undefined for the ones not worth a line (blob and manifest progress).
 *
 * @example
 * ```ts
 * formatRegistryEvent({ kind: "retry", method: "GET", url, what: "read manifest r.example/app:1", attempt: 1, delayMs: 7000, reason: "the registry answered 429", retryAfter: true });
 * // "waiting 7 s for read manifest r.example/app:1 (Retry-After; the registry answered 429)"
 * ```
 */
export function formatRegistryEvent(event: RegistryEvent): string | undefined {
  if (event.kind !== "retry") return undefined;
  const seconds = Number((event.delayMs / 1000).toFixed(1));
  return event.retryAfter ? `waiting ${seconds} s for ${event.what} (Retry-After; ${event.reason})` : `retrying ${event.what} in ${seconds} s: ${event.reason}`;
}

export interface SessionSettings {
  fetch: Fetch;
  credentials: Credentials;
  insecure: readonly string[];
  attempts: number;
  sleep: (ms: number) => Promise<void>;
  timeouts: Timeouts;
  userAgent: string;
  onEvent: (event: RegistryEvent) => void;
}

/** One distribution API call. */
export interface ApiRequest {
  /** Registry host as written in references. */
  registry: string;
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH";
  /** `/v2/…`, or an absolute URL the registry handed out (upload locations). */
  path: string;
  /** Token scopes this call needs, e.g. `repository:team/app:pull`. */
  scopes: readonly string[];
  headers?: Record<string, string>;
  /** A Blob is read as it is sent (a layer from its file), never held whole. */
  body?: Uint8Array | Blob;
  /** Statuses returned to the caller; any other becomes a RegistryError. */
  ok: readonly number[];
  /**
   * Send once, never again on a temporary failure: the caller recovers, because the registry may have kept part of
   * what was sent (an upload). Default false.
   */
  once?: boolean;
  /**
   * Bytes of an `ok` answer's body to keep (the rest is not read; `overflow` says there was more). The body is
   * read inside the retry loop, so one cut short is retried like any network failure. Default 0: discarded.
   */
  maxBody?: number;
  /** For messages: "read manifest r.example/app:1". */
  what: string;
}

/** An `ok` answer, its body already read (capped at the request's `maxBody`). */
export interface ApiAnswer {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
  overflow: boolean;
}

/** First backoff; doubles per attempt up to the cap. A server's Retry-After wins, up to its own cap. */
const BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;
const MAX_RETRY_AFTER_MS = 60_000;

/** Auth, retries, redirects, timeouts and error mapping for every call: the only place that talks to the registry. */
export class Session {
  readonly settings: SessionSettings;
  readonly auth: Authenticator;

  constructor(settings: SessionSettings) {
    this.settings = settings;
    this.auth = new Authenticator({
      fetch: settings.fetch,
      credentials: settings.credentials,
      userAgent: settings.userAgent,
      timeouts: settings.timeouts,
      isInsecure: (registry) => settings.insecure.includes(registry),
    });
  }

  /** The base URL of a registry's API: plain HTTP only for hosts the user declared insecure. */
  baseUrl(registry: string): string {
    return `${this.settings.insecure.includes(registry) ? "http" : "https"}://${registryApiHost(registry)}`;
  }

  /**
   * Sends `request`, answering one auth challenge from the registry itself and retrying temporary failures (body
   * reads included) within the total timeout; returns only `ok` statuses.
   */
  send(request: ApiRequest): Promise<ApiAnswer> {
    return this.#retrying(request, (url, deadline) => this.#attempt(request, url, deadline));
  }

  /**
   * Like `send`, but hands the unread `ok` answer to `consume`, inside the retry loop: a temporary failure while
   * consuming (a body cut short) sends the request again with the headers `headersFor()` gives then (a `Range`
   * after the bytes already taken). An attempt that made progress does not count against the attempts.
   * `consume` must throw RegistryErrors (others count as network failures) or a ConsumerFailure (passed through).
   */
  consume<T>(request: Omit<ApiRequest, "maxBody">, options: { headersFor: () => Record<string, string>; progressed: () => boolean; consume: (answer: Answer) => Promise<T> }): Promise<T> {
    return this.#retrying(
      request,
      async (url, deadline) => options.consume(await this.#answer({ ...request, headers: { ...request.headers, ...options.headersFor() } }, url, deadline)),
      options.progressed,
    );
  }

  async #retrying<T>(request: ApiRequest, once: (url: string, deadline: number) => Promise<T>, progressed: () => boolean = () => false): Promise<T> {
    const url = new URL(request.path, this.baseUrl(request.registry)).toString();
    const deadline = Date.now() + this.settings.timeouts.totalMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await once(url, deadline);
      } catch (error) {
        if (error instanceof ConsumerFailure) throw error.cause;
        const failure = networkError(error, { method: request.method, url, what: request.what, host: request.registry });
        if (progressed()) attempt = 1;
        const delayMs = retryDelay(failure, attempt);
        if (!failure.temporary || request.once || attempt >= this.settings.attempts || Date.now() + delayMs >= deadline) throw failure;
        const reason = failure.message.replace(`Cannot ${request.what}: `, "");
        this.settings.onEvent({ kind: "retry", method: request.method, url: redactUrl(url), what: request.what, attempt, delayMs, reason, retryAfter: failure.retryAfterSeconds !== undefined });
        await this.settings.sleep(delayMs);
      }
    }
  }

  async #attempt(request: ApiRequest, url: string, deadline: number): Promise<ApiAnswer> {
    const answer = await this.#answer(request, url, deadline);
    if (!request.maxBody) {
      void answer.body?.cancel().catch(() => {});
      return { status: answer.status, headers: answer.headers, bytes: new Uint8Array(), overflow: false };
    }
    const { bytes, overflow } = await readLimited(answer, request.maxBody);
    // A connection that ends cleanly but early is as temporary as one reset mid-body (a decoded body has no comparable length).
    const declared = Number(answer.headers.get("content-length") ?? Number.NaN);
    if (!overflow && Number.isFinite(declared) && bytes.byteLength < declared && !answer.headers.get("content-encoding")) {
      throw new RegistryError("E_REGISTRY_TRUNCATED", `Cannot ${request.what}: the connection closed after ${bytes.byteLength} of ${declared} bytes`, {
        method: request.method,
        url: redactUrl(url),
        status: answer.status,
        temporary: true,
      });
    }
    return { status: answer.status, headers: answer.headers, bytes, overflow };
  }

  /** One exchange with auth answered; only `ok` statuses come back, their bodies unread. */
  async #answer(request: ApiRequest, url: string, deadline: number): Promise<Answer> {
    const origin = new URL(this.baseUrl(request.registry)).origin;
    const sent = this.auth.header(request.registry, request.scopes);
    let answer = await this.#exchange(request, url, { origin, sent, deadline });
    // Only the registry itself may ask for its credentials; a host it hands us to (blob storage, an upload
    // service) that wants a login of its own gets nothing, and the request fails below.
    if (answer.status === 401 && new URL(answer.url).origin === origin) {
      const authorization = await this.auth.authorize(request.registry, request.scopes, answer.headers.get("www-authenticate"), sent);
      if (authorization !== undefined) {
        void answer.body?.cancel().catch(() => {});
        answer = await this.#exchange(request, url, { origin, sent: authorization, deadline });
      }
    }
    if (answer.status === 401 && new URL(answer.url).origin !== origin) throw foreignChallenge(request, answer, origin);
    if (!request.ok.includes(answer.status)) throw await registryErrorFromResponse(answer, { method: request.method, url, what: request.what, host: request.registry });
    return answer;
  }

  /** One request; reads follow redirects (blob GETs often go to a storage host), writes do not. */
  #exchange(request: ApiRequest, url: string, auth: { origin: string; sent: string | undefined; deadline: number }): Promise<Answer> {
    return exchange(this.settings.fetch, {
      method: request.method,
      url,
      headers: { "user-agent": this.settings.userAgent, ...request.headers },
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(auth.sent === undefined ? {} : { authorization: { origin: auth.origin, header: auth.sent } }),
      follow: request.method === "GET" || request.method === "HEAD",
      deadline: auth.deadline,
      timeouts: this.settings.timeouts,
      what: request.what,
    });
  }
}

/** A failure of the caller's own (a full disk while storing a blob): not the registry's, never retried. */
export class ConsumerFailure extends Error {
  constructor(override readonly cause: unknown) {
    super("consumer failed", { cause });
  }
}

/** A 401 from another origin than the registry's: permanent, and nothing was sent to it. */
function foreignChallenge(request: ApiRequest, answer: Answer, origin: string): RegistryError {
  const foreign = new URL(answer.url).origin;
  void answer.body?.cancel().catch(() => {});
  return new RegistryError("E_REGISTRY_AUTH", `Cannot ${request.what}: ${foreign}, where the registry sent this request, asked for credentials`, {
    method: request.method,
    url: redactUrl(answer.url),
    status: 401,
    temporary: false,
    hint: `vox sends the credentials of ${request.registry} only to ${origin}, never to a host it redirects to or names for uploads; report this to the registry's operator`,
  });
}

/** How long to wait before attempt `attempt + 1`: the server's Retry-After (capped), else exponential backoff. */
export function retryDelay(failure: RegistryError, attempt: number): number {
  if (failure.retryAfterSeconds !== undefined) return Math.min(failure.retryAfterSeconds * 1000, MAX_RETRY_AFTER_MS);
  return Math.min(BACKOFF_MS * 2 ** (attempt - 1), MAX_BACKOFF_MS);
}

/** Where a repository lives; a Reference is one. */
export interface Repository {
  /** Registry host as written in references, with port (`docker.io` for Docker Hub). */
  registry: string;
  repository: string;
}

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** `/v2/<name>`; refuses a repository name that could change the path (it ends up in URLs). */
export function apiPath(repo: Repository): string {
  if (!REPOSITORY.test(repo.repository)) {
    throw new RegistryError("E_REGISTRY_NAME", `Cannot use repository '${repo.repository}': not a valid repository name`, {
      method: "-",
      url: "-",
      temporary: false,
      hint: "Repository path components are lowercase letters and digits separated by '.', '_', '__' or '-'",
    });
  }
  return `/v2/${repo.repository}`;
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

/** `registry/repository` for messages. */
export function describe(repo: Repository): string {
  return `${repo.registry}/${repo.repository}`;
}
