// Where releases come from: GitHub Releases (octokit) or a static HTTP mirror, behind one interface.
// Owns tag resolution ("latest", prereleases), asset URLs, tokens, rate limits and signed mirror indexes.

import type { Fetch } from "../download/mod.ts";
import { usageError } from "../errors/mod.ts";
import type { MinisignPublicKey } from "../integrity/mod.ts";
import type { Clock, Env } from "../io/mod.ts";
import { GITHUB_TOKEN_VARS, RELEASE_SOURCE } from "../policy/mod.ts";
import { githubProvider } from "./github.ts";
import { httpProvider, type IndexGuard } from "./http.ts";
import type { ReleaseProvider } from "./provider.ts";

export { githubProvider, RATE_LIMITED_EXIT_CODE } from "./github.ts";
export { httpProvider, type IndexGuard } from "./http.ts";
export { indexTrustedComment, MAX_INDEX_LIFETIME_DAYS, type MirrorIndex, MirrorIndexSchema, newestRelease, readMirrorIndex } from "./mirror_index.ts";
export type { ReleaseProvider } from "./provider.ts";

/** Provider settings after flag > env > default resolution. */
export interface ProviderSettings {
  kind: "github" | "http";
  repo: string;
  /** Mirror base for `http`; GitHub web base for `github`. */
  baseUrl: string;
  apiBaseUrl: string;
}

/**
 * Resolves provider settings in one place: flag, then environment, then the policy's default. A mirror base URL
 * alone selects the http provider.
 */
export function resolveProviderSettings(flags: { provider?: string; repo?: string; baseUrl?: string; apiBaseUrl?: string }, env: Env): ProviderSettings {
  const mirror = flags.baseUrl ?? env.get("VOX_UPGRADE_BASE_URL");
  const kind = flags.provider ?? env.get("VOX_UPGRADE_PROVIDER") ?? (mirror ? "http" : "github");
  if (kind !== "github" && kind !== "http") throw usageError("E_PROVIDER", `Cannot use release provider '${kind}': expected github or http`);
  if (kind === "http" && !mirror) throw usageError("E_PROVIDER", "Cannot use the http provider without a base URL", "Pass --base-url https://<host>/<owner>/<repo>/releases or set VOX_UPGRADE_BASE_URL.");
  const repo = flags.repo ?? env.get("VOX_UPGRADE_REPO") ?? RELEASE_SOURCE.repo;
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw usageError("E_REPO", `Cannot use repository '${repo}': expected owner/repo`);
  return {
    kind,
    repo,
    baseUrl: kind === "http" ? mirror! : (flags.baseUrl ?? RELEASE_SOURCE.webBaseUrl),
    apiBaseUrl: flags.apiBaseUrl ?? env.get("VOX_UPGRADE_GITHUB_API_URL") ?? RELEASE_SOURCE.apiBaseUrl,
  };
}

/** The first GitHub token variable that is set. */
export function githubToken(env: Env): { name: string; value: string } | undefined {
  for (const name of GITHUB_TOKEN_VARS) {
    const value = env.get(name);
    if (value) return { name, value };
  }
  return undefined;
}

export function createProvider(settings: ProviderSettings, deps: { fetch: Fetch; sleep: (ms: number) => Promise<void>; env: Env; clock: Clock; mirrorKeys: readonly MinisignPublicKey[]; warn: (message: string) => void; indexGuard?: IndexGuard }): ReleaseProvider {
  if (settings.kind === "http") return httpProvider(settings.baseUrl, deps);
  return githubProvider({ repo: settings.repo, webBaseUrl: settings.baseUrl, apiBaseUrl: settings.apiBaseUrl, token: githubToken(deps.env), fetch: deps.fetch, warn: deps.warn });
}
