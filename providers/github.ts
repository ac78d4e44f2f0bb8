import semver from "semver";
import type { Fetch } from "../download/mod.ts";
import { errorMessage, VoxError } from "../errors/mod.ts";
import { parseTag, releaseBaseUrl } from "../policy/mod.ts";
import type { ReleaseProvider } from "./provider.ts";

export interface GithubOptions {
  repo: string;
  webBaseUrl: string;
  apiBaseUrl: string;
  /** The first of VOX_GITHUB_TOKEN, GH_TOKEN, GITHUB_TOKEN that is set, and its name (for messages). */
  token?: { name: string; value: string };
  fetch: Fetch;
  warn: (message: string) => void;
}

interface ApiRelease {
  tag_name: string;
  draft: boolean;
  prerelease: boolean;
  assets: Array<{ name: string; digest?: string | null }>;
}

/** Exit code of a GitHub rate limit, distinct from other failures so scripts can back off. */
export const RATE_LIMITED_EXIT_CODE = 4;

/**
 * GitHub Releases through octokit. "Latest" comes from the `releases/latest` redirect on the web host when it
 * can (no API quota spent); the API serves prerelease listings and asset digests.
 */
export function githubProvider(options: GithubOptions): ReleaseProvider {
  const base = releaseBaseUrl({ repo: options.repo, webBaseUrl: options.webBaseUrl });
  const [owner, repo] = options.repo.split("/") as [string, string];
  let token = options.token;
  const releasesByTag = new Map<string, Promise<ApiRelease>>();

  async function api<T>(route: string, params: Record<string, string | number>): Promise<T> {
    const { Octokit } = await import("@octokit/core");
    const client = new Octokit({ baseUrl: options.apiBaseUrl.replace(/\/+$/, ""), ...(token ? { auth: token.value } : {}), request: { fetch: options.fetch } });
    try {
      return (await client.request(route, { owner, repo, ...params })).data as T;
    } catch (error) {
      const status = (error as { status?: number }).status;
      const headers = ((error as { response?: { headers?: Record<string, string | undefined> } }).response?.headers ?? {}) as Record<string, string | undefined>;
      if (status === 401 && token) {
        options.warn(`warning: GitHub rejected the token from ${token.name} (401); continuing without it`);
        token = undefined;
        return api(route, params);
      }
      if ((status === 403 || status === 429) && (headers["x-ratelimit-remaining"] === "0" || headers["retry-after"])) {
        const reset = Number(headers["x-ratelimit-reset"]);
        const when = Number.isFinite(reset) ? new Date(reset * 1000).toISOString() : "later";
        throw new VoxError("E_RATE_LIMITED", `Cannot query GitHub releases of ${options.repo}: the API rate limit is exhausted until ${when}`, {
          hint: "Set VOX_GITHUB_TOKEN (or GH_TOKEN / GITHUB_TOKEN) for a higher limit, pass --version to skip the API, or retry after the reset.",
          exitCode: RATE_LIMITED_EXIT_CODE,
        });
      }
      if (status === 404) throw new VoxError("E_NO_RELEASE", `Cannot find ${route.includes("latest") ? "a latest release" : `release ${params.tag ?? ""}`} of ${options.repo} on ${options.apiBaseUrl}`, { hint: "Check --repo and --version." });
      throw new VoxError("E_GITHUB", `Cannot query GitHub releases of ${options.repo}: ${status ? `HTTP ${status}` : errorMessage(error)}`, { hint: "Check the network and --github-api-url; or use a mirror with --base-url.", cause: error });
    }
  }

  /** `GET <web>/<repo>/releases/latest` answers with a redirect to `…/releases/tag/<tag>`; no API call needed. */
  async function latestFromRedirect(): Promise<string | undefined> {
    try {
      const response = await options.fetch(`${base}/latest`, { method: "HEAD", redirect: "manual" });
      const tag = /\/releases\/tag\/([^/?#]+)$/.exec(response.headers.get("location") ?? "")?.[1];
      return tag ? parseTag(decodeURIComponent(tag)).tag : undefined;
    } catch {
      return undefined;
    }
  }

  function release(tag: string): Promise<ApiRelease> {
    let cached = releasesByTag.get(tag);
    if (!cached) {
      cached = api<ApiRelease>("GET /repos/{owner}/{repo}/releases/tags/{tag}", { tag });
      releasesByTag.set(tag, cached);
    }
    return cached;
  }

  return {
    kind: "github",
    baseUrl: base,
    async resolveTag({ version, allowPrerelease }) {
      if (version) return parseTag(version).tag;
      if (!allowPrerelease) {
        const redirected = await latestFromRedirect();
        if (redirected) return redirected;
        return parseTag((await api<ApiRelease>("GET /repos/{owner}/{repo}/releases/latest", {})).tag_name).tag;
      }
      const releases = await api<ApiRelease[]>("GET /repos/{owner}/{repo}/releases", { per_page: 50 });
      // Only tags of the policy's form (v<semver>) are releases of ours; anything else on the page is skipped.
      const candidates = releases.filter((r) => !r.draft).flatMap((r) => tryParseTag(r.tag_name) ?? []);
      const newest = candidates.sort((a, b) => semver.rcompare(a.version, b.version))[0];
      if (!newest) throw new VoxError("E_NO_RELEASE", `Cannot find any release of ${options.repo} tagged v<semver>`, { hint: "Check --repo." });
      return newest.tag;
    },
    assetUrl: (tag, basename) => `${base}/download/${encodeURIComponent(tag)}/${encodeURIComponent(basename)}`,
    downloadHeaders: () => ({}),
    async assetDigest(tag, basename) {
      // A cross-check on top of the signature, not a requirement: a pinned install must not need API quota.
      const found = await release(tag).catch((error: unknown) => {
        if (!(error instanceof VoxError) || error.code !== "E_RATE_LIMITED") throw error;
        options.warn(`warning: skipping GitHub's asset digest cross-check (${error.message}); the signed checksums are still verified`);
        return undefined;
      });
      const digest = found?.assets.find((a) => a.name === basename)?.digest ?? undefined;
      return digest?.startsWith("sha256:") ? digest.slice("sha256:".length) : undefined;
    },
    checksumsDigest: () => undefined,
  };
}

function tryParseTag(tag: string): ReturnType<typeof parseTag> | undefined {
  try {
    return parseTag(tag);
  } catch {
    return undefined;
  }
}
