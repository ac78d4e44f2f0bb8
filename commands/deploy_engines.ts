// `vox deploy up|down`: option resolution and reporting for running descriptors on the host's engine;
// detection, image loading and the engines' commands are in engines/.

import { join } from "node:path";
import type { CommandContext, Handler, ParsedArgs } from "../cli/mod.ts";
import { type BundleDeployment, type Deployment, deployDown, deployUp, type Engine, type EngineDeps, UP_TARGETS, type UpTarget } from "../engines/mod.ts";
import { usageError } from "../errors/mod.ts";
import { type Project, STATE_DIR } from "../pm/mod.ts";
import { deployInput } from "./_release_input.ts";
import { renderJson } from "../cli/json.ts";

export const deployUpCommand: Handler = async (args, context) => {
  const { target, deployment } = await resolveDeployment(args, context);
  const { engine, loadedFrom } = await deployUp(target, deployment, engineDeps(context));
  report(args, context, { action: "up", target, engine, ...subject(deployment), loaded_from: loadedFrom ?? null });
};

export const deployDownCommand: Handler = async (args, context) => {
  const { target, deployment } = await resolveDeployment(args, context);
  const { engine } = await deployDown(target, deployment, engineDeps(context));
  report(args, context, { action: "down", target, engine, ...subject(deployment) });
};

function engineDeps(context: CommandContext): EngineDeps {
  return { spawner: context.spawner, env: context.env, log: (line) => context.out.stderr(`${line}\n`) };
}

/** What the report names: the image and the workload, or the bundle and its Compose project. */
function subject(deployment: Deployment | BundleDeployment): { image: string; name: string; bundle?: string } {
  return "files" in deployment ? { image: deployment.bundle, name: deployment.name, bundle: deployment.bundle } : { image: deployment.image, name: deployment.manifest.name };
}

async function resolveDeployment(args: ParsedArgs, context: CommandContext): Promise<{ target: UpTarget; deployment: Deployment | BundleDeployment }> {
  const target = args.string("target");
  if (!target || !(UP_TARGETS as readonly string[]).includes(target)) {
    throw usageError("E_USAGE", `Cannot run --target ${target ?? "(none)"}: not an engine target`, `Use --target ${UP_TARGETS.join("|")}`);
  }
  const input = await deployInput(args, context);
  if ("files" in input) return { target: target as UpTarget, deployment: input };
  const { image, manifest, project } = input;
  return { target: target as UpTarget, deployment: { image, manifest, layouts: layoutsOf(project) } };
}

function layoutsOf(project: Project | undefined): string[] {
  return project ? [join(project.root, STATE_DIR, "oci")] : [];
}

function report(args: ParsedArgs, context: CommandContext, result: { action: "up" | "down"; target: UpTarget; engine: Engine; image: string; name: string; bundle?: string; loaded_from?: string | null }): void {
  const { engine, ...rest } = result;
  if (args.flag("json")) {
    context.out.stdout(renderJson(`vox.deploy-${result.action}/1`, { ...rest, engine: { kind: engine.kind, version: engine.version, description: engine.description } }));
    return;
  }
  const what = result.action === "up" ? `${result.name} is up` : `${result.name} is down (containers, pods, networks and volumes removed)`;
  context.out.stdout(`${what}: ${result.target} on ${engine.description}\n`);
}
