/** What a release source answers: which tag to install, and where each of its assets is. */
export interface ReleaseProvider {
  readonly kind: "github" | "http";
  /** Base of the download layout (`…/releases`), for messages and plans. */
  readonly baseUrl: string;
  /** An explicit tag is returned as is (after checking its form); otherwise the newest allowed release. */
  resolveTag(request: { version?: string; allowPrerelease: boolean }): Promise<string>;
  assetUrl(tag: string, basename: string): string;
  /** Request headers for asset downloads (a token, where the provider needs one). */
  downloadHeaders(): Record<string, string>;
  /** The provider's own record of an asset's sha256, when it keeps one (GitHub's `digest`), to cross-check. */
  assetDigest(tag: string, basename: string): Promise<string | undefined>;
  /** The sha256 of `checksums.txt` a signed mirror index recorded for `tag`, when the tag was chosen from one. */
  checksumsDigest(tag: string): string | undefined;
}
