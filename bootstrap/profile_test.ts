import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { VoxError } from "../errors/mod.ts";
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

test("addPathBlock() and removePathBlock() keep a 0600 profile 0600 and edit a symlink's target, not the link", async () => {
  const home = mkdtempSync(join(tmpdir(), "vox-profile-"));
  writeFileSync(join(home, ".profile"), "export TOKEN=secret\n", { mode: 0o600 });
  writeFileSync(join(home, "bashrc"), "# bash\n", { mode: 0o640 });
  symlinkSync("bashrc", join(home, ".bashrc"));
  for (const name of [".profile", ".bashrc"]) assert.equal(await addPathBlock(join(home, name), "/x/bin"), true);
  assert.equal(statSync(join(home, ".profile")).mode & 0o777, 0o600);
  assert.equal(readlinkSync(join(home, ".bashrc")), "bashrc");
  assert.match(readFileSync(join(home, "bashrc"), "utf8"), /^# bash\n# >>> vox >>>/);
  for (const name of [".profile", ".bashrc"]) assert.equal(await removePathBlock(join(home, name)), true);
  assert.deepEqual([statSync(join(home, ".profile")).mode & 0o777, statSync(join(home, "bashrc")).mode & 0o777], [0o600, 0o640]);
  assert.equal(readFileSync(join(home, "bashrc"), "utf8"), "# bash\n");
  assert.deepEqual(readdirSync(home).sort(), [".bashrc", ".profile", "bashrc"]);
});

test("addPathBlock() refuses a profile that is a link to a missing file instead of replacing the link", async () => {
  const home = mkdtempSync(join(tmpdir(), "vox-profile-"));
  symlinkSync("nowhere", join(home, ".profile"));
  await assert.rejects(addPathBlock(join(home, ".profile"), "/x/bin"), (error: VoxError) => error.code === "E_PROFILE" && /symbolic link to a file that does not exist/.test(error.message));
  assert.equal(readlinkSync(join(home, ".profile")), "nowhere");
  assert.equal(await removePathBlock(join(home, ".profile")), false, "nothing to remove from a missing file");
});
