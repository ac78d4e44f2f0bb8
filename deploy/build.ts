import { relative } from "node:path";
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { CHUNK_SIZE, compressionWorkers, DeflatePool } from "../archive/mod.ts";
import { usageError, VoxError } from "../errors/mod.ts";
import type { Env, Spawner } from "../io/mod.ts";
import {
  artifactManifest,
  assembleImage,
  assembleIndex,
  type BaseImage,
  EMPTY_CONFIG,
  formatPlatform,
  type Descriptor,
  type Digest,
  type Document,
  type Layer,
  type LayerEntry,
  type Layout,
  MediaType,
  openLayout,
  parsePlatform,
  parseReference,
  type Platform,
  type RuntimeConfig,
  sha256Digest,
  writeLayer,
} from "../oci/mod.ts";
import { collectInputs, type InputFile, type InputSet, lockFromResolution, lockProblems, type Project, type ResolvedBase, type VoxLock, writeLock } from "../pm/mod.ts";
import { imageAnnotations, type ImageFacts, gitFacts } from "./annotations.ts";
import { type BaseStores, type ImageSource, materializeBase, resolveBase, verifyLockedBase } from "./base.ts";
import { findPlatformManifest, platformManifestPath } from "./platform_file.ts";
import { builderIdentity, slsaProvenance } from "./provenance.ts";
import { cycloneDxSbom } from "./sbom.ts";

/** The assembly format: bump it whenever the same inputs would give different image bytes. */
export const ASSEMBLY_FORMAT = "vox.oci/4";

export interface BuildOptions {
  /** Platforms to build, overriding Vox.toml's `platforms`. */
  platforms?: readonly string[];
  /** The image-layout directory to write. */
  outputDir: string;
  /** The name index.json gives the image (its "tag" in the layout). */
  tag: string;
  /** Fail when vox.lock is missing or stale instead of updating it. */
  locked?: boolean;
  /** --locked, and no network: base blobs must already be cached. */
  frozen?: boolean;
  /** Seconds since the epoch stamped on every file and the config (SOURCE_DATE_EPOCH). */
  sourceDateEpoch: number;
}

export interface BuildSeams {
  /** The registry, for resolving and fetching the base; absent means no network. */
  registry?: ImageSource;
  /** The shared base-blob cache directory. */
  cacheDir: string;
  env: Env;
  spawner: Spawner;
  hostname: string;
  toolVersion: string;
  log: (line: string) => void;
  /** Bytes of input files packed into layers so far, of all of them; called as each file is read. */
  progress?: (done: number, total: number) => void;
}

export interface BuildResult {
  indexDigest: Digest;
  index: Descriptor;
  outputDir: string;
  tag: string;
  platforms: Array<{ platform: string; manifest: Digest; base?: Digest }>;
  /** The platform manifest's content hash: with the index digest, the Release tuple. Null: the project has none. */
  manifestContentHash: Digest | null;
  /** The platform manifest, relative to the project root, and whether it exists (when not, the hash is null). */
  platformManifest: { path: string; found: boolean };
  attachments: Array<{ artifactType: string; digest: Digest }>;
  lockUpdated: boolean;
  /** Every document the build wrote, for pushing: the index, its manifests, and the attachments. */
  referrers: Document[];
}

/**
 * `vox deploy build`, as named steps: check (or refresh) the lock → check its platform digests against its base
 * index → materialise each platform's base → build our layers (platform-independent ones once, from the bytes
 * just hashed) → assemble configs, manifests and the index → attach the SBOM and provenance as referrers → name
 * the image in the layout.
 *
 * @example
 * ```ts
 * const result = await buildImage(await loadProject(process.cwd()), { outputDir: ".vox/oci", tag: "latest", sourceDateEpoch: 0 }, seams);
 * result.indexDigest; // "sha256:…"
 * ```
 */
export async function buildImage(project: Project, options: BuildOptions, seams: BuildSeams): Promise<BuildResult> {
  const deploy = project.manifest.deploy;
  const baseReference = deploy?.base;
  if (!deploy || !baseReference) {
    throw new VoxError("E_MANIFEST", `Cannot build an image: ${project.manifestPath} has no deploy.base`, { hint: 'Add base = "<registry/repository:tag>" or base = "scratch" under [deploy]' });
  }
  const platforms = selectPlatforms(deploy.platforms, options.platforms, project.manifestPath);
  // Before any work: an invalid platform manifest stops the build, so the Release tuple always names a valid one.
  const platform = await findPlatformManifest(project, { cwd: project.root });
  const inputs = await collectInputs(project.root, deploy.copy ?? []);
  const { lock, updated } = await checkLock(project, inputs, options, seams);
  // The cache first: a cache someone else can write is refused before anything is written anywhere.
  const cache = await openLayout(seams.cacheDir, { create: true, private: true });
  const output = await openLayout(options.outputDir, { create: true });
  const stores: BaseStores = { output, cache, warn: seams.log, ...(options.frozen || !seams.registry ? {} : { remote: seams.registry }) };
  if (lock.base) await verifyLockedBase(lock.base, stores);
  const bases = await materializeBases(lock, platforms, stores);
  const created = rfc3339(options.sourceDateEpoch);
  const layers = await buildInputLayers(inputs, options.sourceDateEpoch, { output, workers: compressionWorkers(seams.env.get("VOX_COMPRESSION_WORKERS")), ...(seams.progress ? { progress: seams.progress } : {}) });
  const facts = await projectFacts(project, seams.spawner, baseReference);
  const images = [];
  for (const platform of platforms) {
    const key = formatPlatform(platform);
    const base = bases.get(key);
    const annotations = imageAnnotations({ ...facts, ...(base ? { baseDigest: base.manifestDigest } : {}) });
    const { config, manifest } = assembleImage({
      platform,
      ...(base ? { base } : {}),
      layers: inputs.filter((input) => input.platform === undefined || input.platform === key).map((input) => ({ layer: layers.get(input)!, createdBy: `vox deploy build: copy ${input.from} → ${input.to}` })),
      runtime: runtimeConfig(deploy),
      annotations,
      created,
    });
    await output.writeBlob(config.bytes, config.descriptor.digest as Digest);
    await output.writeBlob(manifest.bytes, manifest.descriptor.digest as Digest);
    images.push({ platform: key, manifest, base });
  }
  const index = assembleIndex(images.map((image) => image.manifest.descriptor), imageAnnotations({ ...facts, ...(lock.base ? { baseDigest: lock.base.digest } : {}) }));
  await output.writeBlob(index.bytes, index.descriptor.digest as Digest);
  const referrers = await attach(index.descriptor, { inputs, lock, bases, facts, created, platforms, options, seams, output });
  await output.putIndexEntry(index.descriptor, options.tag);
  return {
    indexDigest: index.descriptor.digest as Digest,
    index: index.descriptor,
    outputDir: options.outputDir,
    tag: options.tag,
    platforms: images.map((image) => ({ platform: image.platform, manifest: image.manifest.descriptor.digest as Digest, ...(image.base ? { base: image.base.manifestDigest } : {}) })),
    manifestContentHash: platform?.contentHash ?? null,
    platformManifest: { path: relative(project.root, platform?.path ?? platformManifestPath(project)), found: platform !== undefined },
    attachments: referrers.map((doc) => ({ artifactType: doc.descriptor.artifactType!, digest: doc.descriptor.digest as Digest })),
    lockUpdated: updated,
    referrers,
  };
}

/**
 * Step 1: the lock must describe what is being built. Under --locked or --frozen a stale or missing lock is an
 * error naming every stale entry; otherwise the base is resolved again and vox.lock rewritten, as cargo does.
 */
async function checkLock(project: Project, inputs: InputSet[], options: BuildOptions, seams: BuildSeams): Promise<{ lock: VoxLock; updated: boolean }> {
  const manifest = project.manifest;
  const problems = project.lock ? lockProblems(manifest, project.lock, inputs, { assembly: ASSEMBLY_FORMAT }) : [`${project.lockPath} does not exist`];
  if (problems.length === 0) return { lock: project.lock!, updated: false };
  if (options.locked || options.frozen) {
    throw new VoxError("E_LOCK_STALE", `Cannot build with --${options.frozen ? "frozen" : "locked"}: vox.lock is stale:\n${problems.map((p) => `  - ${p}`).join("\n")}`, {
      hint: "Run `vox lock` and commit vox.lock, then build again",
    });
  }
  if (!seams.registry && manifest.deploy?.base !== "scratch") {
    throw new VoxError("E_LOCK_STALE", `Cannot refresh vox.lock without network access:\n${problems.map((p) => `  - ${p}`).join("\n")}`, { hint: "Run `vox lock` where the registry is reachable" });
  }
  const lock = await resolveLock(project, inputs, (manifest.deploy?.platforms ?? []).map(parsePlatform), seams);
  await writeLock(project.lockPath, lock);
  seams.log(`vox.lock updated (${problems.join("; ")})`);
  return { lock, updated: true };
}

/**
 * `--platform` picks from Vox.toml's `platforms` (which the lock covers); a platform outside them would need a
 * base manifest nobody locked, so it is a usage error rather than a silent re-resolution.
 */
function selectPlatforms(declared: readonly string[], requested: readonly string[] | undefined, manifestPath: string): Platform[] {
  const wanted = requested ?? declared;
  const unknown = wanted.filter((p) => !declared.includes(formatPlatform(parsePlatform(p))));
  if (unknown.length > 0) {
    throw usageError("E_PLATFORM", `Cannot build ${unknown.join(", ")}: not in deploy.platforms of ${manifestPath} (${declared.join(", ")})`, "Add it to `platforms` under [deploy], run `vox lock`, then build again");
  }
  return wanted.map(parsePlatform);
}

/** Resolves the base (when not scratch) and builds the lock `vox lock` writes. */
export async function resolveLock(project: Project, inputs: InputSet[], platforms: Platform[], seams: Pick<BuildSeams, "registry" | "toolVersion">): Promise<VoxLock> {
  const reference = project.manifest.deploy?.base ?? "scratch";
  let base: ResolvedBase | undefined;
  if (reference !== "scratch") {
    if (!seams.registry) throw new VoxError("E_OFFLINE", `Cannot resolve base ${reference}: network access is forbidden`, { hint: "Drop --frozen to let vox reach the registry" });
    base = await resolveBase(reference, platforms, seams.registry);
  }
  return lockFromResolution({ base, inputs, assembly: ASSEMBLY_FORMAT, tool: seams.toolVersion });
}

/** Step 2: each platform's base, copied into the output layout from the cache or the registry. */
async function materializeBases(lock: VoxLock, platforms: Platform[], stores: BaseStores): Promise<Map<string, BaseImage>> {
  const bases = new Map<string, BaseImage>();
  if (!lock.base) return bases;
  const ref = parseReference(lock.base.reference);
  for (const platform of platforms) {
    const entry = lock.base.platforms.find((p) => p.platform === formatPlatform(platform))!;
    bases.set(formatPlatform(platform), await materializeBase(ref, entry.digest as Digest, stores));
  }
  return bases;
}

/**
 * Step 3: one layer per [[deploy.copy]] entry, each built once however many platforms use it. Files stream from disk
 * into the layer (never whole in memory) and must be the bytes hashed against the lock: `verifiedContent` fails the
 * layer, and nothing is named in the layout, if one changed in between.
 */
async function buildInputLayers(inputs: InputSet[], mtime: number, target: { output: Layout; workers: number; progress?: (done: number, total: number) => void }): Promise<Map<InputSet, Layer>> {
  const layers = new Map<InputSet, Layer>();
  const pool = new DeflatePool(target.workers);
  const total = inputs.reduce((sum, input) => sum + input.files.reduce((n, file) => n + (file.type === "file" ? file.size : 0), 0), 0);
  let done = 0;
  const counted = (entry: LayerEntry): LayerEntry => {
    const { progress } = target;
    if (!progress || entry.read === undefined) return entry;
    const read = entry.read;
    return {
      ...entry,
      read: () => {
        done += entry.size ?? 0;
        progress(done, total);
        return read();
      },
    };
  };
  try {
    for (const input of inputs) layers.set(input, await writeLayer(input.files.map((file) => counted(inputLayerEntry(file))), { mtime, pool, blobs: target.output }));
  } finally {
    await pool.close();
  }
  return layers;
}

/** A layer entry for an input file: its bytes are read again when packed and must hash as `collectInputs` saw them. */
export function inputLayerEntry(file: InputFile): LayerEntry {
  return {
    path: file.path,
    type: file.type,
    mode: file.mode,
    ...(file.linkTarget === undefined ? {} : { linkTarget: file.linkTarget }),
    ...(file.type === "file" ? { size: file.size, read: () => verifiedContent(file) } : {}),
  };
}

/** Never follow a link swapped in for a file since it was hashed, and never block on a FIFO. */
const INPUT_OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * A file's bytes in 1 MiB pieces, hashed on the way; it must still be a regular file of the size and sha256 that
 * were locked, else E_INPUT_CHANGED after the last piece (the layer being written is then discarded).
 */
async function* verifiedContent(file: InputFile): AsyncGenerator<Uint8Array> {
  const handle = await open(file.source, INPUT_OPEN_FLAGS).catch((error: NodeJS.ErrnoException) => {
    throw inputChanged(file, error.code === "ELOOP" ? "it is now a symbolic link" : `it cannot be opened (${error.code ?? error.message})`);
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw inputChanged(file, "it is no longer a regular file");
    const hash = createHash("sha256");
    const buffer = new Uint8Array(Math.min(CHUNK_SIZE, file.size + 1));
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0 || total + bytesRead > file.size) {
        if (bytesRead !== 0) throw inputChanged(file, `it grew past the ${file.size} bytes hashed`);
        break;
      }
      total += bytesRead;
      hash.update(buffer.subarray(0, bytesRead));
      yield buffer.subarray(0, bytesRead);
    }
    if (total !== file.size || hash.digest("hex") !== file.sha256) throw inputChanged(file, "its content differs from what was hashed");
  } finally {
    await handle.close();
  }
}

function inputChanged(file: InputFile, why: string): VoxError {
  return new VoxError("E_INPUT_CHANGED", `Cannot pack ${file.source} into the image: ${why} (it changed while vox was building)`, { hint: "Stop whatever is changing the files, then build again" });
}

function runtimeConfig(deploy: NonNullable<Project["manifest"]["deploy"]>): RuntimeConfig {
  return {
    ...(deploy.entrypoint ? { entrypoint: deploy.entrypoint } : {}),
    ...(deploy.cmd ? { cmd: deploy.cmd } : {}),
    ...(deploy.env ? { env: deploy.env } : {}),
    ...(deploy.workdir ? { workdir: deploy.workdir } : {}),
    ...(deploy.user ? { user: deploy.user } : {}),
    ...(deploy.labels ? { labels: deploy.labels } : {}),
    ...(deploy.exposed_ports ? { exposedPorts: deploy.exposed_ports } : {}),
  };
}

async function projectFacts(project: Project, spawner: Spawner, baseReference: string): Promise<ImageFacts> {
  const pkg = project.manifest.package;
  const git = await gitFacts(project.root, spawner);
  return {
    title: pkg.name,
    ...(pkg.version ? { version: pkg.version } : {}),
    ...(pkg.documentation ? { documentation: pkg.documentation } : {}),
    ...(pkg.vendor ? { vendor: pkg.vendor } : {}),
    ...(pkg.license ? { licenses: pkg.license } : {}),
    ...((git.source ?? pkg.repository) ? { source: git.source ?? pkg.repository } : {}),
    ...(git.revision ? { revision: git.revision } : {}),
    ...(baseReference === "scratch" ? {} : { baseName: baseReference }),
  };
}

interface AttachContext {
  inputs: InputSet[];
  lock: VoxLock;
  bases: Map<string, BaseImage>;
  facts: ImageFacts;
  created: string;
  platforms: Platform[];
  options: BuildOptions;
  seams: BuildSeams;
  output: Layout;
}

/**
 * Step 5: the SBOM and the provenance statement, as OCI 1.1 artifacts whose subject is the index. They sit
 * beside the image (unnamed in index.json), so the image digest does not depend on them.
 */
async function attach(subject: Descriptor, context: AttachContext): Promise<Document[]> {
  const { inputs, lock, bases, facts, created, seams } = context;
  const baseList = [...bases].map(([platform, base]) => ({ reference: lock.base!.reference, platform, digest: base.manifestDigest }));
  const sbom = cycloneDxSbom({
    name: facts.title,
    ...(facts.version ? { version: facts.version } : {}),
    ...(facts.licenses ? { license: facts.licenses } : {}),
    files: inputs.flatMap((input) => input.files.filter((f) => f.type === "file").map((f) => ({ path: `/${f.path}`, sha256: f.sha256! }))),
    bases: baseList,
    created,
    toolVersion: seams.toolVersion,
  });
  const builder = builderIdentity(seams.env, seams.hostname);
  const provenance = slsaProvenance({
    subject: { name: facts.title, digest: subject.digest },
    externalParameters: {
      project: facts.title,
      platforms: context.platforms.map(formatPlatform),
      ...(facts.source ? { source: facts.source } : {}),
      ...(facts.revision ? { revision: facts.revision } : {}),
      locked: Boolean(context.options.locked || context.options.frozen),
    },
    internalParameters: { assembly: ASSEMBLY_FORMAT, sourceDateEpoch: context.options.sourceDateEpoch },
    resolvedDependencies: [
      ...baseList.map((base) => ({ uri: `oci://${base.reference}`, digest: { sha256: base.digest.replace(/^sha256:/, "") }, annotations: { platform: base.platform } })),
      ...inputs.map((input) => ({ uri: `file:${input.from}`, name: `${input.from} → ${input.to}`, digest: { sha256: input.hash.replace(/^sha256:/, "") } })),
    ],
    builder: { id: builder.id, version: { vox: seams.toolVersion } },
    ...(builder.invocationId ? { invocationId: builder.invocationId } : {}),
  });
  const documents: Document[] = [];
  for (const [artifactType, payload] of [[MediaType.cycloneDxJson, sbom], [MediaType.inTotoJson, provenance]] as const) {
    const { manifest, blob } = artifactManifest(subject, { artifactType, payload, annotations: { "org.opencontainers.image.created": created } });
    await context.output.writeBlob(blob.bytes, blob.descriptor.digest as Digest);
    await context.output.writeBlob(EMPTY_CONFIG, sha256Digest(EMPTY_CONFIG));
    await context.output.writeBlob(manifest.bytes, manifest.descriptor.digest as Digest);
    await context.output.putIndexEntry(manifest.descriptor);
    documents.push(manifest);
  }
  return documents;
}

function rfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, "Z");
}

