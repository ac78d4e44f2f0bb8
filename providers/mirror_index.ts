import semver from "semver";
import { z } from "../errors/schema.ts";
import { VoxError } from "../errors/mod.ts";
import { type MinisignPublicKey, parseTrustedComment, verifyMinisign } from "../integrity/mod.ts";

/** `index.json` of a static mirror: what `vox mirror sync` wrote, signed, so that "latest" can be answered without an API. */
export const MirrorIndexSchema = z.object({
  schema: z.literal("vox.mirror-index/1"),
  /** Increases with every write; clients refuse an index older than one they accepted (anti-rollback). */
  serial: z.number().check(z.int(), z.positive()),
  /** ISO time after which the index must not be trusted (anti-freeze). */
  expires: z.iso.datetime(),
  /** The newest stable tag, for install scripts that cannot sort versions (vox itself re-derives it). */
  latest: z.nullable(z.string()),
  releases: z.array(
    z.object({
      tag: z.string().check(z.regex(/^v\d/)),
      version: z.string().check(z.refine((v) => semver.valid(v) === v, "must be a semantic version")),
      prerelease: z.boolean(),
      checksums_sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
    }),
  ),
});

export type MirrorIndex = z.infer<typeof MirrorIndexSchema>;

/** The trusted comment that binds an index signature to its serial. */
export function indexTrustedComment(index: MirrorIndex, timestamp: number): string {
  return `timestamp:${timestamp}\tfile:index.json\tkind:vox.mirror-index/1\tserial:${index.serial}`;
}

/**
 * How far ahead an index may say it stays fresh. `vox mirror sync` writes 30 days by default; an index claiming
 * more could be replayed, once captured, for that long on first contact (before any serial floor exists).
 */
export const MAX_INDEX_LIFETIME_DAYS = 90;

/**
 * Verifies and parses a mirror index: signature by a mirror key (never a release key's role), a trusted comment
 * naming exactly this file, kind and serial, a valid document whose tags and prerelease flags agree with their
 * versions, not expired at `now`, and not claiming freshness beyond MAX_INDEX_LIFETIME_DAYS.
 */
export function readMirrorIndex(text: Uint8Array, signature: string, options: { mirrorKeys: readonly MinisignPublicKey[]; now: Date; source: string }): MirrorIndex {
  const { trustedComment } = verifyMinisign(text, signature, options.mirrorKeys, `${options.source}.minisig`);
  const refuse = (why: string) => new VoxError("E_MIRROR_INDEX", `Cannot accept ${options.source}: ${why}`, { hint: "The index and its signature do not belong together, or the index is malformed; ask the mirror's operator to re-run 'vox mirror sync'." });
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder().decode(text));
  } catch {
    throw refuse("it is not JSON");
  }
  const parsed = MirrorIndexSchema.safeParse(document);
  if (!parsed.success) throw refuse(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  const index = parsed.data;
  const fields = parseTrustedComment(trustedComment);
  const expected: Record<string, string> = { file: "index.json", kind: "vox.mirror-index/1", serial: String(index.serial) };
  for (const [key, value] of Object.entries(expected)) {
    if (fields[key] !== value) throw refuse(`its signature is for ${key} '${fields[key] ?? "(none)"}', expected '${value}'`);
  }
  for (const release of index.releases) {
    if (release.tag !== `v${release.version}`) throw refuse(`release ${release.tag} lists version ${release.version}`);
    if (release.prerelease !== (semver.prerelease(release.version) !== null)) throw refuse(`release ${release.tag} is marked prerelease=${release.prerelease}, which its version contradicts`);
  }
  const lifetimeMs = Date.parse(index.expires) - options.now.getTime();
  if (lifetimeMs > MAX_INDEX_LIFETIME_DAYS * 86_400_000) {
    throw refuse(`it claims to stay fresh until ${index.expires}, more than ${MAX_INDEX_LIFETIME_DAYS} days ahead (an old index signed for a long life could be replayed)`);
  }
  if (lifetimeMs <= 0) {
    throw new VoxError("E_MIRROR_INDEX_EXPIRED", `Cannot trust ${options.source}: it expired at ${parsed.data.expires}`, {
      hint: "The mirror has not been refreshed; an old index could hide newer releases. Ask its operator to run 'vox mirror sync', or pass --version.",
    });
  }
  return index;
}

/** The newest release in an index, skipping prereleases (judged by the version itself) unless allowed. */
export function newestRelease(index: MirrorIndex, allowPrerelease: boolean): MirrorIndex["releases"][number] | undefined {
  return index.releases.filter((r) => allowPrerelease || semver.prerelease(r.version) === null).sort((a, b) => semver.rcompare(a.version, b.version))[0];
}
