import { ENV_VARS, GITHUB_TOKEN_VARS } from "./env_names.ts";
import { PACKAGES } from "./packages.ts";
import { assetName, executableName, latestAssetUrl, RELEASE_SOURCE, releaseBaseUrl, taggedAssetUrl } from "./release_source.ts";
import { compileArgv, SOURCE_INSTALL } from "./source_install.ts";
import { TARGETS } from "./targets.ts";
import { TRUSTED_KEYS } from "./trusted_keys.ts";

/** The whole policy as plain JSON, with example names and URLs for `tag` and the host target. */
export function describePolicy(options: { tag: string; hostTriple?: string; mirrorBaseUrl?: string }) {
  const base = releaseBaseUrl({ mirrorBaseUrl: options.mirrorBaseUrl });
  return {
    schema: "vox.install-policy/1",
    hostTriple: options.hostTriple ?? null,
    releaseSource: { ...RELEASE_SOURCE, releaseBaseUrl: base },
    urlLayout: { tagged: "<base>/download/<tag>/<basename>", latest: "<base>/latest/download/<basename>" },
    targets: TARGETS.map((target) => ({
      ...target,
      assets: PACKAGES.map((p) => {
        const basename = assetName(p.name, options.tag, target);
        return { package: p.name, basename, entry: executableName(p.name, target), url: taggedAssetUrl(base, options.tag, basename), latestUrl: latestAssetUrl(base, basename) };
      }),
    })),
    packages: PACKAGES,
    trustedKeys: TRUSTED_KEYS,
    sourceInstall: {
      marker: SOURCE_INSTALL.marker,
      lockfile: SOURCE_INSTALL.lockfile,
      steps: [SOURCE_INSTALL.installDependencies, compileArgv({ bun: SOURCE_INSTALL.bun, bunTarget: "<bun target>", entry: "<entry>", outfile: "<outfile>", defines: { version: "<version>", trustedKeys: [] } })],
    },
    env: ENV_VARS,
    githubTokenOrder: GITHUB_TOKEN_VARS,
  };
}

export type PolicyDescription = ReturnType<typeof describePolicy>;
