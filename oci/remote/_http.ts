// Registry calls on the download engine's transport (download/exchange.ts): the same connect/idle/total limits,
// http(s)-only redirects, no downgrade and origin-bound credentials, reported as RegistryErrors.
import { type Answer, exchange as transportExchange, type HttpRequest as TransportRequest, isRedirect, redactUrl, type Timeouts } from "../../download/mod.ts";
import { RegistryError } from "./errors.ts";

export { type Answer, isRedirect, type Timeouts };

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 15_000, idleMs: 30_000, totalMs: 600_000 };

export type HttpRequest = Omit<TransportRequest, "failures">;

/** One registry or token request under the transport's limits; failures are RegistryErrors. */
export function exchange(fetch: Parameters<typeof transportExchange>[0], request: HttpRequest): Promise<Answer> {
  const url = redactUrl(request.url);
  return transportExchange(fetch, {
    ...request,
    failures: {
      timeout: (message, temporary) => new RegistryError("E_REGISTRY_TIMEOUT", message, { method: request.method, url, temporary, hint: "The server stopped answering; check the network and proxy, then try again" }),
      refusedRedirect: (message, status) => new RegistryError("E_REGISTRY_REDIRECT", message, { method: request.method, url, status, temporary: false, hint: "Refusing a downgrade to plain HTTP or a non-web URL; report this to the registry's operator" }),
      refusedScheme: (message) => new RegistryError("E_REGISTRY_REDIRECT", message, { method: request.method, url, temporary: false, hint: "Registries are reached over http(s) only" }),
    },
  });
}
