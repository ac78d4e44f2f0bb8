// `vox completions bash|zsh|fish|powershell`: the completion script for vox and vox-bootstrap, generated from
// their command tables (the same text `vox ci command-compliance --fix` commits under contracts/cli/completions/).

import type { Handler } from "../cli/mod.ts";
import { renderCompletions, SHELLS, type Shell } from "../cli/completions.ts";
import { usageError } from "../errors/mod.ts";
import { COMMAND_ROOTS } from "./_command_roots.ts";

/** `vox completions <shell>` */
export const completionsCommand: Handler = async (args, context) => {
  const shell = args.positionals[0]!;
  if (!(SHELLS as readonly string[]).includes(shell)) throw usageError("E_SHELL", `Cannot print completions for '${shell}': not a supported shell`, `Use one of ${SHELLS.join(", ")}.`);
  context.out.stdout(renderCompletions(shell as Shell, COMMAND_ROOTS));
};
