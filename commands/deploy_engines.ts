// `vox deploy up|down`: option resolution and reporting for running descriptors on the host's engine;
// detection, image loading and the engines' commands are in engines/.

import { join } from "node:path";
import type { CommandContext, Handler, ParsedArgs } from "../cli/mod.ts";
import { type Deployment, deployDown, deployUp, type Engine, type EngineDeps, UP_TARGETS, type UpTarget } from "../engines/mod.ts";
import { usageError } from "../errors/mod.ts";
import { type Project, STATE_DIR } from "../pm/mod.ts";
import { releaseInput } from "./_release_input.ts";

export const deployUpCommand: Handler = async (args, context) => {
  const { target, deployment } = await resolveDeployment(args, context);
  const { engine, loadedFrom } = await deployUp(target, deployment, engineDeps(context));
  report(args, context, { action: "up", target, engine, image: deployment.image, name: deployment.manifest.name, loaded_from: loadedFrom ?? null });
};

export const deployDownCommand: Handler = async (args, context) => {
  const { target, deployment } = await resolveDeployment(args, context);
  const { engine } = await deployDown(target, deployment, engineDeps(context));
  report(args, context, { action: "down", target, engine, image: deployment.image, name: deployment.manifest.name });
};

function engineDeps(context: CommandContext): EngineDeps {
  return { spawner: context.spawner, env: context.env, log: (line) => context.out.stderr(`${line}\n`) };
}

async function resolveDeployment(args: ParsedArgs, context: CommandContext): Promise<{ target: UpTarget; deployment: Deployment }> {
  const target = args.string("target");
  if (!target || !(UP_TARGETS as readonly string[]).includes(target)) {
    throw usageError("E_USAGE", `Cannot run --target ${target ?? "(none)"}: not an engine target`, `Use --target ${UP_TARGETS.join("|")}`);
  }
  const { image, manifest, project } = await releaseInput(args, context);
  return { target: target as UpTarget, deployment: { image, manifest, layouts: layoutsOf(project) } };
}

function layoutsOf(project: Project | undefined): string[] {
  return project ? [join(project.root, STATE_DIR, "oci")] : [];
}

function report(args: ParsedArgs, context: CommandContext, result: { action: "up" | "down"; target: UpTarget; engine: Engine; image: string; name: string; loaded_from?: string | null }): void {
  const { engine, ...rest } = result;
  if (args.flag("json")) {
    context.out.stdout(`${JSON.stringify({ ...rest, engine: { kind: engine.kind, version: engine.version, description: engine.description } })}\n`);
    return;
  }
  const what = result.action === "up" ? `${result.name} is up` : `${result.name} is down (containers, pods, networks and volumes removed)`;
  context.out.stdout(`${what}: ${result.target} on ${engine.description}\n`);
}
