// Private to commands/: what the `vox oci` commands share: the cache directory (VOX_CACHE_DIR, the one `vox deploy
// build` uses), the audit sink (--audit or VOX_AUDIT_LOG) and the registry reads of a pull (mirrors applied).

import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { type AuditSink, fileAuditSink, nullAuditSink } from "../audit/mod.ts";
import type { CommandContext, ParsedArgs } from "../cli/mod.ts";
import { parseLayoutSource, type PullDeps } from "../oci/pull/mod.ts";
import { registryClient } from "./_registry.ts";

/** `$VOX_CACHE_DIR/oci`, else `$XDG_CACHE_HOME/vox/oci`, else `~/.cache/vox/oci`. */
export function cacheDir(context: CommandContext): string {
  const explicit = context.env.get("VOX_CACHE_DIR");
  if (explicit) return join(resolve(context.cwd, explicit), "oci");
  const xdg = context.env.get("XDG_CACHE_HOME");
  return join(xdg ? resolve(xdg) : join(context.env.get("HOME") ?? homedir(), ".cache"), "vox", "oci");
}

/** `--audit FILE`, else `VOX_AUDIT_LOG`, else no audit log. */
export function auditSink(args: ParsedArgs, context: CommandContext): AuditSink {
  const path = args.string("audit") ?? context.env.get("VOX_AUDIT_LOG");
  return path === undefined ? nullAuditSink : fileAuditSink(resolve(context.cwd, path), context.clock);
}

/**
 * Everything `pullImage` needs for `source`: a registry client only for registry references (`--insecure` applies to
 * that registry alone; VOX_REGISTRY_MIRRORS redirects reads of a mirrored registry, blobs included), the cache, the
 * audit sink, warnings on stderr.
 */
export async function pullDeps(args: ParsedArgs, context: CommandContext, source: string, audit: AuditSink = auditSink(args, context)): Promise<PullDeps> {
  const warn = (line: string) => context.out.stderr(`${line}\n`);
  if (parseLayoutSource(source)) return { cacheDir: cacheDir(context), audit, warn };
  const client = await registryClient(args, context, [source]);
  const via = <T extends { registry: string }>(repo: T): T => ({ ...repo, registry: client.mirrors.get(repo.registry)?.host ?? repo.registry });
  return {
    registry: { getManifest: (ref) => client.getManifest(ref), streamBlob: (repo, descriptor, options) => client.streamBlob(via(repo), descriptor, options) },
    cacheDir: cacheDir(context),
    audit,
    warn,
  };
}
