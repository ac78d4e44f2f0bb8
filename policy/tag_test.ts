import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import semver from "semver";
import { parseTag } from "./tag.ts";

/** What parseTag accepted while it asked the semver package: `semver.valid(v) === v`, prerelease by semver. */
function bySemver(tag: string): { version: string; prerelease: boolean } | undefined {
  const version = tag.startsWith("v") ? tag.slice(1) : "";
  return version && semver.valid(version) === version ? { version, prerelease: semver.prerelease(version) !== null } : undefined;
}

function byParseTag(tag: string): { version: string; prerelease: boolean } | undefined {
  try {
    const { version, prerelease } = parseTag(tag);
    return { version, prerelease };
  } catch {
    return undefined;
  }
}

test("parseTag() accepts exactly the tags semver.valid() prints back unchanged, and agrees on prerelease", () => {
  const part = fc.oneof(fc.constantFrom("0", "1", "01", "9007199254740991", "9007199254740992", "99999999999999999999", "", "x", "-", "rc", "0a", "a-b", " "), fc.nat().map(String));
  const tag = fc
    .tuple(fc.constantFrom("v", "", "V", "vv", "v="), fc.array(part, { minLength: 1, maxLength: 7 }), fc.array(fc.constantFrom(".", "-", "+", "", "_"), { minLength: 7, maxLength: 7 }))
    .map(([prefix, parts, seps]) => prefix + parts.map((p, i) => (i === 0 ? p : `${seps[i]}${p}`)).join(""));
  const edges = ["v1.2.3", "v1.2.3-rc.1", "v1.2.3+build", "v1.2.3-rc.01", "v1.2.3-0.a-b.9", "v01.2.3", "v1.2", "v1.2.3 ", " v1.2.3", "v1.2.3-", `v0.0.0-${"a".repeat(250)}`, `v0.0.0-${"a".repeat(251)}`];
  for (const t of edges) assert.deepEqual(byParseTag(t), bySemver(t), t);
  fc.assert(
    fc.property(tag, (t) => {
      assert.deepEqual(byParseTag(t), bySemver(t), t);
    }),
    { numRuns: 20000 },
  );
});
