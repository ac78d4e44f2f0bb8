import type { Env } from "../io/mod.ts";

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/**
 * The proxy for `url` from `HTTPS_PROXY`/`HTTP_PROXY` (either case) unless `NO_PROXY` matches its host:
 * `*`, an exact host, or a domain suffix (`.example.com` and `example.com` both match `a.example.com`); ports in
 * NO_PROXY entries are ignored, as curl does.
 *
 * @example
 * ```ts
 * proxyFor("https://github.com/x", mapEnv({ HTTPS_PROXY: "http://proxy:3128", NO_PROXY: "localhost" })); // "http://proxy:3128"
 * ```
 */
export function proxyFor(url: string, env: Env): string | undefined {
  const target = new URL(url);
  const proxy = target.protocol === "https:" ? (env.get("HTTPS_PROXY") ?? env.get("https_proxy")) : (env.get("HTTP_PROXY") ?? env.get("http_proxy"));
  if (!proxy) return undefined;
  const host = target.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const noProxy = (env.get("NO_PROXY") ?? env.get("no_proxy") ?? "").split(",").map((e) => e.trim().toLowerCase()).filter(Boolean);
  for (const entry of noProxy) {
    if (entry === "*") return undefined;
    const name = entry.replace(/:\d+$/, "").replace(/^\*?\./, "");
    if (host === name || host.endsWith(`.${name}`)) return undefined;
  }
  return proxy;
}

/**
 * `fetch` with the proxy and extra CA bundle applied. Bun's fetch takes both per request (`proxy`, `tls.ca`);
 * that is the one Bun-specific call here, and compiled vox always runs on Bun. Deno reads HTTPS_PROXY and
 * DENO_CERT itself; under Node, NODE_EXTRA_CA_CERTS covers the CA, and a proxy is refused rather than bypassed.
 */
export function createFetch(env: Env, options: { caBundle?: string } = {}): Fetch {
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  return async (url, init) => {
    const proxy = proxyFor(url, env);
    if (isBun) {
      const extra: Record<string, unknown> = {};
      if (proxy) extra.proxy = proxy;
      if (options.caBundle) {
        const { rootCertificates } = await import("node:tls");
        extra.tls = { ca: [...rootCertificates, options.caBundle] };
      }
      return fetch(url, { ...init, ...extra } as RequestInit);
    }
    if (proxy && typeof (globalThis as { Deno?: unknown }).Deno === "undefined") {
      throw new TypeError(`Cannot use proxy ${proxy} under this runtime; run the compiled vox (Bun) or Deno`);
    }
    return fetch(url, init);
  };
}
