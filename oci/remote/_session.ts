import { type Fetch, redactUrl } from "../../download/mod.ts";
import { registryApiHost } from "../reference.ts";
import { Authenticator } from "./_auth.ts";
import type { Credentials } from "./credentials.ts";
import { networkError, RegistryError, registryErrorFromResponse } from "./errors.ts";

/** Something the client did worth telling a progress display or a log; the client itself prints nothing. */
export type RegistryEvent =
  | { kind: "retry"; method: string; url: string; attempt: number; delayMs: number; reason: string }
  | { kind: "blob"; registry: string; repository: string; digest: string; outcome: "exists" | "mounted" | "uploaded"; upload?: "monolithic" | "chunked" }
  | { kind: "manifest"; registry: string; repository: string; reference: string; digest: string };

export interface SessionSettings {
  fetch: Fetch;
  credentials: Credentials;
  insecure: readonly string[];
  attempts: number;
  sleep: (ms: number) => Promise<void>;
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
  body?: Uint8Array;
  /** Statuses returned to the caller; any other becomes a RegistryError. */
  ok: readonly number[];
  /** For messages: "read manifest r.example/app:1". */
  what: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
/** First backoff; doubles per attempt up to the cap. A server's Retry-After wins, up to its own cap. */
const BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;
const MAX_RETRY_AFTER_MS = 60_000;

/** Auth, retries, redirects and error mapping for every call: the only place that talks to `fetch`. */
export class Session {
  readonly settings: SessionSettings;
  readonly auth: Authenticator;

  constructor(settings: SessionSettings) {
    this.settings = settings;
    this.auth = new Authenticator({
      fetch: settings.fetch,
      credentials: settings.credentials,
      userAgent: settings.userAgent,
      isInsecure: (registry) => settings.insecure.includes(registry),
    });
  }

  /** The base URL of a registry's API: plain HTTP only for hosts the user declared insecure. */
  baseUrl(registry: string): string {
    return `${this.settings.insecure.includes(registry) ? "http" : "https"}://${registryApiHost(registry)}`;
  }

  /** Sends `request`, answering one auth challenge and retrying temporary failures; returns only `ok` statuses. */
  async send(request: ApiRequest): Promise<Response> {
    const url = new URL(request.path, this.baseUrl(request.registry)).toString();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#attempt(request, url);
      } catch (error) {
        const failure = networkError(error, { method: request.method, url, what: request.what, host: request.registry });
        if (!failure.temporary || attempt >= this.settings.attempts) throw failure;
        const delayMs = retryDelay(failure, attempt);
        this.settings.onEvent({ kind: "retry", method: request.method, url: redactUrl(url), attempt, delayMs, reason: failure.message });
        await this.settings.sleep(delayMs);
      }
    }
  }

  async #attempt(request: ApiRequest, url: string): Promise<Response> {
    const sent = this.auth.header(request.registry, request.scopes);
    let response = await this.#exchange(request, url, sent);
    if (response.status === 401) {
      const authorization = await this.auth.authorize(request.registry, request.scopes, response.headers.get("www-authenticate"), sent);
      if (authorization !== undefined) {
        void response.body?.cancel().catch(() => {});
        response = await this.#exchange(request, url, authorization);
      }
    }
    if (request.ok.includes(response.status)) return response;
    throw await registryErrorFromResponse(response, { method: request.method, url, what: request.what, host: request.registry });
  }

  /**
   * One request, following redirects for reads by hand: blob GETs are often redirected to a storage host, which
   * must never see the registry's Authorization header, and an https → http redirect is refused.
   */
  async #exchange(request: ApiRequest, url: string, authorization: string | undefined): Promise<Response> {
    // Upload locations may point at another host; only the registry itself gets its credentials.
    const origin = new URL(this.baseUrl(request.registry)).origin;
    let current = url;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { "user-agent": this.settings.userAgent, ...request.headers };
      if (authorization !== undefined && new URL(current).origin === origin) headers.authorization = authorization;
      const init: RequestInit = { method: request.method, headers, redirect: "manual" };
      if (request.body !== undefined) init.body = request.body as BodyInit;
      const response = await this.settings.fetch(current, init);
      const location = response.headers.get("location");
      const follows = (request.method === "GET" || request.method === "HEAD") && REDIRECTS.has(response.status) && location;
      if (!follows || hop >= MAX_REDIRECTS) return response;
      const next = new URL(location, current);
      void response.body?.cancel().catch(() => {});
      if (new URL(current).protocol === "https:" && next.protocol !== "https:") {
        throw new RegistryError("E_REGISTRY_REDIRECT", `Cannot ${request.what}: the registry redirected from HTTPS to ${redactUrl(next.toString())}`, {
          method: request.method,
          url: redactUrl(current),
          status: response.status,
          temporary: false,
          hint: "Refusing a downgrade to plain HTTP; report this to the registry's operator",
        });
      }
      current = next.toString();
    }
  }
}

function retryDelay(failure: RegistryError, attempt: number): number {
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
