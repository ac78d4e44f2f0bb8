import assert from "node:assert/strict";
import { test } from "node:test";
import { VoxError } from "../../errors/mod.ts";
import { DEFAULT_UNPACK_POLICY, parseUnpackPolicy } from "./policy.ts";

function problems(text: string): string {
  try {
    parseUnpackPolicy(text, "policy.toml");
  } catch (error) {
    assert.ok(error instanceof VoxError && error.code === "E_UNPACK_POLICY" && error.exitCode === 2);
    return error.message;
  }
  assert.fail("expected the policy to be refused");
}

test("parseUnpackPolicy() of an empty file is the safe default", () => {
  assert.deepEqual(parseUnpackPolicy("", "policy.toml"), DEFAULT_UNPACK_POLICY);
  assert.equal(DEFAULT_UNPACK_POLICY.devices, "refuse");
  assert.equal(DEFAULT_UNPACK_POLICY.setuid, "strip");
  assert.deepEqual(DEFAULT_UNPACK_POLICY.xattrs, []);
  assert.deepEqual(DEFAULT_UNPACK_POLICY.ownership, { mode: "auto" });
});

test("parseUnpackPolicy() reads every key and keeps defaults for the rest", () => {
  const policy = parseUnpackPolicy(
    ['devices = "skip"', 'setuid = "keep"', 'xattrs = ["user.*", "security.capability"]', "[ownership]", 'mode = "force"', "uid = 1000", "gid = 100", "[limits]", 'file_size = "2 MiB"', "total_size = 1_000_000", "entries = 7"].join("\n"),
    "policy.toml",
  );
  assert.equal(policy.devices, "skip");
  assert.equal(policy.setuid, "keep");
  assert.deepEqual(policy.xattrs, ["user.*", "security.capability"]);
  assert.deepEqual(policy.ownership, { mode: "force", uid: 1000, gid: 100 });
  assert.deepEqual(policy.limits, { ...DEFAULT_UNPACK_POLICY.limits, fileSize: 2 << 20, totalSize: 1_000_000, entries: 7 });
});

test("parseUnpackPolicy() names the line and key of every problem at once", () => {
  const message = problems(['devices = "alow"', "", "[limits]", "entries = 0", 'file_size = "lots"', "depht = 3", "[ownership]", 'mode = "force"', "uid = -1", "", "colour = 1"].join("\n"));
  assert.match(message, /policy\.toml:1: devices: must be one of "refuse", "skip", "allow", not "alow"/);
  assert.match(message, /policy\.toml:4: limits\.entries: must be a whole number above 0, not 0/);
  assert.match(message, /policy\.toml:5: limits\.file_size: must be a byte count/);
  assert.match(message, /policy\.toml:6: limits\.depht: unknown key/);
  assert.match(message, /policy\.toml:9: ownership\.uid: must be a whole number/);
  assert.match(message, /policy\.toml:7: ownership: mode = "force" needs gid/);
  assert.match(message, /policy\.toml:11: ownership\.colour: unknown key/);
});

test("parseUnpackPolicy() refuses xattr entries that are not attribute names, and ids without mode = \"force\"", () => {
  assert.match(problems('xattrs = ["*", "user.ok"]\n'), /policy\.toml:1: xattrs\[0\]: must be an attribute name/);
  assert.match(problems("[ownership]\nuid = 5\n"), /policy\.toml:2: ownership\.uid: is only used with mode = "force"/);
  assert.match(problems('devices = \n'), /policy\.toml:1: /);
});
