// A loopback stand-in for GitHub (which no machine here can reach), following its documented shapes: the web
// host's releases/latest redirect and download URLs (302 to a second, asset host), and the REST API's releases
// endpoints with assets (including `digest`), 401 for bad credentials and 403 rate limits with x-ratelimit-*.
import { createHash } from "node:crypto";
import { createReadStream, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export interface StandInRelease {
  tag: string;
  dir: string;
  prerelease?: boolean;
  /** Override an asset's API digest (to test the cross-check). */
  digests?: Record<string, string>;
}

export interface GithubStandIn {
  webUrl: string;
  apiUrl: string;
  /** Every request to the API host, for asserting what was (not) called. */
  apiRequests: IncomingMessage[];
  /** When set, API calls answer 403 with the rate-limit headers. */
  rateLimited: boolean;
  stop(): Promise<void>;
}

const OWNER_REPO = "vox-foundation/vox";

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

export async function startGithubStandIn(releases: StandInRelease[], options: { validToken?: string; latest?: string } = {}): Promise<GithubStandIn> {
  const apiRequests: IncomingMessage[] = [];
  const state = { rateLimited: false };
  const assetHost = createServer((req, res) => {
    const match = /^\/objects\/([^/]+)\/([^/?]+)/.exec(req.url ?? "");
    const release = releases.find((r) => r.tag === decodeURIComponent(match?.[1] ?? ""));
    const file = release && join(release.dir, decodeURIComponent(match![2]!));
    if (!file || !readdirSync(release.dir).includes(decodeURIComponent(match![2]!))) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": statSync(file).size });
    createReadStream(file).pipe(res);
  });
  const assetUrl = await listen(assetHost);
  let webUrl = "";
  const releaseJson = (release: StandInRelease, id: number) => ({
    url: `${webUrl}/api/repos/${OWNER_REPO}/releases/${id}`,
    html_url: `${webUrl}/${OWNER_REPO}/releases/tag/${release.tag}`,
    id,
    tag_name: release.tag,
    target_commitish: "main",
    name: release.tag,
    draft: false,
    prerelease: release.prerelease ?? false,
    created_at: "2026-11-01T00:00:00Z",
    published_at: "2026-11-01T00:00:00Z",
    assets: readdirSync(release.dir).map((name, i) => ({
      url: `${webUrl}/api/repos/${OWNER_REPO}/releases/assets/${id * 100 + i}`,
      id: id * 100 + i,
      name,
      label: "",
      content_type: name.endsWith(".zip") ? "application/zip" : "application/octet-stream",
      state: "uploaded",
      size: statSync(join(release.dir, name)).size,
      digest: release.digests?.[name] ?? `sha256:${createHash("sha256").update(readFileSync(join(release.dir, name))).digest("hex")}`,
      download_count: 0,
      created_at: "2026-11-01T00:00:00Z",
      updated_at: "2026-11-01T00:00:00Z",
      browser_download_url: `${webUrl}/${OWNER_REPO}/releases/download/${release.tag}/${name}`,
    })),
    tarball_url: `${webUrl}/api/repos/${OWNER_REPO}/tarball/${release.tag}`,
    zipball_url: `${webUrl}/api/repos/${OWNER_REPO}/zipball/${release.tag}`,
    body: "",
  });
  const latest = options.latest ?? releases.filter((r) => !r.prerelease).at(-1)?.tag;
  const web = createServer((req, res) => {
    const url = new URL(req.url ?? "/", webUrl);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", "x-github-api-version-selected": "2022-11-28", ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname.startsWith("/api/")) {
      apiRequests.push(req);
      const auth = req.headers.authorization;
      if (auth && auth !== `token ${options.validToken}` && auth !== `bearer ${options.validToken}` && auth !== `Bearer ${options.validToken}`) {
        return json(401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" });
      }
      if (state.rateLimited) {
        const reset = String(Math.floor(Date.UTC(2030, 0, 1) / 1000));
        return json(403, { message: "API rate limit exceeded for 127.0.0.1.", documentation_url: "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting" }, { "x-ratelimit-limit": "60", "x-ratelimit-remaining": "0", "x-ratelimit-used": "60", "x-ratelimit-reset": reset, "x-ratelimit-resource": "core" });
      }
      const api = url.pathname.slice("/api".length);
      const base = `/repos/${OWNER_REPO}/releases`;
      if (api === base) return json(200, releases.map((r, i) => releaseJson(r, i + 1)).reverse());
      if (api === `${base}/latest`) {
        const index = releases.findIndex((r) => r.tag === latest);
        return index < 0 ? json(404, { message: "Not Found" }) : json(200, releaseJson(releases[index]!, index + 1));
      }
      const tag = api.startsWith(`${base}/tags/`) ? decodeURIComponent(api.slice(`${base}/tags/`.length)) : undefined;
      const index = releases.findIndex((r) => r.tag === tag);
      return index < 0 ? json(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest/releases/releases#get-a-release-by-tag-name" }) : json(200, releaseJson(releases[index]!, index + 1));
    }
    if (url.pathname === `/${OWNER_REPO}/releases/latest`) {
      res.writeHead(latest ? 302 : 404, latest ? { location: `${webUrl}/${OWNER_REPO}/releases/tag/${latest}` } : {});
      return void res.end();
    }
    const download = new RegExp(`^/${OWNER_REPO}/releases/download/([^/]+)/([^/]+)$`).exec(url.pathname);
    if (download) {
      res.writeHead(302, { location: `${assetUrl}/objects/${download[1]}/${download[2]}?X-Amz-Signature=secret` });
      return void res.end();
    }
    res.writeHead(404).end();
  });
  webUrl = await listen(web);
  return {
    webUrl,
    apiUrl: `${webUrl}/api`,
    apiRequests,
    get rateLimited() {
      return state.rateLimited;
    },
    set rateLimited(value: boolean) {
      state.rateLimited = value;
    },
    stop: async () => {
      for (const server of [web, assetHost]) {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    },
  };
}
