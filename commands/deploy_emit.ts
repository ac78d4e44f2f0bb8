// `vox deploy emit`: descriptors for one target from a Release (the log's tuple, by default the latest) or from a
// pinned image and the platform manifest. Option resolution and reporting only; the mapping is in emit/.

import { resolve } from "node:path";
import type { Handler } from "../cli/mod.ts";
import { EMIT_TARGETS, type EmitTarget, emitDescriptors } from "../emit/mod.ts";
import { writeEmitted } from "../emit/write.ts";
import { usageError, VoxError } from "../errors/mod.ts";
import { releaseInput } from "./_release_input.ts";

/** `vox deploy emit --target compose|kubernetes|quadlet|systemd [--release <seq>|latest | --image <ref>@sha256:… [--manifest FILE]] [--out DIR] [--strict] [--json]` */
export const deployEmitCommand: Handler = async (args, context) => {
  const target = args.string("target");
  if (!target || !(EMIT_TARGETS as readonly string[]).includes(target)) {
    throw usageError("E_USAGE", `Cannot emit for --target ${target ?? "(none)"}: not a descriptor target`, `Use --target ${EMIT_TARGETS.join("|")}`);
  }
  const { image, manifest, release } = await releaseInput(args, context);
  const input = { image, manifest };
  const { files, notExpressible } = emitDescriptors(target as EmitTarget, input);
  for (const n of notExpressible) context.out.stderr(`not expressible: ${n.field}: ${n.why}\n`);
  if (args.flag("strict") && notExpressible.length > 0) {
    throw new VoxError("E_NOT_EXPRESSIBLE", `Cannot emit ${target} descriptors under --strict: ${notExpressible.length} field(s) not expressible (listed above)`, {
      hint: "Change those fields in the manifest, choose another target, or drop --strict",
    });
  }
  const out = args.string("out");
  const written = out ? await writeEmitted(resolve(context.cwd, out), files) : undefined;
  if (args.flag("json")) {
    const report = { schema: "vox.emit/1", target, image: input.image, release: release?.seq ?? null, files: written ? files.map((f) => f.path) : files, not_expressible: notExpressible, ...(written ? { out: resolve(context.cwd, out!), removed: written.removed } : {}) };
    context.out.stdout(`${JSON.stringify(report)}\n`);
  } else if (written) {
    context.out.stdout(`${written.written.map((p) => `wrote ${p}`).join("\n")}\n`);
  } else {
    context.out.stdout(files.map((f) => (files.length > 1 ? `# ==> ${f.path} <==\n${f.content}` : f.content)).join("\n"));
  }
};
