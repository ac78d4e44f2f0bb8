// `vox deploy up|down` for one target: the descriptors are emitted afresh (same Release, same bytes) into a
// private directory, the image is made available to the engine, and the engine's own tool runs them.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { type EmittedFile, emitDescriptors, podmanRunArgs } from "../emit/mod.ts";
import { VoxError } from "../errors/mod.ts";
import { openLayout } from "../oci/layout.ts";
import type { PlatformManifest } from "../platform/types.ts";
import { detectEngine, type Engine } from "./detect.ts";
import { loadIntoPodman } from "./load.ts";
import type { EngineDeps, UpTarget } from "./mod.ts";

/** What to run: the pinned image, the normalized manifest, and the layouts a local-only image may be in. */
export interface Deployment {
  /** `repo@sha256:…`. */
  image: string;
  manifest: PlatformManifest;
  /** OCI layouts (the project's `.vox/oci`) searched when the engine does not have the image. */
  layouts: readonly string[];
}

/** A published Compose bundle (`vox deploy up --target compose --from <ref>`): its files, run as they are. */
export interface BundleDeployment {
  /** The Compose project name. */
  name: string;
  /** `registry/repository@sha256:…` of the bundle, for messages. */
  bundle: string;
  files: readonly EmittedFile[];
}

export interface UpResult {
  engine: Engine;
  /** The layout the image was loaded from, when the engine did not have it. */
  loadedFrom: string | undefined;
}

export interface DownResult {
  engine: Engine;
}

/**
 * Brings `deployment` up on the engine detected for `target`, loading the image from a layout first when only
 * a layout has it.
 *
 * @example
 * ```ts
 * const { engine } = await deployUp("compose", { image, manifest, layouts: [".vox/oci"] }, deps);
 * ```
 */
export async function deployUp(target: UpTarget, deployment: Deployment | BundleDeployment, deps: EngineDeps): Promise<UpResult> {
  const engine = await detectEngine(target, deps);
  deps.log(`engine: ${engine.description}`);
  // A bundle's images are pinned registry references: the engine pulls them.
  if (isBundle(deployment)) {
    await withFiles(deployment.files, (paths) => engineRun(composeArgv(engine, paths, deployment.name, ["up", "--detach"]), engine, deps));
    return { engine, loadedFrom: undefined };
  }
  const loadedFrom = await ensureImage(engine, deployment, deps);
  const { manifest, image } = deployment;
  if (target === "podman") {
    const [run, ...rest] = podmanRunArgs(image, manifest);
    await engineRun(["podman", run!, "--detach", ...rest], engine, deps);
    return { engine, loadedFrom };
  }
  await withDescriptors(target, deployment, async (file) => {
    if (target === "compose") await engineRun(composeArgv(engine, [file], manifest.name, ["up", "--detach"]), engine, deps);
    else if (engine.kind === "kubectl") await engineRun(["kubectl", "apply", "--filename", file], engine, deps);
    else await engineRun(["podman", "kube", "play", "--replace", ...(await kubePublish(manifest, deps)), file], engine, deps);
  });
  return { engine, loadedFrom };
}

/**
 * Removes everything `deployUp` made for `deployment`: containers, pods, the Compose network, and every volume,
 * persistent ones included (they belong to this workload and nothing else).
 *
 * @example
 * ```ts
 * await deployDown("podman", { image, manifest, layouts: [] }, deps);
 * ```
 */
export async function deployDown(target: UpTarget, deployment: Deployment | BundleDeployment, deps: EngineDeps): Promise<DownResult> {
  const engine = await detectEngine(target, deps);
  deps.log(`engine: ${engine.description}`);
  if (isBundle(deployment)) {
    await withFiles(deployment.files, (paths) => engineRun(composeArgv(engine, paths, deployment.name, COMPOSE_DOWN), engine, deps));
    return { engine };
  }
  const { manifest } = deployment;
  if (target === "podman") {
    await engineRun(["podman", "rm", "--force", "--ignore", "--time=10", manifest.name], engine, deps);
  } else {
    await withDescriptors(target, deployment, async (file) => {
      if (target === "compose") await engineRun(composeArgv(engine, [file], manifest.name, COMPOSE_DOWN), engine, deps);
      else if (engine.kind === "kubectl") await engineRun(["kubectl", "delete", "--filename", file, "--ignore-not-found", "--wait"], engine, deps);
      else await engineRun(["podman", "kube", "down", file], engine, deps);
    });
  }
  // Compose removes its own (project-prefixed) volumes; `podman run` and `kube play` leave named ones behind.
  if (engine.kind === "podman" && target !== "compose") await removePodmanVolumes(namedVolumes(target, deployment), engine, deps);
  if (engine.kind === "podman" && target === "kubernetes") await removeKubeNetwork(deps);
  return { engine };
}

async function withDescriptors(target: "compose" | "kubernetes", deployment: Deployment, use: (file: string) => Promise<void>): Promise<void> {
  const { files } = emitDescriptors(target, { image: deployment.image, manifest: deployment.manifest });
  // Each of these targets emits one file.
  await withFiles(files, (paths) => use(paths[0]!));
}

/** The files written to a private directory for the engine's tool, removed afterwards. */
async function withFiles(files: readonly EmittedFile[], use: (paths: string[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "vox-up-"));
  try {
    for (const file of files) await writeFile(join(dir, file.path), file.content, { mode: 0o600 });
    await use(files.map((file) => join(dir, file.path)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const COMPOSE_DOWN = ["down", "--volumes", "--remove-orphans"];

function composeArgv(engine: Engine, files: readonly string[], project: string, action: readonly string[]): string[] {
  return [...engine.compose!, ...files.flatMap((file) => ["--file", file]), "--project-name", project, ...action];
}

function isBundle(deployment: Deployment | BundleDeployment): deployment is BundleDeployment {
  return "files" in deployment;
}

/** The image in the engine's store, else loaded there from the first layout that holds its digest. */
async function ensureImage(engine: Engine, deployment: Deployment, deps: EngineDeps): Promise<string | undefined> {
  if (engine.kind === "kubectl") return undefined;
  const has = await deps.spawner.run(engine.kind === "podman" ? ["podman", "image", "exists", deployment.image] : ["docker", "image", "inspect", deployment.image]);
  if (has.code === 0) return undefined;
  const digest = deployment.image.slice(deployment.image.indexOf("@") + 1) as `sha256:${string}`;
  for (const dir of deployment.layouts) {
    const layout = await openLayout(dir).catch(() => undefined);
    if (!layout || !(await layout.hasBlob(digest))) continue;
    if (engine.kind === "docker") {
      throw new VoxError("E_ENGINE_LOAD", `Cannot make ${deployment.image} available to Docker: it is only in the layout ${dir}, and an image Docker loads from a file is not found by its registry digest`, {
        hint: "Push it (vox deploy build --push <registry/repo:tag>) and run with --image <registry/repo>@sha256:…, or use Podman",
      });
    }
    deps.log(`loading ${deployment.image} into Podman's store from ${dir}`);
    await loadIntoPodman(dir, deployment.image, deps);
    return dir;
  }
  return undefined;
}

/**
 * `--publish` for each public port where `kube play` takes it (Podman 4.4 and later, which from 4.7 no longer
 * publishes containerPorts by itself); Podman 4.3 publishes every containerPort and has no such option.
 */
async function kubePublish(manifest: PlatformManifest, deps: EngineDeps): Promise<string[]> {
  const help = await deps.spawner.run(["podman", "kube", "play", "--help"]);
  if (!/--publish\b/.test(help.stdout)) return [];
  return manifest.ports.filter((p) => p.exposure === "public").map((p) => `--publish=${p.port}:${p.port}/${p.protocol}`);
}

/** The named volumes the descriptors make podman create: `--volume NAME:…` of the run, the claims of kube play. */
function namedVolumes(target: "kubernetes" | "podman", { image, manifest }: Deployment): string[] {
  if (target === "podman") return podmanRunArgs(image, manifest).flatMap((arg) => (arg.startsWith("--volume=") ? [arg.slice("--volume=".length).split(":")[0]!] : []));
  const { files } = emitDescriptors("kubernetes", { image, manifest });
  return parseAllDocuments(files[0]!.content)
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } })
    .flatMap((d) => (d.kind === "PersistentVolumeClaim" && d.metadata?.name ? [d.metadata.name] : []));
}

async function removePodmanVolumes(names: readonly string[], engine: Engine, deps: EngineDeps): Promise<void> {
  for (const name of names) {
    if ((await deps.spawner.run(["podman", "volume", "exists", name])).code !== 0) continue;
    await engineRun(["podman", "volume", "rm", "--force", name], engine, deps);
  }
}

/**
 * `kube play` creates one network for every pod it starts and `kube down` keeps it: removed when no other pod
 * still uses it (podman refuses to remove a network in use, which is the answer wanted then).
 */
async function removeKubeNetwork(deps: EngineDeps): Promise<void> {
  if ((await deps.spawner.run(["podman", "network", "exists", KUBE_NETWORK])).code !== 0) return;
  const removed = await deps.spawner.run(["podman", "network", "rm", KUBE_NETWORK]);
  if (removed.code !== 0) deps.log(`kept the network ${KUBE_NETWORK}: ${removed.stderr.trim()}`);
}

const KUBE_NETWORK = "podman-default-kube-network";

async function engineRun(argv: readonly string[], engine: Engine, deps: EngineDeps): Promise<void> {
  deps.log(`$ ${argv.join(" ")}`);
  const result = await deps.spawner.run(argv);
  if (result.stdout.trim()) deps.log(result.stdout.trimEnd());
  if (result.code !== 0) {
    throw new VoxError("E_ENGINE", `Cannot run \`${argv.join(" ")}\`: exited ${result.code}\n${result.stderr.trim()}`, {
      hint: `The engine (${engine.description}) refused the descriptors; its message is above`,
    });
  }
}
