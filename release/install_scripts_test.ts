import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { TRUSTED_KEYS } from "../policy/mod.ts";
import { renderInstallScript } from "./install_scripts.ts";

const root = join(import.meta.dirname, "..");
const policyKey = TRUSTED_KEYS[0]!.publicKey;
const otherKey = "RWQAAAAAAAAAAD1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM";

test("renderInstallScript() rewrites exactly the trusted-keys line of install.sh and install.ps1", () => {
  const sh = readFileSync(join(root, "install.sh"), "utf8");
  const renderedSh = renderInstallScript("install.sh", sh, [policyKey, otherKey]);
  assert.match(renderedSh, new RegExp(`^ {2}trusted_keys="${policyKey.replaceAll("+", "\\+")} ${otherKey.replaceAll("+", "\\+")}"$`, "m"));
  assert.equal(renderedSh.split("\n").length, sh.split("\n").length);
  const ps1 = readFileSync(join(root, "install.ps1"), "utf8");
  assert.ok(renderInstallScript("install.ps1", ps1, [policyKey, otherKey]).includes(`  $trustedKeys = @('${policyKey}', '${otherKey}')\n`));
});

test("renderInstallScript() lists the policy's keys in the checked-in templates", () => {
  for (const name of ["install.sh", "install.ps1"]) {
    const template = readFileSync(join(root, name), "utf8");
    assert.equal(renderInstallScript(name, template, TRUSTED_KEYS.map((k) => k.publicKey)), template, name);
  }
});

test("renderInstallScript() refuses a template without exactly one keys line, and a malformed key", () => {
  assert.throws(() => renderInstallScript("install.sh", "#!/bin/sh\n", [policyKey]), /has 0 trusted-keys lines, expected exactly one/);
  assert.throws(() => renderInstallScript("install.sh", '  trusted_keys="a"\n  trusted_keys="b"\n', [policyKey]), /has 2 trusted-keys lines/);
  assert.throws(() => renderInstallScript("install.sh", '  trusted_keys="a"\n', ["not-a-key"]), /not a minisign Ed25519 public key/);
  assert.throws(() => renderInstallScript("install.bat", "", [policyKey]), /not an install script/);
});
