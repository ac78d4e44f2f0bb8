// `vox oci pull`, `vox oci unpack`, `vox oci verify` and `vox oci cache ls|verify|gc`: option resolution and reporting
// only; the work is in oci/pull/ (verified fetch, scoped cache), oci/unpack/ (policy, bundle) and audit/.

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { AuditEvent, AuditSink } from "../audit/mod.ts";
import type { Handler, ParsedArgs } from "../cli/mod.ts";
import { usageError, VoxError } from "../errors/mod.ts";
import { formatPlatform, parseReference } from "../oci/mod.ts";
import { gcCache, listCache, parseLayoutSource, type PulledImage, pullImage, verifyCache, verifySource } from "../oci/pull/mod.ts";
import { DEFAULT_UNPACK_POLICY, parseUnpackPolicy, type UnpackCheckpoint, unpackImage } from "../oci/unpack/mod.ts";
import { auditSink, cacheDir, pullDeps } from "./_pull.ts";
import { renderJson } from "../cli/json.ts";

export const ociPullCommand: Handler = async (args, context) => {
  const source = positional(args, "reference");
  const { audit, events } = counting(auditSink(args, context));
  const image = await pullImage(
    source,
    {
      ...(args.string("platform") ? { platform: args.string("platform")! } : {}),
      ...(args.string("scope") ? { scope: args.string("scope")! } : {}),
      insecure: args.flag("insecure"),
      requireDigest: args.flag("require-digest"),
    },
    await pullDeps(args, context, source, audit),
  );
  const layout = parseLayoutSource(source);
  const pinned = layout ? `oci:${layout.dir}@${image.resolvedDigest}` : pinnedReference(source, image.resolvedDigest);
  const fetched = events.filter((e) => e.kind === "fetch").length;
  const reused = events.filter((e) => e.kind === "cache-hit").length;
  if (image.mutable) context.out.stderr(`note: ${source} names a tag, which can be moved; it resolved to ${image.resolvedDigest}. Pin it as ${pinned}\n`);
  if (args.flag("json")) {
    const { layers, ...rest } = image;
    context.out.stdout(renderJson("vox.pull/1", { ...rest, pinned, cache: image.scope === null ? null : cacheDir(context), fetched, reused, layers: layers.map(({ open: _open, ...layer }) => layer) }));
    return;
  }
  context.out.stdout(`${report(image, pinned, { fetched, reused, cache: cacheDir(context) })}\n`);
};

export const ociUnpackCommand: Handler = async (args, context) => {
  const [source, bundle] = args.positionals as [string, string];
  const policyFile = args.string("policy");
  const policy = policyFile === undefined ? DEFAULT_UNPACK_POLICY : parseUnpackPolicy(await readPolicy(resolve(context.cwd, policyFile)), policyFile);
  const audit = auditSink(args, context);
  const image = await pullImage(source, { ...(args.string("platform") ? { platform: args.string("platform")! } : {}), ...scopeOption(args), insecure: args.flag("insecure") }, await pullDeps(args, context, source, audit));
  if (image.mutable) context.out.stderr(`note: ${source} names a tag, which can be moved; it resolved to ${image.resolvedDigest}\n`);
  const pauseAt = context.env.get("VOX_UNPACK_PAUSE_AT");
  const result = await unpackImage(image, resolve(context.cwd, bundle), {
    policy,
    audit,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    spawner: context.spawner,
    // A test hook: stop at a named step so crash-safety tests can SIGKILL the process exactly there.
    checkpoint: async (step: UnpackCheckpoint) => {
      if (pauseAt !== step) return;
      context.out.stderr(`paused at ${step}\n`);
      await new Promise(() => setInterval(() => {}, 1 << 30));
    },
  });
  const summary = { reference: image.reference, resolvedDigest: image.resolvedDigest, manifestDigest: image.manifestDigest, platform: image.platform, scope: image.scope, ...result };
  if (args.flag("json")) return void context.out.stdout(renderJson("vox.unpack/1", summary));
  context.out.stdout(`unpacked ${image.reference} (${image.manifestDigest}, ${formatPlatform(image.platform)}) into ${result.rootfs}: ${result.entries} entries, ${mib(result.bytes)} MiB\nconfig ${result.config}\n`);
};

async function readPolicy(path: string): Promise<string> {
  return readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_UNPACK_POLICY", `Cannot read the unpack policy ${path}: ${error.code ?? error.message}`, { hint: "Pass --policy a TOML file you can read, or leave it out for the safe defaults", exitCode: 2 });
  });
}

export const ociVerifyCommand: Handler = async (args, context) => {
  const source = positional(args, "source");
  const images = await verifySource(source, { ...(args.string("platform") ? { platform: args.string("platform")! } : {}), ...(args.string("scope") ? { scope: args.string("scope")! } : {}) }, { cacheDir: cacheDir(context), audit: auditSink(args, context), warn: (line) => context.out.stderr(`${line}\n`) });
  if (args.flag("json")) return void context.out.stdout(renderJson("vox.image-verify/1", { source, images }));
  context.out.stdout(`${images.map((i) => `ok ${formatPlatform(i.platform)} ${i.manifestDigest} (${i.layers} layers; sizes, digests and diff_ids verified)`).join("\n")}\n`);
};

export const ociCacheLsCommand: Handler = async (args, context) => {
  const listing = await listCache(cacheDir(context), scopeOption(args));
  if (args.flag("json")) return void context.out.stdout(renderJson("vox.cache/1", listing));
  const lines = [
    `cache ${listing.dir}: ${listing.blobs.count} blobs, ${mib(listing.blobs.bytes)} MiB, ${listing.blobs.unreferenced} referenced by no scope`,
    ...listing.scopes.flatMap((scope) => [`scope ${scope.name}`, ...scope.images.map((i) => `  ${i.reference} → ${i.digest}${i.manifests.length > 0 && !i.manifests.includes(i.digest) ? ` (${i.manifests.length} platform${i.manifests.length === 1 ? "" : "s"} pulled)` : ""}`)]),
  ];
  context.out.stdout(`${lines.join("\n")}\n`);
};

export const ociCacheVerifyCommand: Handler = async (args, context) => {
  const result = await verifyCache(cacheDir(context), scopeOption(args), { audit: auditSink(args, context), warn: (line) => context.out.stderr(`${line}\n`) });
  if (args.flag("json")) context.out.stdout(renderJson("vox.cache-verify/1", result));
  else context.out.stdout(`${result.problems.length === 0 ? "ok" : "problems"}: ${result.blobs} blobs and ${result.images} images checked${result.problems.map((p) => `\n  - ${p}`).join("")}\n`);
  return result.problems.length === 0 ? 0 : 1;
};

export const ociCacheGcCommand: Handler = async (args, context) => {
  const result = await gcCache(cacheDir(context), scopeOption(args), { audit: auditSink(args, context), clock: context.clock });
  if (args.flag("json")) return void context.out.stdout(renderJson("vox.cache-gc/1", result));
  const freed = result.removed.reduce((sum, b) => sum + b.size, 0);
  context.out.stdout(`removed ${result.removed.length} blobs (${mib(freed)} MiB) and ${result.leftovers.length} leftovers of interrupted pulls; kept ${result.kept}\n`);
};

function report(image: PulledImage, pinned: string, counts: { fetched: number; reused: number; cache: string }): string {
  const bytes = image.layers.reduce((sum, l) => sum + l.size, 0);
  return [
    `resolved ${image.reference} → ${image.resolvedDigest}${image.mutable ? " (mutable tag)" : ""}`,
    `pinned ${pinned}`,
    `platform ${formatPlatform(image.platform)}: manifest ${image.manifestDigest}, config ${image.configDigest}`,
    `layers ${image.layers.length} (${mib(bytes)} MiB): sizes, digests and diff_ids verified; ${counts.fetched} blobs fetched, ${counts.reused} reused from the cache`,
    image.scope === null ? "read in place (no cache)" : `scope ${image.scope} in ${counts.cache}`,
  ].join("\n");
}

/** `registry/repository@digest`: the reference to use from now on. */
function pinnedReference(source: string, digest: string): string {
  const ref = parseReference(source);
  return `${ref.registry}/${ref.repository}@${digest}`;
}

/** The sink the command was given, also counting what happened for the report. */
function counting(sink: AuditSink): { audit: AuditSink; events: AuditEvent[] } {
  const events: AuditEvent[] = [];
  return { events, audit: { record: async (event) => (events.push(event), sink.record(event)) } };
}

function positional(args: ParsedArgs, name: string): string {
  const value = args.positionals[0];
  if (value === undefined) throw usageError("E_USAGE", `Cannot run ${args.path.join(" ")}: missing <${name}>`, `Usage: vox ${args.path.join(" ")} <${name}>`);
  return value;
}

function scopeOption(args: ParsedArgs): { scope?: string } {
  return args.string("scope") ? { scope: args.string("scope")! } : {};
}

function mib(bytes: number): string {
  return (bytes / (1 << 20)).toFixed(1);
}

