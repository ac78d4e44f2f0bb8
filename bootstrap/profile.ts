import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../io/mod.ts";

const BEGIN = "# >>> vox >>>";
const END = "# <<< vox <<<";

/** The PATH block install adds to a shell profile; uninstall removes exactly this block. */
export function pathBlock(installDir: string): string {
  const quoted = installDir.replaceAll("'", `'\\''`);
  return `${BEGIN}\n# Added by vox-bootstrap; 'vox self uninstall' removes this block.\ncase ":$PATH:" in *':${quoted}:'*) ;; *) export PATH='${quoted}':"$PATH" ;; esac\n${END}\n`;
}

/** `text` with its vox block replaced by `block` (or removed when `block` is empty); other lines untouched. */
export function withBlock(text: string, block: string): string {
  const start = text.indexOf(BEGIN);
  const end = start < 0 ? -1 : text.indexOf(END, start);
  if (start >= 0 && end >= 0) {
    const after = text.slice(end + END.length).replace(/^\n/, "");
    return `${text.slice(0, start)}${block}${after}`;
  }
  if (!block) return text;
  return `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}${block}`;
}

/** Adds or refreshes the block in `file` (creating it); returns whether the file changed. */
export async function addPathBlock(file: string, installDir: string): Promise<boolean> {
  const before = await readFile(file, "utf8").catch(() => "");
  const after = withBlock(before, pathBlock(installDir));
  if (after === before) return false;
  await writeFileAtomic(file, after);
  return true;
}

/** Removes the block from `file` if present; returns whether the file changed. */
export async function removePathBlock(file: string): Promise<boolean> {
  const before = await readFile(file, "utf8").catch(() => undefined);
  if (before === undefined) return false;
  const after = withBlock(before, "");
  if (after === before) return false;
  await writeFileAtomic(file, after);
  return true;
}
