// The `vox-bootstrap` command table: data (options, environment, exit codes) with lazily imported handlers.
// Here rather than in bootstrap/main.ts so that `vox ci command-compliance` can read it beside vox's own table.

import type { CommandSpec, OptionSpec } from "../cli/command.ts";

const trustedKey: OptionSpec = { type: "string", multiple: true, valueName: "<file>", description: "Also trust this minisign public key file to sign releases" };
const mirrorKey: OptionSpec = { type: "string", multiple: true, valueName: "<file>", description: "Trust this minisign public key to sign a mirror's index.json (never releases)", defaultText: "VOX_MIRROR_KEY" };

/** Options shared by --install and plan: where from, what, where to. */
const INSTALL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  version: { type: "string", short: "V", valueName: "<tag>", description: "Release tag to install (alone: print this program's version)", defaultText: "VOX_VERSION, else the latest stable release" },
  "install-dir": { type: "string", valueName: "<dir>", description: "Where vox goes", defaultText: "VOX_INSTALL_DIR, else ~/.vox/bin" },
  provider: { type: "string", valueName: "<github|http>", description: "Release provider", defaultText: "http when a base URL is set, else github" },
  "base-url": { type: "string", valueName: "<url>", description: "Mirror base in GitHub's download layout", defaultText: "VOX_UPGRADE_BASE_URL" },
  repo: { type: "string", valueName: "<owner/repo>", description: "Release repository", defaultText: "VOX_UPGRADE_REPO, else vox-foundation/vox" },
  "github-api-url": { type: "string", valueName: "<url>", description: "GitHub API base (Enterprise)", defaultText: "VOX_UPGRADE_GITHUB_API_URL, else https://api.github.com" },
  "allow-prerelease": { type: "boolean", description: "Let 'latest' be a prerelease" },
  "source-only": { type: "boolean", description: "Skip the binary; build the checkout named by --repo-root" },
  "repo-root": { type: "string", valueName: "<dir>", description: "A clone of the vox repository you own, for --source-only and the fallback (never searched for)", defaultText: "VOX_REPO_ROOT" },
  "no-fallback": { type: "boolean", description: "Fail instead of building the named checkout when this platform has no binary or the network is down" },
  "no-modify-path": { type: "boolean", description: "Do not add the install directory to shell profiles" },
  "trusted-key": trustedKey,
  "mirror-key": mirrorKey,
  json: { type: "boolean", description: "Print one JSON object on stdout" },
};

/** What --install and plan read: the option defaults above, the release source, tokens, proxies and the CA. */
const INSTALL_ENV = [
  "VOX_VERSION",
  "VOX_INSTALL_DIR",
  "VOX_UPGRADE_BASE_URL",
  "VOX_UPGRADE_PROVIDER",
  "VOX_UPGRADE_REPO",
  "VOX_UPGRADE_GITHUB_API_URL",
  "VOX_MIRROR_KEY",
  "VOX_STATE_DIR",
  "VOX_REPO_ROOT",
  "VOX_GITHUB_TOKEN",
  "GH_TOKEN",
  "GITHUB_TOKEN",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "VOX_CA_BUNDLE",
];

export const bootstrapCommand: CommandSpec = {
  name: "vox-bootstrap",
  summary: "Install the vox toolchain: verified release binary first, build from source as the fallback",
  options: { install: { type: "boolean", description: "Install vox" }, ...INSTALL_OPTIONS },
  env: INSTALL_ENV,
  exitCodes: { 0: "installed (or help or the version printed)", 1: "failed (nothing changed)", 2: "usage error", 4: "GitHub rate limit (with the reset time)" },
  ioBound: (args) => args.flag("install"),
  load: () => import("./bootstrap.ts").then((m) => m.bootstrapRootCommand(bootstrapCommand)),
  subcommands: [
    {
      name: "plan",
      summary: "Print what --install would do (JSON; --human for text), without doing it",
      options: { ...INSTALL_OPTIONS, human: { type: "boolean", description: "Readable text instead of JSON" } },
      env: INSTALL_ENV,
      exitCodes: { 4: "GitHub rate limit (with the reset time)" },
      load: () => import("./bootstrap.ts").then((m) => m.planCommand),
    },
  ],
};
