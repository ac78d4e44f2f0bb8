import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DownloadDeps, downloadToFile } from "../download/mod.ts";
import { VoxError } from "../errors/mod.ts";
import type { MinisignPublicKey } from "../integrity/mod.ts";
import type { Clock } from "../io/mod.ts";
import { parseTag, RELEASE_SOURCE } from "../policy/mod.ts";
import { type MirrorIndex, newestRelease, readMirrorIndex } from "./mirror_index.ts";
import type { ReleaseProvider } from "./provider.ts";

const INDEX_MAX_BYTES = 4 << 20;

/** A static mirror in GitHub's download layout (`VOX_UPGRADE_BASE_URL`): explicit versions, or "latest" from its signed index. */
/** Called with every verified index before it is used; may refuse it (anti-rollback: a serial lower than one seen). */
export type IndexGuard = (index: MirrorIndex, source: string) => Promise<void>;

export function httpProvider(baseUrl: string, deps: DownloadDeps & { mirrorKeys: readonly MinisignPublicKey[]; clock: Clock; indexGuard?: IndexGuard }): ReleaseProvider {
  const base = baseUrl.replace(/\/+$/, "");
  /** The verified index "latest" came from, if it did: its checksums digests are cross-checked on download. */
  let index: MirrorIndex | undefined;
  return {
    kind: "http",
    baseUrl: base,
    async resolveTag({ version, allowPrerelease }) {
      if (version) return parseTag(version).tag;
      const dir = await mkdtemp(join(tmpdir(), "vox-index-"));
      try {
        const names = [RELEASE_SOURCE.mirrorIndexName, `${RELEASE_SOURCE.mirrorIndexName}.minisig`];
        for (const name of names) {
          await downloadToFile(`${base}/${name}`, join(dir, name), { maxBytes: INDEX_MAX_BYTES, retries: 2 }, deps).catch((error: { status?: number }) => {
            if (error.status === 404) {
              throw new VoxError("E_MIRROR_NO_INDEX", `Cannot tell the latest release of the mirror ${base}: it has no signed ${name}`, {
                hint: "A static mirror has no listing API: pass --version v<semver> (or VOX_VERSION / VOX_UPGRADE_VERSION), or have its operator run 'vox mirror sync'.",
              });
            }
            throw error;
          });
        }
        const verified = readMirrorIndex(await readFile(join(dir, names[0]!)), await readFile(join(dir, names[1]!), "utf8"), { mirrorKeys: deps.mirrorKeys, now: deps.clock.now(), source: `${base}/${names[0]}` });
        await deps.indexGuard?.(verified, `${base}/${names[0]}`);
        index = verified;
        const newest = newestRelease(verified, allowPrerelease);
        if (!newest) throw new VoxError("E_NO_RELEASE", `Cannot find a ${allowPrerelease ? "" : "stable "}release in the index of ${base}`, { hint: "Pass --version, or allow prereleases." });
        return newest.tag;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    assetUrl: (tag, basename) => `${base}/download/${encodeURIComponent(tag)}/${encodeURIComponent(basename)}`,
    downloadHeaders: () => ({}),
    assetDigest: async () => undefined,
    checksumsDigest: (tag) => index?.releases.find((r) => r.tag === tag)?.checksums_sha256,
  };
}
