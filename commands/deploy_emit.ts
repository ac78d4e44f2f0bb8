// `vox deploy emit`: descriptors for one target from a Release (the log's tuple, by default the latest) or from a
// pinned image and the platform manifest. Option resolution and reporting only; the mapping is in emit/.

import { resolve } from "node:path";
import { BUILD_VERSION } from "../build/constants.ts";
import type { CommandContext, Handler, ParsedArgs } from "../cli/mod.ts";
import { COMPOSE_PROJECT_ARTIFACT_TYPE, type ComposeBundle, composeBundle, EMIT_TARGETS, type EmitTarget, type EmittedFile, emitDescriptors, pushComposeBundle } from "../emit/mod.ts";
import { writeEmitted } from "../emit/write.ts";
import { usageError, VoxError } from "../errors/mod.ts";
import { formatReference, parseReference } from "../oci/mod.ts";
import { releaseInput } from "./_release_input.ts";
import { registryClient } from "./_registry.ts";
import { renderJson } from "../cli/json.ts";

/** `vox deploy emit --target compose|kubernetes|quadlet|systemd [--release <seq>|latest | --image <ref>@sha256:… [--manifest FILE]] [--out DIR] [--push <ref>] [--strict] [--json]` */
export const deployEmitCommand: Handler = async (args, context) => {
  const target = args.string("target");
  if (!target || !(EMIT_TARGETS as readonly string[]).includes(target)) {
    throw usageError("E_USAGE", `Cannot emit for --target ${target ?? "(none)"}: not a descriptor target`, `Use --target ${EMIT_TARGETS.join("|")}`);
  }
  const push = args.string("push");
  if (push !== undefined && target !== "compose") throw usageError("E_USAGE", `Cannot --push ${target} descriptors: only a Compose file is published as a bundle`, "Use --target compose with --push");
  const { image, manifest, release } = await releaseInput(args, context);
  const input = { image, manifest };
  const { files, notExpressible } = emitDescriptors(target as EmitTarget, input);
  for (const n of notExpressible) context.out.stderr(`not expressible: ${n.field}: ${n.why}\n`);
  if (args.flag("strict") && notExpressible.length > 0) {
    throw new VoxError("E_NOT_EXPRESSIBLE", `Cannot emit ${target} descriptors under --strict: ${notExpressible.length} field(s) not expressible (listed above)`, {
      hint: "Change those fields in the manifest, choose another target, or drop --strict",
    });
  }
  // Refused before anything is written: a file that cannot travel is not published.
  const bundle = push === undefined ? undefined : bundleOf(files[0]!, context);
  const out = args.string("out");
  const written = out ? await writeEmitted(resolve(context.cwd, out), files) : undefined;
  const pushed = bundle && (await publishBundle(push!, bundle, args, context));
  if (args.flag("json")) {
    const report = { target, image: input.image, release: release?.seq ?? null, files: written ? files.map((f) => f.path) : files, not_expressible: notExpressible, ...(written ? { out: resolve(context.cwd, out!), removed: written.removed } : {}), ...(pushed ? { pushed } : {}) };
    context.out.stdout(renderJson("vox.emit/1", report));
  } else if (pushed) {
    context.out.stdout(`${written ? `${written.written.map((p) => `wrote ${p}`).join("\n")}\n` : ""}pushed ${pushed.reference} (${pushed.artifact_type})\n`);
  } else if (written) {
    context.out.stdout(`${written.written.map((p) => `wrote ${p}`).join("\n")}\n`);
  } else {
    context.out.stdout(files.map((f) => (files.length > 1 ? `# ==> ${f.path} <==\n${f.content}` : f.content)).join("\n"));
  }
};

/**
 * `--push`: the Compose file as `docker compose publish` would push it. Created is SOURCE_DATE_EPOCH when set
 * (the same Release then pushes the same bytes), else now.
 */
function bundleOf(file: EmittedFile, context: CommandContext): ComposeBundle {
  const epoch = context.env.get("SOURCE_DATE_EPOCH");
  const created = (epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : context.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
  return composeBundle(file, { created, publisher: `vox ${BUILD_VERSION}` });
}

async function publishBundle(target: string, bundle: ComposeBundle, args: ParsedArgs, context: CommandContext): Promise<{ reference: string; digest: string; artifact_type: string }> {
  const reference = parseReference(target);
  const client = await registryClient(args, context, [target]);
  const digest = await pushComposeBundle(client, reference, bundle);
  return { reference: formatReference({ ...reference, digest }), digest, artifact_type: COMPOSE_PROJECT_ARTIFACT_TYPE };
}
