// Private to commands/: the registry client a packaging command uses, from flags and environment in one place:
// Docker credentials, VOX_CA_BUNDLE, proxies, --insecure, VOX_REGISTRY_MIRRORS and VOX_REGISTRY_IDLE_TIMEOUT_MS.

import type { CommandContext, ParsedArgs } from "../cli/mod.ts";
import { type Mirror, mirroredSource, parseMirrors } from "../deploy/mod.ts";
import { parseReference } from "../oci/mod.ts";
import { usageError } from "../errors/mod.ts";
import { progressReporter } from "../download/mod.ts";
import type { Env, Output } from "../io/mod.ts";
import { createRegistryClient, dockerConfigCredentials, formatRegistryEvent, type RegistryClient, type RegistryEvent, type Timeouts } from "../oci/remote/mod.ts";
import { networkFetch } from "./_network.ts";

export type PackagingRegistry = RegistryClient & { readonly mirrors: ReadonlyMap<string, Mirror> };

/**
 * A client for the registries `references` name (a base, a push target). `--insecure` lets exactly those
 * registries, and their mirrors, be spoken to over plain HTTP, as does an `http://` mirror; reads of mirrored
 * registries go to the mirror.
 */
export async function registryClient(args: ParsedArgs, context: CommandContext, references: ReadonlyArray<string | undefined>): Promise<PackagingRegistry> {
  const mirrors = parseMirrors(context.env.get("VOX_REGISTRY_MIRRORS"));
  const registries = references.filter((r): r is string => r !== undefined && r !== "scratch").map((r) => parseReference(r).registry);
  const mirrorsOf = (names: readonly string[]) => names.flatMap((name) => (mirrors.has(name) ? [mirrors.get(name)!.host] : []));
  const plainMirrors = [...mirrors.values()].filter((m) => m.plainHttp).map((m) => m.host);
  const insecure = [...plainMirrors, ...(args.flag("insecure") ? [...registries, ...mirrorsOf(registries)] : [])];
  const transferred = transferProgress(context.out);
  const client = createRegistryClient({
    fetch: await networkFetch(context.env),
    credentials: dockerConfigCredentials({ env: context.env, spawner: context.spawner }),
    insecure,
    timeouts: registryTimeouts(context.env),
    userAgent: "vox",
    // Retries, and above all Retry-After waits, would otherwise look like a hang; so would a long blob transfer.
    onEvent: (event) => {
      if (event.kind === "transfer") return transferred(event);
      const line = formatRegistryEvent(event);
      if (line) context.out.stderr(`${line}\n`);
    },
  });
  return Object.assign(mirroredSource(client, mirrors), { mirrors });
}

/** One progress line per blob on a terminal (download/progress.ts), nothing at all when stderr is not one. */
function transferProgress(out: Output): (event: Extract<RegistryEvent, { kind: "transfer" }>) => void {
  const bars = new Map<string, ReturnType<typeof progressReporter>>();
  return (event) => {
    if (!out.interactive) return;
    const key = `${event.direction} ${event.digest}`;
    if (!bars.has(key)) bars.set(key, progressReporter(`${event.direction === "upload" ? "pushing" : "pulling"} ${event.digest.slice(0, 19)}`, out));
    bars.get(key)?.(event.done, event.size);
  };
}

/** `VOX_REGISTRY_IDLE_TIMEOUT_MS`: the longest silence tolerated mid-answer (slow links raise it, tests lower it). */
function registryTimeouts(env: Env): Partial<Timeouts> {
  const text = env.get("VOX_REGISTRY_IDLE_TIMEOUT_MS");
  if (text === undefined || text === "") return {};
  if (!/^[1-9]\d*$/.test(text)) throw usageError("E_ENV", `Cannot use VOX_REGISTRY_IDLE_TIMEOUT_MS=${text}: not a whole number of milliseconds`, "Set it to e.g. 60000, or unset it for the default (30000)");
  return { idleMs: Number(text) };
}
