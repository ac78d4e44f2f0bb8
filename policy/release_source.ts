import type { Target } from "./targets.ts";

/** Where official releases live; every field is overridable for forks, GitHub Enterprise and mirrors. */
export const RELEASE_SOURCE = {
  repo: "vox-foundation/vox",
  webBaseUrl: "https://github.com",
  apiBaseUrl: "https://api.github.com",
  checksumsName: "checksums.txt",
  signatureName: "checksums.txt.minisig",
  /** Written by `vox mirror sync` so that static mirrors can answer "latest". */
  mirrorIndexName: "index.json",
} as const;

/** `vox-v1.2.3-x86_64-unknown-linux-gnu.tar.gz`: the only archive names there are (never `vox-latest-…`). */
export function assetName(packageName: string, tag: string, target: Target): string {
  return `${packageName}-${tag}-${target.triple}.${target.archive}`;
}

/** The executable inside an archive: the single entry at its root. */
export function executableName(packageName: string, target: Target): string {
  return `${packageName}${target.exeSuffix}`;
}

/** `<web>/<owner>/<repo>/releases`, or a mirror base such as `VOX_UPGRADE_BASE_URL`, without a trailing slash. */
export function releaseBaseUrl(options: { repo?: string; webBaseUrl?: string; mirrorBaseUrl?: string } = {}): string {
  if (options.mirrorBaseUrl) return options.mirrorBaseUrl.replace(/\/+$/, "");
  const web = (options.webBaseUrl ?? RELEASE_SOURCE.webBaseUrl).replace(/\/+$/, "");
  return `${web}/${options.repo ?? RELEASE_SOURCE.repo}/releases`;
}

/** `<base>/download/<tag>/<basename>`. */
export function taggedAssetUrl(base: string, tag: string, basename: string): string {
  return `${base}/download/${encodeURIComponent(tag)}/${encodeURIComponent(basename)}`;
}

/** `<base>/latest/download/<basename>`; the basename still carries the real tag. */
export function latestAssetUrl(base: string, basename: string): string {
  return `${base}/latest/download/${encodeURIComponent(basename)}`;
}

/** Splits a release asset basename into its parts; undefined for anything that is not one. */
export function parseAssetName(basename: string, targets: readonly Target[]): { packageName: string; tag: string; target: Target } | undefined {
  for (const target of targets) {
    const suffix = `-${target.triple}.${target.archive}`;
    if (!basename.endsWith(suffix)) continue;
    const match = /^(vox|vox-bootstrap)-(v[^/\\]+)$/.exec(basename.slice(0, -suffix.length));
    if (match) return { packageName: match[1]!, tag: match[2]!, target };
  }
  return undefined;
}
