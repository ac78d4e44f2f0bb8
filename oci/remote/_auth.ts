import { Buffer } from "node:buffer";
import { type Fetch, redactUrl } from "../../download/mod.ts";
import { readLimited } from "./_body.ts";
import { type Answer, exchange, isRedirect, type Timeouts } from "./_http.ts";
import { type Challenge, parseChallenges } from "./challenge.ts";
import type { Credential, Credentials } from "./credentials.ts";
import { RegistryError, registryErrorFromResponse } from "./errors.ts";

/** A token answer is small; a hostile token endpoint cannot make us buffer more than this. */
const MAX_TOKEN_BODY = 1 << 20;

export interface AuthSettings {
  fetch: Fetch;
  credentials: Credentials;
  userAgent: string;
  timeouts: Timeouts;
  /** Whether the registry host may be spoken to over plain HTTP (then so may a token realm on the same host). */
  isInsecure(registry: string): boolean;
}

/**
 * Answers 401 challenges and remembers the result: bearer tokens per registry and scope set, basic auth per
 * registry. A cached token that stops working (expiry) just earns another 401 and a fresh token.
 */
export class Authenticator {
  readonly #settings: AuthSettings;
  readonly #tokens = new Map<string, string>();
  readonly #basic = new Map<string, string>();
  readonly #pending = new Map<string, Promise<string | undefined>>();
  /** Every scope list a token was asked for, in order: what the client requested, for diagnostics and tests. */
  readonly requestedScopes: string[][] = [];

  constructor(settings: AuthSettings) {
    this.#settings = settings;
  }

  /** The Authorization header to send up front, if an earlier challenge taught us one. */
  header(registry: string, scopes: readonly string[]): string | undefined {
    return this.#tokens.get(tokenKey(registry, scopes)) ?? this.#basic.get(registry);
  }

  /**
   * The Authorization header that answers `wwwAuthenticate`, or undefined when there is nothing to answer
   * with (a Basic challenge without credentials, or a scheme we do not speak): the 401 then stands. `sent` is
   * the header the refused request carried: parallel requests that all hit a 401 share one token request.
   */
  async authorize(registry: string, scopes: readonly string[], wwwAuthenticate: string | null, sent: string | undefined): Promise<string | undefined> {
    const key = tokenKey(registry, scopes);
    const pending = this.#pending.get(key);
    if (pending) return pending;
    const cached = this.#tokens.get(key);
    if (cached !== undefined && cached !== sent) return cached;
    const answer = this.#answer(registry, scopes, wwwAuthenticate).finally(() => this.#pending.delete(key));
    this.#pending.set(key, answer);
    return answer;
  }

  async #answer(registry: string, scopes: readonly string[], wwwAuthenticate: string | null): Promise<string | undefined> {
    const challenges = parseChallenges(wwwAuthenticate ?? "");
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    const credential = await this.#settings.credentials.resolve(registry);
    if (bearer) {
      const header = `Bearer ${await this.#fetchToken(registry, bearer, scopes, credential)}`;
      this.#tokens.set(tokenKey(registry, scopes), header);
      return header;
    }
    if (challenges.some((c) => c.scheme === "basic") && credential && "username" in credential) {
      const header = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString("base64")}`;
      this.#basic.set(registry, header);
      return header;
    }
    return undefined;
  }

  async #fetchToken(registry: string, challenge: Challenge, scopes: readonly string[], credential: Credential | undefined): Promise<string> {
    const realm = new URL(challenge.params.realm!);
    if (realm.protocol !== "https:" && realm.protocol !== "http:") throw this.#refuse(registry, realm, "its token realm is not an http(s) URL");
    // Credentials go to a plain-HTTP realm only when the registry itself was declared plain HTTP on that host.
    if (realm.protocol === "http:" && credential && !(this.#settings.isInsecure(registry) && sameHostname(realm.host, registry))) {
      throw this.#refuse(registry, realm, "its token realm is plain HTTP on another host, and vox does not send passwords in clear text");
    }
    // The challenge may name scopes we did not think of (or fewer); ask for both.
    const wanted = [...new Set([...scopes, ...(challenge.params.scope?.split(" ").filter(Boolean) ?? [])])];
    this.requestedScopes.push(wanted);
    const what = `get a token for ${registry} from ${redactUrl(realm.toString())}`;
    const request = { deadline: Date.now() + this.#settings.timeouts.totalMs, what };
    const refresh = credential && "identityToken" in credential ? credential.identityToken : undefined;
    const answer = refresh !== undefined ? await this.#refreshTokenRequest(realm, challenge, wanted, refresh, request) : await this.#tokenRequest(realm, challenge, wanted, credential, request);
    if (isRedirect(answer.status)) {
      void answer.body?.cancel().catch(() => {});
      throw this.#refuse(registry, realm, `its token service redirected the request to ${redactUrl(answer.headers.get("location") ?? "(nowhere)")}; vox follows no redirect with a refresh token, nor more than 5`);
    }
    if (answer.status < 200 || answer.status > 299) throw await registryErrorFromResponse(answer, { method: refresh !== undefined ? "POST" : "GET", url: realm.toString(), what, host: registry });
    // Streamed and capped: an endless answer costs us 1 MiB, not memory without bound.
    const { bytes, overflow } = await readLimited(answer, MAX_TOKEN_BODY);
    if (overflow) throw this.#refuse(registry, realm, `the token answer is larger than ${MAX_TOKEN_BODY >> 20} MiB`);
    const text = new TextDecoder().decode(bytes);
    let body: { token?: unknown; access_token?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw this.#refuse(registry, realm, "the token answer is not JSON");
    }
    // Docker's token spec says `token`; OAuth2 servers answer `access_token`; both are accepted.
    const token = typeof body.token === "string" && body.token ? body.token : typeof body.access_token === "string" ? body.access_token : "";
    if (!token || /[\s\r\n]/.test(token)) throw this.#refuse(registry, realm, "the token answer has no usable token");
    return token;
  }

  /** GET with basic auth; redirects are followed, the password only ever sent to the realm's own origin. */
  #tokenRequest(realm: URL, challenge: Challenge, scopes: readonly string[], credential: Credential | undefined, request: { deadline: number; what: string }): Promise<Answer> {
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
    for (const scope of scopes) url.searchParams.append("scope", scope);
    let authorization: { origin: string; header: string } | undefined;
    if (credential && "username" in credential) {
      url.searchParams.set("account", credential.username);
      authorization = { origin: realm.origin, header: `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString("base64")}` };
    }
    return exchange(this.#settings.fetch, {
      ...request,
      method: "GET",
      url: url.toString(),
      headers: { "user-agent": this.#settings.userAgent },
      ...(authorization ? { authorization } : {}),
      follow: true,
      timeouts: this.#settings.timeouts,
    });
  }

  /**
   * An identity token is an OAuth2 refresh token: exchanged by POST, as `docker login` tokens are. The token is in
   * the body, which a followed redirect would send on wherever it points: a redirect is refused instead.
   */
  #refreshTokenRequest(realm: URL, challenge: Challenge, scopes: readonly string[], refreshToken: string, request: { deadline: number; what: string }): Promise<Answer> {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: "vox", scope: scopes.join(" ") });
    if (challenge.params.service) form.set("service", challenge.params.service);
    return exchange(this.#settings.fetch, {
      ...request,
      method: "POST",
      url: realm.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": this.#settings.userAgent },
      body: form.toString(),
      follow: false,
      timeouts: this.#settings.timeouts,
    });
  }

  #refuse(registry: string, realm: URL, why: string): RegistryError {
    return new RegistryError("E_REGISTRY_AUTH", `Cannot authenticate to ${registry}: ${why}`, {
      method: "GET",
      url: redactUrl(realm.toString()),
      temporary: false,
      hint: "Check the registry address; if it is right, its token service is misconfigured",
    });
  }
}

function tokenKey(registry: string, scopes: readonly string[]): string {
  return `${registry} ${[...scopes].sort().join(" ")}`;
}

function sameHostname(realmHost: string, registry: string): boolean {
  const name = (host: string) => host.replace(/:\d+$/, "").toLowerCase();
  return name(realmHost) === name(registry);
}
