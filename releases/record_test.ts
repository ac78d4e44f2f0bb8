import assert from "node:assert/strict";
import { test } from "node:test";
import { type ReleaseFields, type ReleaseRecord, recordHash, recordLine, resolveRelease, rollbackTarget, sealRecord, verifyChain } from "./record.ts";

const hex = (n: number) => n.toString(16).padStart(64, "0");
const fields = (n: number): ReleaseFields => ({
  image_digest: `sha256:${hex(n)}`,
  manifest_content_hash: `sha256:${hex(100 + n)}`,
  image: `localhost/hello@sha256:${hex(n)}`,
  created: `2024-01-0${n}T00:00:00.000Z`,
  tool_version: "0.0.0-dev",
  source_revision: null,
  rollback_of: null,
});

function chain(count: number): ReleaseRecord[] {
  const records: ReleaseRecord[] = [];
  for (let n = 1; n <= count; n++) records.push(sealRecord(fields(n), records.at(-1)));
  return records;
}

const text = (records: readonly ReleaseRecord[]) => records.map(recordLine).join("");
const headOf = (records: readonly ReleaseRecord[]) => ({ seq: records.at(-1)!.seq, hash: records.at(-1)!.hash });
const messages = (log: string, head = headOf(chain(5))) => verifyChain(log, head).problems.map((p) => p.message);

test("sealRecord() numbers and chains records; recordHash() ignores formatting and key order but not values", () => {
  const [first, second] = chain(2);
  assert.equal(first!.seq, 1);
  assert.equal(first!.previous_hash, null);
  assert.equal(second!.seq, 2);
  assert.equal(second!.previous_hash, first!.hash);
  const { hash, ...rest } = first!;
  const reordered = JSON.parse(JSON.stringify({ hash, ...Object.fromEntries(Object.entries(rest).reverse()) }, null, 2));
  assert.equal(recordHash(reordered), first!.hash);
  assert.notEqual(recordHash({ ...first!, created: "2024-01-01T00:00:00.001Z" }), first!.hash);
});

test("verifyChain() accepts an intact log of 5 and returns its records", () => {
  const records = chain(5);
  const result = verifyChain(text(records), headOf(records));
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.records, records);
});

test("verifyChain() names an edited record, and the record after one edited with its hash recomputed", () => {
  const records = chain(5);
  const edited = records.map((r) => (r.seq === 3 ? { ...r, image_digest: `sha256:${hex(99)}` } : r));
  assert.deepEqual(messages(text(edited)), [`record 3 (line 3) was edited: its content hashes to ${recordHash(edited[2]!)}, not to its recorded hash ${records[2]!.hash}`]);
  const rehashed = records.map((r) => (r.seq === 3 ? { ...edited[2]!, hash: recordHash(edited[2]!) } : r));
  const problems = messages(text(rehashed));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^record 4 \(line 4\) does not chain: .* record 3 was edited or replaced/);
});

test("verifyChain() names swapped and removed records", () => {
  const records = chain(5);
  const swapped = [records[0]!, records[2]!, records[1]!, records[3]!, records[4]!];
  const problems = messages(text(swapped));
  assert.match(problems[0]!, /^record 3 \(line 2\) comes where record 2 belongs/);
  assert.match(problems[1]!, /^record 2 \(line 3\) comes after record 3: records were reordered/);
  assert.deepEqual(messages(text(records.filter((r) => r.seq !== 3))), ["record 4 (line 3) comes where record 3 belongs: record 3 was removed, or records were reordered"]);
  assert.deepEqual(messages(text(records.slice(1))), ["record 2 (line 1) comes where record 1 belongs: record 1 was removed, or records were reordered"]);
});

test("verifyChain() detects a torn last line as `torn`, and records cut off the end through the head", () => {
  const records = chain(5);
  const full = text(records);
  const torn = verifyChain(full.slice(0, -20), headOf(records.slice(0, 4)));
  assert.deepEqual(torn.problems, [{ line: 5, seq: undefined, kind: "torn", message: "line 5 is cut short (no newline at its end): a write was interrupted, or the log was truncated" }]);
  assert.equal(torn.records.length, 4);
  // Even the newline alone missing is a torn write: the record was never acknowledged.
  assert.equal(verifyChain(full.slice(0, -1), headOf(records)).problems.length, 2);
  assert.deepEqual(messages(text(records.slice(0, 4))), [`the log ends at record 4, but its head names record 5 (${records[4]!.hash}): record 5 was removed from the end, or the log was truncated`]);
  assert.deepEqual(messages("", headOf(records)), [`the log ends at record 0, but its head names record 5 (${records[4]!.hash}): records 1..5 were removed from the end, or the log was truncated`]);
  // A head behind the log is a crash between the append and the head's update, not a problem.
  assert.deepEqual(messages(full, headOf(records.slice(0, 4))), []);
});

test("verifyChain() refuses lines that are not records (unknown keys, a tag instead of a digest)", () => {
  const [first] = chain(1);
  const extra = JSON.stringify({ ...first!, note: "x" });
  assert.match(messages(`${extra}\n`, headOf([first!]))[0]!, /^line 1 is not a release record: record: Unrecognized key/);
  const tagged = JSON.stringify({ ...first!, image: "localhost/hello:1.0" });
  assert.match(messages(`${tagged}\n`, headOf([first!]))[0]!, /image: must be repository@sha256:<hex>/);
  assert.match(messages("{\n", undefined)[0]!, /^line 1 is not a release record: not JSON/);
});

test("verifyChain() refuses a rollback record whose tuple differs from the record it names", () => {
  const records = chain(2);
  const forged = sealRecord({ ...fields(3), rollback_of: 1 }, records[1]);
  assert.match(messages(text([...records, forged]), headOf([...records, forged]))[0]!, /^record 3 \(line 3\) claims to roll back to record 1/);
});

test("resolveRelease() finds a seq or the latest, and names the range otherwise", () => {
  const records = chain(3);
  assert.equal(resolveRelease(records, "latest").seq, 3);
  assert.equal(resolveRelease(records, 2).seq, 2);
  assert.throws(() => resolveRelease(records, 7), /Cannot find release 7: the log holds releases 1..3/);
  assert.throws(() => resolveRelease([], "latest"), /the log has none yet/);
});

test("rollbackTarget() defaults to the release before the current one and keeps walking back on repeated rollbacks", () => {
  const records = chain(3);
  assert.equal(rollbackTarget(records, undefined).seq, 2);
  const first = sealRecord({ ...fields(2), rollback_of: 2 }, records[2]);
  const walked = [...records, first];
  assert.equal(rollbackTarget(walked, undefined).seq, 1);
  assert.equal(rollbackTarget(walked, 3).seq, 3);
  assert.throws(() => rollbackTarget(walked, 2), /Cannot roll back to release 2: it is the current/);
  const second = sealRecord({ ...fields(1), rollback_of: 1 }, first);
  assert.throws(() => rollbackTarget([...walked, second], undefined), /no release before 1 has another/);
  assert.throws(() => rollbackTarget([], undefined), /the log has none yet/);
});
