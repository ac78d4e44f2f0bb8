// `vox policy`: prints the install policy as a table or as JSON.
// Owns only rendering; the data is policy/.
import { BUILD_VERSION } from "../build/constants.ts";
import type { Handler } from "../cli/mod.ts";
import { renderJson } from "../cli/json.ts";
// The modules themselves, not the policy/ barrel: it also loads the checkout search (node:path), which this never uses.
import { describePolicy, type PolicyDescription } from "../policy/describe.ts";
import { detectHostTarget } from "../policy/host.ts";
import { parseTag } from "../policy/tag.ts";

/** `vox policy [--json] [--tag <tag>]` */
export const policyCommand: Handler = async (args, context) => {
  // This executable's own version was checked when it was built (release-build --version); a --tag is checked here.
  const named = args.string("tag");
  const tag = named === undefined ? `v${BUILD_VERSION}` : parseTag(named).tag;
  const host = await detectHostTarget(context.execPath).catch(() => undefined);
  const policy = describePolicy({ tag, hostTriple: host?.triple, mirrorBaseUrl: context.env.get("VOX_UPGRADE_BASE_URL") });
  context.out.stdout(args.flag("json") ? renderJson(policy.schema, policy, { indent: 2 }) : renderPolicy(policy));
};

function renderPolicy(policy: PolicyDescription): string {
  const rows = policy.targets.map((t) => [t.triple, t.bunTarget, t.archive, t.assets[0]!.entry, t.status]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ["triple", "bun target", "archive", "executable"][i]!.length));
  const line = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join("  ");
  const sample = (policy.targets.find((t) => t.triple === policy.hostTriple) ?? policy.targets[0]!).assets[0]!;
  return [
    `Install policy (${policy.schema})`,
    `host triple:     ${policy.hostTriple ?? "unsupported"}`,
    `release repo:    ${policy.releaseSource.repo}`,
    `release base:    ${policy.releaseSource.releaseBaseUrl}`,
    `tagged URL:      ${sample.url}`,
    `latest URL:      ${sample.latestUrl}`,
    `checksums:       ${policy.releaseSource.checksumsName} (+ ${policy.releaseSource.signatureName})`,
    "",
    line(["triple", "bun target", "archive", "executable", "status"]),
    ...rows.map(line),
    "",
    "trusted keys:",
    ...policy.trustedKeys.map((k) => `  ${k.keyId}  ${k.publicKey}`),
    "",
    `source install (checkout marker ${policy.sourceInstall.marker}, lockfile ${policy.sourceInstall.lockfile}):`,
    ...policy.sourceInstall.steps.map((s) => `  ${s.join(" ")}`),
    "",
    "environment:",
    ...Object.entries(policy.env).map(([name, text]) => `  ${name.padEnd(27)} ${text}`),
    "",
  ].join("\n");
}
