import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { addPathBlock, pathBlock, removePathBlock, withBlock } from "./profile.ts";

test("withBlock() appends once, replaces in place, and removes exactly the block", () => {
  const user = "export EDITOR=vi\n";
  const added = withBlock(user, pathBlock("/home/a/.vox/bin"));
  assert.ok(added.startsWith(user));
  assert.equal(withBlock(added, pathBlock("/home/a/.vox/bin")), added, "idempotent");
  const moved = withBlock(added, pathBlock("/opt/vox/bin"));
  assert.equal(moved.match(/# >>> vox >>>/g)?.length, 1);
  assert.match(moved, /\/opt\/vox\/bin/);
  assert.equal(withBlock(`${added}alias ll='ls -l'\n`, ""), `${user}alias ll='ls -l'\n`);
  assert.equal(withBlock("no newline", pathBlock("/x")).split("\n")[0], "no newline");
});

test("pathBlock() quotes a directory with a single quote so the shell still reads it", () => {
  assert.match(pathBlock("/home/o'brien/bin"), /'\/home\/o'\\''brien\/bin'/);
});

test("addPathBlock() and removePathBlock() leave the rest of the profile byte for byte", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "vox-profile-")), ".profile");
  writeFileSync(file, "# mine\r\nexport A=1\n");
  assert.equal(await addPathBlock(file, "/x/bin"), true);
  assert.equal(await addPathBlock(file, "/x/bin"), false);
  assert.equal(await removePathBlock(file), true);
  assert.equal(readFileSync(file, "utf8"), "# mine\r\nexport A=1\n");
  assert.equal(await removePathBlock(join(file, "..", "missing")), false);
});
