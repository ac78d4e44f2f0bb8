// `vox self uninstall`: removes what vox-bootstrap's receipt says it installed, within what install can write.
// The receipt sits beside the running executable unless --install-dir names another directory; profiles are $HOME's.

import { homedir } from "node:os";
import { dirname, resolve } from "node:path";
import { uninstall } from "../bootstrap/mod.ts";
import type { Handler } from "../cli/mod.ts";
import { renderJson } from "../cli/json.ts";

export const uninstallCommand: Handler = async (args, context) => {
  const dir = resolve(context.cwd, args.string("install-dir") ?? dirname(context.execPath));
  const report = await uninstall(dir, { home: context.env.get("HOME") ?? homedir() });
  if (args.flag("json")) context.out.stdout(renderJson("vox.uninstall/1", report));
  else context.out.stdout(`removed ${report.removed.join(", ")}${report.profileEdits.length ? `; PATH block removed from ${report.profileEdits.join(", ")}` : ""}\n`);
};
