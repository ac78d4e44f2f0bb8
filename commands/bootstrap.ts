// `vox-bootstrap --install` and `vox-bootstrap plan`: option resolution (flag > env > default) in one place,
// then the install flow in bootstrap/; reports as one line for people or one JSON object with --json.

import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { BUILD_VERSION } from "../build/constants.ts";
import { type InstallDeps, type InstallOptions, install, pathBlock } from "../bootstrap/mod.ts";
import type { CommandContext, CommandSpec, Handler, ParsedArgs } from "../cli/mod.ts";
import { progressReporter } from "../download/mod.ts";
import { ExitCode } from "../errors/mod.ts";
import { isProcessAlive, processOwner } from "../io/mod.ts";
import { assetName, detectHostTarget, executableName, namedCheckout, RELEASE_SOURCE, sourceInstallSteps } from "../policy/mod.ts";
import type { ReleaseProvider } from "../providers/mod.ts";
import { indexSerialGuard } from "../upgrade/mod.ts";
import { networkSeams } from "./_network.ts";
import { renderJson } from "../cli/json.ts";

/** `vox-bootstrap [--install …] [--help]`; `command` is the table it was loaded from, for help. */
export function bootstrapRootCommand(command: CommandSpec): Handler {
  return async (args, context) => {
    if (args.flag("install")) return runInstall(args, context);
    if (args.string("version") !== undefined) return context.out.stdout(`vox-bootstrap ${BUILD_VERSION}\n`);
    const { renderHelp } = await import("../cli/help.ts");
    context.out.stdout(renderHelp(command, ["vox-bootstrap"]));
  };
}

async function resolveOptions(args: ParsedArgs, context: CommandContext): Promise<{ options: InstallOptions; deps: InstallDeps; provider: ReleaseProvider }> {
  const home = context.env.get("HOME") ?? homedir();
  const installDir = resolve(context.cwd, args.string("install-dir") ?? context.env.get("VOX_INSTALL_DIR") ?? join(home, ".vox", "bin"));
  // The same anti-rollback floor vox upgrade keeps: a mirror index older than one seen before is refused.
  const stateDir = context.env.get("VOX_STATE_DIR") ?? join(home, ".vox", "state");
  const network = await networkSeams(args, context, { indexGuard: indexSerialGuard(stateDir, processOwner()) });
  const version = args.string("version") ?? context.env.get("VOX_VERSION");
  const checkout = await namedCheckout({ cwd: context.cwd, env: context.env, flag: args.string("repo-root") });
  return {
    options: {
      installDir,
      provider: network.settings,
      sourceOnly: args.flag("source-only"),
      fallback: !args.flag("no-fallback"),
      modifyPath: !args.flag("no-modify-path"),
      allowPrerelease: args.flag("allow-prerelease"),
      ...(version ? { version } : {}),
      ...(checkout ? { checkout } : {}),
    },
    deps: {
      provider: network.provider,
      ...network.downloads,
      spawner: context.spawner,
      env: context.env,
      clock: context.clock,
      out: context.out,
      home,
      uid: process.getuid?.() ?? 0,
      isAlive: isProcessAlive,
      target: await detectHostTarget(context.execPath),
      trustedKeys: network.trustedKeys,
      onProgress: args.flag("json") ? undefined : progressReporter("downloading", context.out),
    },
    provider: network.provider,
  };
}

async function runInstall(args: ParsedArgs, context: CommandContext): Promise<number> {
  const { options, deps } = await resolveOptions(args, context);
  const report = await install(options, deps);
  if (args.flag("json")) context.out.stdout(renderJson("vox.install/1", report));
  else {
    context.out.stdout(`installed vox ${report.version} (${report.triple}, ${report.source}) at ${report.path}\n`);
    if (report.profileEdits.length > 0) context.out.stderr(`added ${options.installDir} to PATH in ${report.profileEdits.join(", ")}; open a new shell or run: export PATH="${options.installDir}:$PATH"\n`);
  }
  return ExitCode.ok;
}

/** `vox-bootstrap plan [--human]`: what --install would do, resolved but not done. */
export const planCommand: Handler = async (args, context) => {
  const { options, deps, provider } = await resolveOptions(args, context);
  const tag = options.sourceOnly ? undefined : await provider.resolveTag({ version: options.version, allowPrerelease: options.allowPrerelease }).catch((error: Error) => `unresolved: ${error.message}`);
  const checkout = options.checkout;
  const exe = join(options.installDir, executableName("vox", deps.target));
  const downloads = tag && !tag.startsWith("unresolved") ? [RELEASE_SOURCE.checksumsName, RELEASE_SOURCE.signatureName, assetName("vox", tag, deps.target)].map((name) => provider.assetUrl(tag, name)) : [];
  const plan = {
    triple: deps.target.triple,
    provider: options.provider,
    tag: tag ?? null,
    installDir: options.installDir,
    target: exe,
    steps: [
      ...(options.sourceOnly ? [] : [`download ${downloads.join(", ") || "(no release resolved)"}`, "verify checksums.txt.minisig with a trusted key (repo and tag bound), then the asset's sha256, then its single entry"]),
      `stage in ${options.installDir}, run it with --version, rename to ${exe}`,
      options.modifyPath ? `add a '# >>> vox >>>' PATH block to ~/.profile (and existing ~/.bashrc, ~/.zshrc) unless ${options.installDir} is on PATH` : "leave PATH alone (--no-modify-path)",
      `write a receipt to ${join(options.installDir, ".vox-receipt.json")}`,
    ],
    downloads,
    fallback: options.fallback
      ? { checkout: checkout ?? null, steps: checkout ? sourceInstallSteps({ bunTarget: deps.target.bunTarget, entry: "main.ts", outfile: "<staged>", defines: { version: "<checkout version>", trustedKeys: [] } }) : [] }
      : null,
    pathBlock: options.modifyPath ? pathBlock(options.installDir) : null,
  };
  if (args.flag("human")) {
    const lines = [`vox-bootstrap plan for ${plan.triple} → ${plan.target}`, `release: ${plan.tag ?? "(source only)"} from ${options.provider.kind} ${provider.baseUrl}`, ...plan.steps.map((s, i) => `${i + 1}. ${s}`), `fallback: ${plan.fallback ? (plan.fallback.checkout ? `build the same version from ${plan.fallback.checkout} if this platform has no binary or the network is down` : "none (no checkout named with --repo-root or VOX_REPO_ROOT)") : "disabled"}`];
    context.out.stdout(`${lines.join("\n")}\n`);
  } else {
    context.out.stdout(renderJson("vox.install-plan/1", plan, { indent: 2 }));
  }
};
