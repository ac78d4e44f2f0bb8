import assert from "node:assert/strict";
import { test } from "node:test";
import { formatKeyPath, locateTomlKeys } from "./toml_locator.ts";

const DOCUMENT = [
  "# a comment = not a key", // 1
  'title = "x"', // 2
  "[deploy]", // 3
  "platforms = [", // 4
  '  "linux/amd64",', // 5
  '  "linux/arm64", # trailing comment [', // 6
  "]", // 7
  'container.image_name = "app"', // 8
  'description = """', // 9
  "[not.a.header]", // 10
  'key = "inside a string"', // 11
  '"""', // 12
  "[[deploy.copy]]", // 13
  'from = "a"', // 14
  "[[deploy.copy]]", // 15
  'from = "b"', // 16
  "mode = 9", // 17
  "[[deploy.copy.rules]]", // 18
  "x = 1", // 19
  '[deploy.labels."org.example"]', // 20
  "  inner = 'v'", // 21
].join("\n");

test("locateTomlKeys() finds keys under table headers, array tables by index and dotted keys", () => {
  const locator = locateTomlKeys(DOCUMENT);
  assert.equal(locator.lineOf(["title"]), 2);
  assert.equal(locator.lineOf(["deploy"]), 3);
  assert.equal(locator.lineOf(["deploy", "platforms"]), 4);
  assert.equal(locator.lineOf(["deploy", "container", "image_name"]), 8);
  assert.equal(locator.lineOf(["deploy", "container"]), 8);
  assert.equal(locator.lineOf(["deploy", "copy", 0, "from"]), 14);
  assert.equal(locator.lineOf(["deploy", "copy", 1, "from"]), 16);
  assert.equal(locator.lineOf(["deploy", "copy", 1, "mode"]), 17);
  assert.equal(locator.lineOf(["deploy", "copy", 1, "rules", 0, "x"]), 19);
  assert.equal(locator.lineOf(["deploy", "labels", "org.example", "inner"]), 21);
});

test("locateTomlKeys() gives array elements on their own lines their line", () => {
  const locator = locateTomlKeys(DOCUMENT);
  assert.equal(locator.lineOf(["deploy", "platforms", 0]), 5);
  assert.equal(locator.lineOf(["deploy", "platforms", 1]), 6);
});

test("locateTomlKeys() ignores comments and what is inside multi-line strings", () => {
  const locator = locateTomlKeys(DOCUMENT);
  assert.equal(locator.lineOf(["a comment"]), undefined);
  assert.equal(locator.lineOf(["not", "a", "header"]), undefined);
  assert.equal(locator.lineOf(["deploy", "key"]), 3, "a key inside the string is not a key; falls back to [deploy]");
});

test("locateTomlKeys() falls back to the enclosing table header, then to no line", () => {
  const locator = locateTomlKeys(DOCUMENT);
  assert.equal(locator.lineOf(["deploy", "copy", 1, "to"]), 15);
  assert.equal(locator.lineOf(["deploy", "copy", 7, "to"]), 13, "an index that does not exist falls back to the array's first header");
  assert.equal(locator.lineOf(["package", "name"]), undefined);
});

test("locateTomlKeys() locates each inline table of an array written over several lines", () => {
  const locator = locateTomlKeys('[deploy]\ncopy = [\n  { from = "a", to = "/a" },\n  { from = "b", to = "/b", mode = "x" },\n]\n');
  assert.equal(locator.lineOf(["deploy", "copy", 1, "mode"]), 4);
  assert.equal(locator.lineOf(["deploy", "copy", 0, "from"]), 3);
});

test("formatKeyPath() writes indexes in brackets and quotes keys that are not bare", () => {
  assert.equal(formatKeyPath(["deploy", "copy", 1, "mode"]), "deploy.copy[1].mode");
  assert.equal(formatKeyPath(["deploy", "labels", "org.opencontainers.image.title"]), 'deploy.labels."org.opencontainers.image.title"');
  assert.equal(formatKeyPath(["deploy", "bare-metal", "host"]), "deploy.bare-metal.host");
});
