// `vox upgrade`: resolves flags > environment > defaults in one place, runs upgrade/, and reports one line (or one
// JSON object) with a status and a distinct exit code per outcome.

import { realpath } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { BUILD_VERSION } from "../build/constants.ts";
import type { Handler } from "../cli/mod.ts";
import { type Env, isProcessAlive, processOwner } from "../io/mod.ts";
import { progressReporter } from "../download/mod.ts";
import { errorMessage, formatError, usageError, VoxError } from "../errors/mod.ts";
import { detectHostTarget, namedCheckout, requireOwnCheckout } from "../policy/mod.ts";
import { RATE_LIMITED_EXIT_CODE } from "../providers/mod.ts";
import { isVerificationFailure } from "../release/acquire.ts";
import { type Checkpoint, indexSerialGuard, upgrade, type UpgradeReport } from "../upgrade/mod.ts";
import { networkSeams } from "./_network.ts";
import { renderJson } from "../cli/json.ts";

/** Exit codes per outcome (also in `vox upgrade --help` and the README). */
const UPGRADE_EXIT_CODES = {
  "up-to-date": 0,
  updated: 0,
  "rolled-back": 0,
  "update-available": 10,
  "rate-limited": RATE_LIMITED_EXIT_CODE,
  offline: 5,
  "verification-failed": 6,
  "managed-externally": 7,
} as const;

type FailureStatus = "rate-limited" | "offline" | "verification-failed" | "managed-externally";

function failureStatus(error: unknown): FailureStatus | undefined {
  const code = error instanceof VoxError ? error.code : "";
  if (code === "E_RATE_LIMITED") return "rate-limited";
  if (code === "E_MANAGED_EXTERNALLY") return "managed-externally";
  if (isVerificationFailure(error) || ["E_MIRROR_INDEX_ROLLBACK", "E_DOWNLOAD_TLS", "E_DOWNLOAD_INSECURE_REDIRECT", "E_PREVIOUS_UNTRUSTED"].includes(code)) return "verification-failed";
  if (code === "E_DOWNLOAD_NETWORK" || code === "E_DOWNLOAD_TIMEOUT") return "offline";
  return undefined;
}

export const upgradeCommand: Handler = async (args, context) => {
  const env = context.env;
  if (BUILD_VERSION === "0.0.0-dev") {
    throw new VoxError("E_NOT_COMPILED", `Cannot upgrade: this vox runs from source (${context.execPath}), so there is no vox executable to replace`, {
      hint: "Run 'vox upgrade' from an installed vox, or update the checkout with git.",
    });
  }
  const mode = args.flag("rollback") ? "rollback" : args.flag("check") ? "check" : "apply";
  const channel = args.string("channel") ?? "stable";
  if (channel !== "stable" && channel !== "next") throw usageError("E_USAGE", `Cannot use channel '${channel}': expected stable or next`);
  const source = args.string("source") ?? "release";
  if (source !== "release" && source !== "repo") throw usageError("E_USAGE", `Cannot upgrade from source '${source}': expected release or repo`);
  const home = env.get("HOME") ?? homedir();
  const stateDir = env.get("VOX_STATE_DIR") ?? join(home, ".vox", "state");
  const network = await networkSeams(args, context, { indexGuard: indexSerialGuard(stateDir, processOwner()) });
  const pauseAt = env.get("VOX_UPGRADE_PAUSE_AT");
  const version = args.string("version") ?? env.get("VOX_UPGRADE_VERSION");
  const from = args.string("from");
  const request = {
    mode,
    channel,
    source,
    allowPrerelease: args.flag("allow-prerelease"),
    allowDowngrade: args.flag("allow-downgrade"),
    force: args.flag("force"),
    allowDirty: args.flag("allow-dirty"),
    repo: network.settings.repo,
    ...(version ? { version } : {}),
    ...(from ? { fromArchive: resolve(context.cwd, from) } : {}),
  } as const;
  const target = await realpath(context.execPath).catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_PERMISSION", `Cannot upgrade ${context.execPath}: its path cannot be resolved (${error.code ?? error.message})`, {
      hint: "Run the upgrade as the user who installed vox, with access to every directory above it.",
    });
  });
  let report: UpgradeReport;
  try {
    report = await upgrade(request, {
      target,
      currentVersion: BUILD_VERSION,
      host: await detectHostTarget(context.execPath),
      provider: () => network.provider,
      downloads: network.downloads,
      trustedKeys: network.trustedKeys,
      spawner: context.spawner,
      clock: context.clock,
      out: context.out,
      cwd: context.cwd,
      checkoutRoot: () => rebuildCheckout(args.string("repo-root"), context.cwd, env),
      stateDir,
      owner: processOwner(),
      lockWaitMs: Number(env.get("VOX_UPGRADE_LOCK_WAIT_MS") ?? 30_000),
      isAlive: isProcessAlive,
      // A test hook: stop at a named step so crash-safety tests can SIGKILL the process exactly there.
      checkpoint: async (step: Checkpoint) => {
        if (pauseAt !== step) return;
        context.out.stderr(`paused at ${step}\n`);
        await new Promise(() => setInterval(() => {}, 1 << 30));
      },
      ...(args.flag("json") ? {} : { onProgress: progressReporter("downloading", context.out) }),
    });
  } catch (error) {
    const status = failureStatus(error);
    if (!status) throw error;
    if (args.flag("json")) context.out.stdout(renderJson("vox.upgrade/1", { status, current: BUILD_VERSION, code: (error as VoxError).code, message: errorMessage(error) }));
    context.out.stderr(`${formatError(error, env.get("VOX_DEBUG") === "1")}\n`);
    return UPGRADE_EXIT_CODES[status];
  }
  context.out.stdout(args.flag("json") ? renderJson("vox.upgrade/1", report) : `${describe(report)}\n`);
  return UPGRADE_EXIT_CODES[report.status];
};

/** `--source repo` builds only a checkout the user named and owns: its npm scripts run as the user. */
async function rebuildCheckout(flag: string | undefined, cwd: string, env: Env): Promise<string> {
  const root = await namedCheckout({ cwd, env, ...(flag !== undefined ? { flag } : {}) });
  if (!root) throw usageError("E_NO_CHECKOUT", "Cannot upgrade from source: no checkout was named", "Pass --repo-root <clone of the vox repository> (or set VOX_REPO_ROOT); vox never searches for one.");
  await requireOwnCheckout(root, process.getuid?.() ?? 0);
  return root;
}

function describe(report: UpgradeReport): string {
  switch (report.status) {
    case "up-to-date":
      return `vox ${report.current} is up to date (${report.source}: ${report.candidate})`;
    case "update-available":
      return `vox ${report.candidate} is available (installed: ${report.current}); run 'vox upgrade' to install it`;
    case "updated":
      return `upgraded vox ${report.current} → ${report.candidate} at ${report.target} (previous kept for 'vox upgrade --rollback')`;
    case "rolled-back":
      return `rolled back vox ${report.current} → ${report.candidate} at ${report.target}`;
  }
}
