import { parseRetryAfter, redactUrl } from "../../download/mod.ts";
import { errorMessage, VoxError } from "../../errors/mod.ts";
import { readLimited } from "./_body.ts";

/** What a registry failure carries besides its message: enough to branch on, nothing secret. */
export interface RegistryErrorDetails {
  method: string;
  /** Redacted: no userinfo, no query (upload locations carry state tokens there). */
  url: string;
  status?: number;
  /** The first `errors[].code` of the distribution error body, e.g. `MANIFEST_UNKNOWN`. */
  serverCode?: string;
  /** True when trying again can help (429, 5xx, network); the only thing retries look at. */
  temporary: boolean;
  /** Seconds the server asked us to wait (Retry-After). */
  retryAfterSeconds?: number;
  hint?: string;
  cause?: unknown;
}

/**
 * A failed registry request: status, method, redacted URL, the server's error code and whether it is temporary.
 *
 * @example
 * ```ts
 * const err = new RegistryError("E_REGISTRY_AUTH", "Cannot push to r.example/app: 401", { method: "PUT", url: "https://r.example/v2/app/manifests/1", status: 401, temporary: false });
 * err.temporary; // false
 * ```
 */
export class RegistryError extends VoxError {
  readonly method: string;
  readonly url: string;
  readonly status: number | undefined;
  readonly serverCode: string | undefined;
  readonly temporary: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: string, message: string, details: RegistryErrorDetails) {
    super(code, message, { hint: details.hint, cause: details.cause });
    this.name = "RegistryError";
    this.method = details.method;
    this.url = details.url;
    this.status = details.status;
    this.serverCode = details.serverCode;
    this.temporary = details.temporary;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/** Statuses worth another try: the server is busy, restarting or behind a flaky proxy. */
const TEMPORARY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** Error bodies are read for their code only; a hostile server cannot make us buffer more. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * Turns a non-success response into a RegistryError, reading the distribution error body
 * (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…"}]}`) when there is one.
 *
 * @example
 * ```ts
 * const err = await registryErrorFromResponse(new Response('{"errors":[{"code":"NAME_UNKNOWN"}]}', { status: 404 }), { method: "GET", url, what: "read manifest r.example/app:1", host: "r.example" });
 * err.serverCode; // "NAME_UNKNOWN"
 * ```
 */
export async function registryErrorFromResponse(response: { status: number; headers: Headers; body: ReadableStream<Uint8Array> | null }, request: { method: string; url: string; what: string; host: string }): Promise<RegistryError> {
  const { status } = response;
  const body = await readErrorBody(response);
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  const detail = body.message ? `: ${body.message}` : "";
  const code = status === 401 || status === 403 ? "E_REGISTRY_AUTH" : status === 404 ? "E_REGISTRY_NOT_FOUND" : "E_REGISTRY_STATUS";
  return new RegistryError(code, `Cannot ${request.what}: the registry answered ${status}${body.code ? ` ${body.code}` : ""}${detail}`, {
    method: request.method,
    url: redactUrl(request.url),
    status,
    temporary: TEMPORARY_STATUS.has(status),
    ...(body.code === undefined ? {} : { serverCode: body.code }),
    ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    hint: hintFor(status, body.text, request.host),
  });
}

/** Certificate and protocol failures are permanent: retrying cannot make plain HTTP speak TLS. */
const TLS_MISMATCH = /WRONG_VERSION_NUMBER|EPROTO|wrong version number|packet length too long/i;
const CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/;

/**
 * Turns a thrown fetch failure into a RegistryError: TLS mismatches and untrusted certificates are permanent, any
 * other network failure is temporary.
 *
 * @example
 * ```ts
 * networkError(new TypeError("fetch failed", { cause: { code: "ECONNRESET" } }), { method: "GET", url, what: "read blob", host }).temporary; // true
 * ```
 */
export function networkError(error: unknown, request: { method: string; url: string; what: string; host: string }): RegistryError {
  if (error instanceof RegistryError) return error;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = String((error as { code?: unknown }).code ?? cause?.code ?? "");
  const text = `${code} ${errorMessage(error)} ${cause?.message ?? ""}`;
  const base = { method: request.method, url: redactUrl(request.url), cause: error };
  if (TLS_MISMATCH.test(text)) {
    return new RegistryError("E_REGISTRY_TLS", `Cannot ${request.what}: ${request.host} does not speak TLS (${code || errorMessage(error)})`, {
      ...base,
      temporary: false,
      hint: `Use --insecure ${request.host} for a plain-HTTP registry`,
    });
  }
  if (CERTIFICATE.test(code)) {
    return new RegistryError("E_REGISTRY_TLS", `Cannot ${request.what}: the certificate of ${request.host} is not trusted (${code})`, {
      ...base,
      temporary: false,
      hint: "For a registry with a private CA, set VOX_CA_BUNDLE to its PEM file",
    });
  }
  return new RegistryError("E_REGISTRY_NETWORK", `Cannot ${request.what}: ${errorMessage(error)}${cause?.code ? ` (${String(cause.code)})` : ""}`, {
    ...base,
    temporary: true,
    hint: `Check that ${request.host} is reachable (network, proxy, port), then try again`,
  });
}

function hintFor(status: number, body: string, host: string): string | undefined {
  if (status === 401 || status === 403) return `Log in with \`docker login ${host}\` (vox reads Docker's config.json and credential helpers), and check that the account may access this repository`;
  // Go's TLS server answers plain HTTP with this exact 400.
  if (status === 400 && /HTTP request to an HTTPS server/i.test(body)) return `${host} speaks HTTPS; drop --insecure ${host}`;
  if (status === 404) return "Check the registry, repository and tag or digest";
  if (status === 429) return "The registry is rate limiting; wait and try again";
  if (status >= 500) return "The registry failed; try again later";
  return undefined;
}

async function readErrorBody(response: { body: ReadableStream<Uint8Array> | null }): Promise<{ text: string; code?: string; message?: string }> {
  let text = "";
  try {
    text = new TextDecoder().decode((await readLimited(response, MAX_ERROR_BODY)).bytes);
  } catch {
    return { text };
  }
  try {
    const first = (JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] }).errors?.[0];
    return {
      text,
      ...(typeof first?.code === "string" ? { code: first.code } : {}),
      ...(typeof first?.message === "string" ? { message: first.message.slice(0, 300) } : {}),
    };
  } catch {
    return { text };
  }
}
