import { z } from "zod";
import { VoxError } from "../errors/mod.ts";
import { canonicalJson, isDigest, sha256Digest } from "../oci/mod.ts";

/** One line of the release log: the tuple `(image_digest, manifest_content_hash)` plus metadata, hash-chained. */
export interface ReleaseRecord {
  /** The record format; records written before it existed have none, and verify as they were written. */
  schema?: typeof RECORD_SCHEMA;
  /** 1 for the first record, then one more per line: a gap or a repeat means a record was removed or moved. */
  seq: number;
  /** The image index (or single-platform manifest) digest. */
  image_digest: string;
  /** `sha256:` of the normalized manifest's canonical bytes (stored under `manifests/sha256/<hex>.json`). */
  manifest_content_hash: string;
  /** `repository@sha256:…`: where the image is fetched, never by tag. */
  image: string;
  /** RFC 3339 time the record was made. */
  created: string;
  tool_version: string;
  /** The git commit of the project when released (the rolled-back record's for a rollback), or null outside git. */
  source_revision: string | null;
  /** The seq whose tuple a rollback record re-releases; null for a release. */
  rollback_of: number | null;
  /** The hash of the record before this one; null for the first. */
  previous_hash: string | null;
  /** `sha256:` over the canonical JSON of every other field. */
  hash: string;
}

/** Every record written now names its format (README: machine-readable output). */
export const RECORD_SCHEMA = "vox.release-record/1" as const;

/** What a new record says; schema, seq, previous_hash and hash come from the log it is appended to. */
export type ReleaseFields = Omit<ReleaseRecord, "schema" | "seq" | "previous_hash" | "hash">;

/** The last record a log has acknowledged (written beside the log after each append): truncation below it is detected. */
export interface LogHead {
  seq: number;
  hash: string | null;
}

/** One thing wrong with a log, naming the line (1-based) and the record it concerns. */
export interface ChainProblem {
  line: number;
  seq: number | undefined;
  /** `torn`: the last line was cut short mid-write, which `repairTornTail` may remove; `broken`: anything else. */
  kind: "torn" | "broken";
  message: string;
}

const digest = z.string().refine(isDigest, "must be sha256:<64 lowercase hex>");
const RecordSchema = z.strictObject({
  schema: z.literal(RECORD_SCHEMA).optional(),
  seq: z.int().positive(),
  image_digest: digest,
  manifest_content_hash: digest,
  image: z.string().regex(/^[^\s@]+@sha256:[0-9a-f]{64}$/, "must be repository@sha256:<hex>"),
  created: z.string().min(1),
  tool_version: z.string().min(1),
  source_revision: z.string().min(1).nullable(),
  rollback_of: z.int().positive().nullable(),
  previous_hash: digest.nullable(),
  hash: digest,
});

/**
 * `sha256:` over the canonical JSON of a record without its `hash` (keys sorted, no whitespace), so the hash does
 * not depend on how the line was formatted, and any change of a value changes it.
 *
 * @example
 * ```ts
 * recordHash({ seq: 1, image_digest: "sha256:…", …, previous_hash: null }); // "sha256:…"
 * ```
 */
export function recordHash(record: Omit<ReleaseRecord, "hash">): string {
  const { hash: _ignored, ...rest } = record as ReleaseRecord;
  return sha256Digest(canonicalJson(rest));
}

/**
 * The record that follows `previous` (or starts a log when undefined): next seq, chained to its hash, sealed.
 *
 * @example
 * ```ts
 * const first = sealRecord(fields, undefined); // seq 1, previous_hash null
 * const second = sealRecord(fields, first); // seq 2, previous_hash first.hash
 * ```
 */
export function sealRecord(fields: ReleaseFields, previous: ReleaseRecord | undefined): ReleaseRecord {
  const unsealed = { schema: RECORD_SCHEMA, seq: (previous?.seq ?? 0) + 1, ...fields, previous_hash: previous?.hash ?? null };
  return { ...unsealed, hash: recordHash(unsealed) };
}

/**
 * The line a record is stored as: its fields in declaration order (seq first, hash last), one line, newline-ended.
 *
 * @example
 * ```ts
 * recordLine(sealRecord(fields, undefined)); // '{"seq":1,"image_digest":"sha256:…",…,"hash":"sha256:…"}\n'
 * ```
 */
export function recordLine(record: ReleaseRecord): string {
  const { schema, seq, image_digest, manifest_content_hash, image, created, tool_version, source_revision, rollback_of, previous_hash, hash } = record;
  return `${JSON.stringify({ schema, seq, image_digest, manifest_content_hash, image, created, tool_version, source_revision, rollback_of, previous_hash, hash })}\n`;
}

/**
 * Checks a whole log: each line a well-formed record whose hash matches its content, seq 1, 2, 3… in order, each
 * chained to the hash of the one before, rollbacks pointing back at an earlier record with the same tuple, a last
 * line ending in a newline (else it is torn), and the head's record present with the head's hash (else records
 * were cut off the end). Pure: the caller reads the files. Records are returned even when problems are found.
 *
 * @example
 * ```ts
 * verifyChain(text, { seq: 5, hash: "sha256:…" }).problems; // [] for an intact log of 5
 * ```
 */
export function verifyChain(text: string, head: LogHead | undefined): { records: ReleaseRecord[]; problems: ChainProblem[] } {
  const problems: ChainProblem[] = [];
  const records: ReleaseRecord[] = [];
  const lines = text.split("\n");
  const torn = lines.at(-1) !== "";
  if (!torn) lines.pop();
  // `previous`: the record on the line just before, when that line could be read; `lastSeq`: the last seq read.
  let previous: ReleaseRecord | undefined;
  let lastSeq = 0;
  lines.forEach((line, index) => {
    const at = index + 1;
    const problem = (seq: number | undefined, message: string, kind: ChainProblem["kind"] = "broken") => problems.push({ line: at, seq, kind, message });
    if (torn && at === lines.length) {
      problem(undefined, `line ${at} is cut short (no newline at its end): a write was interrupted, or the log was truncated`, "torn");
      return;
    }
    const record = parseRecord(line);
    if (typeof record === "string") {
      problem(undefined, `line ${at} is not a release record: ${record}`);
      previous = undefined;
      return;
    }
    const name = `record ${record.seq} (line ${at})`;
    const expected = lastSeq + 1;
    const actual = recordHash(record);
    if (actual !== record.hash) problem(record.seq, `${name} was edited: its content hashes to ${actual}, not to its recorded hash ${record.hash}`);
    if (record.seq > expected) {
      const gap = record.seq - expected > 1 ? `records ${expected}..${record.seq - 1} were` : `record ${expected} was`;
      problem(record.seq, `${name} comes where record ${expected} belongs: ${gap} removed, or records were reordered`);
    } else if (record.seq < expected) {
      problem(record.seq, `${name} comes after record ${lastSeq}: records were reordered or repeated`);
    } else if (record.seq === 1 && record.previous_hash !== null) {
      problem(record.seq, `${name} is the first record but has a previous_hash: records before it were removed`);
    } else if (record.seq > 1 && previous && record.previous_hash !== previous.hash) {
      problem(record.seq, `${name} does not chain: its previous_hash is ${record.previous_hash}, but record ${previous.seq} before it has hash ${previous.hash}: record ${previous.seq} was edited or replaced, or records were moved`);
    }
    if (record.rollback_of !== null) {
      const target = records.find((r) => r.seq === record.rollback_of);
      if (record.rollback_of >= record.seq || (target && (target.image_digest !== record.image_digest || target.manifest_content_hash !== record.manifest_content_hash))) {
        problem(record.seq, `${name} claims to roll back to record ${record.rollback_of}, but that is not an earlier record with the same (image_digest, manifest_content_hash)`);
      }
    }
    records.push(record);
    previous = record;
    lastSeq = Math.max(lastSeq, record.seq);
  });
  if (head && head.seq > 0) {
    const named = records.find((r) => r.seq === head.seq);
    const last = records.at(-1)?.seq ?? 0;
    if (!named) problems.push({ line: lines.length, seq: head.seq, kind: "broken", message: `the log ends at record ${last}, but its head names record ${head.seq} (${head.hash}): record${head.seq - last > 1 ? `s ${last + 1}..${head.seq} were` : ` ${head.seq} was`} removed from the end, or the log was truncated` });
    else if (named.hash !== head.hash) problems.push({ line: records.indexOf(named) + 1, seq: head.seq, kind: "broken", message: `record ${head.seq} has hash ${named.hash}, but the log's head says ${head.hash}: the record was rewritten` });
  }
  return { records, problems };
}

/** A parsed record, or why the line is not one. */
function parseRecord(line: string): ReleaseRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "not JSON";
  }
  const parsed = RecordSchema.safeParse(value);
  if (!parsed.success) return parsed.error.issues.map((issue) => `${issue.path.join(".") || "record"}: ${issue.message}`).join("; ");
  return parsed.data;
}

/**
 * The record `which` names: a seq, or "latest" (the last one).
 *
 * @example
 * ```ts
 * resolveRelease(records, "latest").seq; // records.length
 * ```
 */
export function resolveRelease(records: readonly ReleaseRecord[], which: number | "latest"): ReleaseRecord {
  const found = which === "latest" ? records.at(-1) : records.find((r) => r.seq === which);
  if (found) return found;
  throw new VoxError("E_RELEASE_UNKNOWN", records.length === 0 ? "Cannot find a release: the log has none yet" : `Cannot find release ${which}: the log holds releases 1..${records.at(-1)!.seq}`, {
    hint: records.length === 0 ? "Run `vox deploy release` first" : "Run `vox deploy releases` to list them",
  });
}

/**
 * What `vox deploy rollback [<seq>]` re-releases. Explicit: that earlier record, unless its tuple is the current one.
 * Default: the one before the current, where a rollback counts as the record it rolled back to, so repeated
 * rollbacks keep walking back through history instead of flipping between the last two.
 *
 * @example
 * ```ts
 * rollbackTarget(records, undefined).seq; // 4 when record 5 is the current release
 * ```
 */
export function rollbackTarget(records: readonly ReleaseRecord[], which: number | undefined): ReleaseRecord {
  const current = resolveRelease(records, "latest");
  const sameTuple = (r: ReleaseRecord) => r.image_digest === current.image_digest && r.manifest_content_hash === current.manifest_content_hash;
  if (which !== undefined) {
    const target = resolveRelease(records, which);
    if (target.seq === current.seq || sameTuple(target)) {
      throw new VoxError("E_ROLLBACK_NOOP", `Cannot roll back to release ${which}: it is the current (image_digest, manifest_content_hash)`, { hint: "Name an earlier release with another image or manifest (`vox deploy releases`)" });
    }
    return target;
  }
  let position = current;
  while (position.rollback_of !== null) position = resolveRelease(records, position.rollback_of);
  const target = [...records].reverse().find((r) => r.seq < position.seq && r.rollback_of === null && !sameTuple(r));
  if (!target) {
    throw new VoxError("E_ROLLBACK_NONE", `Cannot roll back: no release before ${position.seq} has another (image_digest, manifest_content_hash)`, { hint: "Release another image or manifest first, or name a release: `vox deploy rollback <seq>`" });
  }
  return target;
}
