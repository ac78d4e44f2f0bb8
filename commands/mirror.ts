// `vox mirror sync` and `vox mirror verify`: build and check a static mirror in GitHub's download layout.
// Option resolution and reporting only; the work is mirror/.

import { resolve } from "node:path";
import type { Handler } from "../cli/mod.ts";
import { ExitCode, usageError } from "../errors/mod.ts";
import { syncMirror, verifyMirror } from "../mirror/mod.ts";
import { RELEASE_SOURCE } from "../policy/mod.ts";
import { MAX_INDEX_LIFETIME_DAYS } from "../providers/mod.ts";
import { loadMirrorKeys, loadTrustedKeys, readSecretKeyFile } from "../release/mod.ts";
import { networkSeams } from "./_network.ts";
import { renderJson } from "../cli/json.ts";

export const mirrorSyncCommand: Handler = async (args, context) => {
  const to = args.string("to");
  const keyFile = args.string("key");
  if (!to || !keyFile) throw usageError("E_USAGE", "Cannot run 'vox mirror sync': --to and --key are required", "Run 'vox mirror sync --help'.");
  const expiresInDays = Number(args.string("expires-days") ?? "30");
  if (!Number.isInteger(expiresInDays) || expiresInDays < 1 || expiresInDays > MAX_INDEX_LIFETIME_DAYS) {
    throw usageError("E_USAGE", `Cannot use --expires-days ${args.string("expires-days")}: expected a whole number of days from 1 to ${MAX_INDEX_LIFETIME_DAYS}`, `Clients refuse an index that claims to stay fresh longer than ${MAX_INDEX_LIFETIME_DAYS} days.`);
  }
  const indexKey = await readSecretKeyFile(resolve(context.cwd, keyFile), { password: context.env.get("VOX_SIGNING_KEY_PASSWORD"), purpose: "index signing key" });
  const network = await networkSeams(args, context, { baseUrlFlag: "from-base-url" });
  const tags = args.list("version").length > 0 ? args.list("version") : ["latest"];
  const report = await syncMirror(
    { to: resolve(context.cwd, to), tags, repo: network.settings.repo, provider: network.provider, trustedKeys: network.trustedKeys, indexKey, expiresInDays, log: (line) => context.out.stderr(`${line}\n`) },
    { ...network.downloads, clock: context.clock },
  );
  if (args.flag("json")) context.out.stdout(renderJson("vox.mirror-sync/1", report));
  else context.out.stdout(`${report.synced.map((s) => `${s.tag}: ${s.skipped ? "up to date" : `${s.files} files`}`).join("\n")}\nindex serial ${report.index.serial}, latest ${report.index.latest ?? "none"}, expires ${report.index.expires}\n`);
};

export const mirrorVerifyCommand: Handler = async (args, context) => {
  const dir = resolve(context.cwd, args.positionals[0]!);
  const trustedKeys = await loadTrustedKeys(args.list("trusted-key").map((f) => resolve(context.cwd, f)));
  const mirrorKeys = await loadMirrorKeys(args.list("mirror-key").map((f) => resolve(context.cwd, f)), context.env);
  const result = await verifyMirror(dir, { repo: args.string("repo") ?? RELEASE_SOURCE.repo, trustedKeys, mirrorKeys, clock: context.clock });
  if (args.flag("json")) context.out.stdout(renderJson("vox.mirror-verify/1", result));
  else {
    const lines = [`index: serial ${result.index.serial}, latest ${result.index.latest ?? "none"}, expires ${result.index.expires}`];
    for (const release of result.releases) lines.push(`${release.ok ? "ok  " : "FAIL"}  ${release.tag} (key ${release.keyId})`, ...release.files.filter((f) => f.status !== "ok").map((f) => `        ${f.basename}: ${f.detail}`));
    context.out.stdout(`${lines.join("\n")}\n`);
  }
  return result.ok ? ExitCode.ok : ExitCode.failure;
};
