import semver from "semver";
import { z } from "zod";
import { VoxError } from "../errors/mod.ts";
import { type MinisignPublicKey, verifyMinisign } from "../integrity/mod.ts";

/** `index.json` of a static mirror: what `vox mirror sync` wrote, signed, so that "latest" can be answered without an API. */
export const MirrorIndexSchema = z.object({
  schema: z.literal("vox.mirror-index/1"),
  /** Increases with every write; clients refuse an index older than one they accepted (anti-rollback). */
  serial: z.number().int().positive(),
  /** ISO time after which the index must not be trusted (anti-freeze). */
  expires: z.iso.datetime(),
  /** The newest stable tag, for install scripts that cannot sort versions (vox itself re-derives it). */
  latest: z.string().nullable(),
  releases: z.array(
    z.object({
      tag: z.string().regex(/^v\d/),
      version: z.string().refine((v) => semver.valid(v) === v, "must be a semantic version"),
      prerelease: z.boolean(),
      checksums_sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});

export type MirrorIndex = z.infer<typeof MirrorIndexSchema>;

/** The trusted comment that binds an index signature to its serial. */
export function indexTrustedComment(index: MirrorIndex, timestamp: number): string {
  return `timestamp:${timestamp}\tfile:index.json\tkind:vox.mirror-index/1\tserial:${index.serial}`;
}

/**
 * Verifies and parses a mirror index: signature by a trusted key, a trusted comment naming the same serial,
 * a valid document, and not expired at `now`.
 */
export function readMirrorIndex(text: Uint8Array, signature: string, options: { trustedKeys: readonly MinisignPublicKey[]; now: Date; source: string }): MirrorIndex {
  const { trustedComment } = verifyMinisign(text, signature, options.trustedKeys, `${options.source}.minisig`);
  const parsed = MirrorIndexSchema.safeParse(JSON.parse(new TextDecoder().decode(text)));
  if (!parsed.success) {
    throw new VoxError("E_MIRROR_INDEX", `Cannot read ${options.source}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`, { hint: "Re-run 'vox mirror sync' on the mirror." });
  }
  if (!trustedComment.split("\t").includes(`serial:${parsed.data.serial}`)) {
    throw new VoxError("E_MIRROR_INDEX", `Cannot accept ${options.source}: its signature is for another serial than ${parsed.data.serial}`, { hint: "The index and its signature do not belong together; re-run 'vox mirror sync'." });
  }
  if (Date.parse(parsed.data.expires) <= options.now.getTime()) {
    throw new VoxError("E_MIRROR_INDEX_EXPIRED", `Cannot trust ${options.source}: it expired at ${parsed.data.expires}`, {
      hint: "The mirror has not been refreshed; an old index could hide newer releases. Ask its operator to run 'vox mirror sync', or pass --version.",
    });
  }
  return parsed.data;
}

/** The newest release in an index, skipping prereleases unless allowed. */
export function newestRelease(index: MirrorIndex, allowPrerelease: boolean): MirrorIndex["releases"][number] | undefined {
  return index.releases.filter((r) => allowPrerelease || !r.prerelease).sort((a, b) => semver.rcompare(a.version, b.version))[0];
}
