import { Buffer } from "node:buffer";
import { type Fetch, redactUrl } from "../../download/mod.ts";
import { type Challenge, parseChallenges } from "./challenge.ts";
import type { Credential, Credentials } from "./credentials.ts";
import { RegistryError, registryErrorFromResponse } from "./errors.ts";

/** A token answer is small; a hostile token endpoint cannot make us buffer more than this. */
const MAX_TOKEN_BODY = 1 << 20;

export interface AuthSettings {
  fetch: Fetch;
  credentials: Credentials;
  userAgent: string;
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
    const response = credential && "identityToken" in credential ? await this.#refreshTokenRequest(realm, challenge, wanted, credential.identityToken) : await this.#tokenRequest(realm, challenge, wanted, credential);
    const what = `get a token for ${registry} from ${redactUrl(realm.toString())}`;
    if (!response.ok) throw await registryErrorFromResponse(response, { method: "GET", url: realm.toString(), what, host: registry });
    const text = await response.text();
    if (text.length > MAX_TOKEN_BODY) throw this.#refuse(registry, realm, "the token answer is too large");
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

  #tokenRequest(realm: URL, challenge: Challenge, scopes: readonly string[], credential: Credential | undefined): Promise<Response> {
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
    for (const scope of scopes) url.searchParams.append("scope", scope);
    const headers: Record<string, string> = { "user-agent": this.#settings.userAgent };
    if (credential && "username" in credential) {
      url.searchParams.set("account", credential.username);
      headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString("base64")}`;
    }
    return this.#settings.fetch(url.toString(), { method: "GET", headers });
  }

  /** An identity token is an OAuth2 refresh token: exchanged by POST, as `docker login` tokens are. */
  #refreshTokenRequest(realm: URL, challenge: Challenge, scopes: readonly string[], refreshToken: string): Promise<Response> {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: "vox", scope: scopes.join(" ") });
    if (challenge.params.service) form.set("service", challenge.params.service);
    return this.#settings.fetch(realm.toString(), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": this.#settings.userAgent },
      body: form.toString(),
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
