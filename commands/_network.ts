// Private to commands/: turns the process environment into the network seams every release-fetching command uses.
// One place for VOX_CA_BUNDLE, proxies, sleep and trusted keys, so install, mirror and upgrade agree.

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { CommandContext, ParsedArgs } from "../cli/mod.ts";
import { createFetch, type DownloadDeps, type Fetch } from "../download/mod.ts";
import { VoxError } from "../errors/mod.ts";
import type { MinisignPublicKey } from "../integrity/mod.ts";
import type { Env } from "../io/mod.ts";
import { createProvider, type IndexGuard, type ProviderSettings, type ReleaseProvider, resolveProviderSettings } from "../providers/mod.ts";
import { loadMirrorKeys, loadTrustedKeys } from "../release/trust.ts";
import { nativeBodyWriter } from "../runtime/mod.ts";

export interface NetworkSeams {
  fetch: Fetch;
  sleep: (ms: number) => Promise<void>;
  /** What the download engine takes: fetch and sleep, and under Bun its own writer for bodies (runtime/). */
  downloads: DownloadDeps;
  /** Keys that may sign releases (checksums.txt). */
  trustedKeys: MinisignPublicKey[];
  /** Keys that may sign a mirror's index.json: a listing and its freshness, never a release. */
  mirrorKeys: MinisignPublicKey[];
  settings: ProviderSettings;
  provider: ReleaseProvider;
}

/** Provider flags (`--provider --repo --base-url --github-api-url --trusted-key --mirror-key`) and env, resolved once. */
export async function networkSeams(args: ParsedArgs, context: CommandContext, overrides: { baseUrlFlag?: string; indexGuard?: IndexGuard } = {}): Promise<NetworkSeams> {
  const fetch = await networkFetch(context.env);
  const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
  const trustedKeys = await loadTrustedKeys(args.list("trusted-key").map((f) => resolve(context.cwd, f)));
  const mirrorKeys = await loadMirrorKeys(args.list("mirror-key").map((f) => resolve(context.cwd, f)), context.env);
  const settings = resolveProviderSettings({ provider: args.string("provider"), repo: args.string("repo"), baseUrl: args.string(overrides.baseUrlFlag ?? "base-url"), apiBaseUrl: args.string("github-api-url") }, context.env);
  const provider = createProvider(settings, { fetch, sleep, env: context.env, clock: context.clock, mirrorKeys, warn: (m) => context.out.stderr(`${m}\n`), ...(overrides.indexGuard ? { indexGuard: overrides.indexGuard } : {}) });
  const writeBody = nativeBodyWriter();
  return { fetch, sleep, downloads: { fetch, sleep, ...(writeBody ? { writeBody } : {}) }, trustedKeys, mirrorKeys, settings, provider };
}

/** `fetch` with proxies and the extra CA of `VOX_CA_BUNDLE` applied: the transport every network command uses. */
export async function networkFetch(env: Env): Promise<Fetch> {
  const caBundlePath = env.get("VOX_CA_BUNDLE");
  const caBundle = caBundlePath
    ? await readFile(caBundlePath, "utf8").catch((error: NodeJS.ErrnoException) => {
        throw new VoxError("E_CA_BUNDLE", `Cannot read VOX_CA_BUNDLE=${caBundlePath}: ${error.code ?? error.message}`, { hint: "Point it at a PEM file, or unset it.", exitCode: 2 });
      })
    : undefined;
  return createFetch(env, caBundle ? { caBundle } : {});
}
