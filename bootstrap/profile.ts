import { lstat, readFile, realpath, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { dirname } from "node:path";
import { errorMessage, VoxError } from "../errors/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";

const BEGIN = "# >>> vox >>>";
const END = "# <<< vox <<<";

/** The shell profiles (under $HOME) that may get the PATH block: ~/.profile always, the rc files when they exist. */
export const PROFILES: readonly string[] = [".profile", ".bashrc", ".zshrc"];

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
export function addPathBlock(file: string, installDir: string): Promise<boolean> {
  return editProfile(file, (text) => withBlock(text ?? "", pathBlock(installDir)));
}

/** Removes the block from `file` if present; returns whether the file changed. */
export function removePathBlock(file: string): Promise<boolean> {
  return editProfile(file, (text) => (text === undefined ? undefined : withBlock(text, "")));
}

/**
 * Rewrites the profile `file` (whose directory is $HOME) with `edit` (undefined: leave it alone). A link is
 * followed and its target edited; the target keeps its mode and owner. Acting in another user's HOME (root
 * installing for a user), only files that user owns are edited and a new file is created as theirs: a profile
 * linked to someone else's file would otherwise make the caller write where the user cannot.
 */
async function editProfile(file: string, edit: (text: string | undefined) => string | undefined): Promise<boolean> {
  const target = await followLinks(file);
  const before = target.stats ? await readFile(target.path, "utf8") : undefined;
  const after = edit(before);
  if (after === undefined || after === before) return false;
  if (target.dangling) {
    throw new VoxError("E_PROFILE", `Cannot edit ${file}: it is a symbolic link to a file that does not exist`, { hint: `Point the link at an existing file or remove it, or add the install directory to PATH yourself (${NO_PATH_EDIT}).` });
  }
  const home = await stat(dirname(file));
  const caller = process.geteuid?.();
  const foreignHome = caller !== undefined && caller !== home.uid;
  if (foreignHome && target.stats && target.stats.uid !== home.uid) {
    const what = target.path === file ? "it" : `it leads to ${target.path}, which`;
    throw new VoxError("E_PROFILE", `Cannot edit ${file}: ${what} is owned by uid ${target.stats.uid}, not by uid ${home.uid} who owns ${dirname(file)}`, {
      hint: `A profile in another user's HOME is edited only if that user owns it. Run as that user, or edit PATH yourself (${NO_PATH_EDIT}).`,
    });
  }
  const owner = target.stats ?? (foreignHome ? home : undefined);
  await writeFileAtomic(target.path, after, { ...(target.stats ? { mode: target.stats.mode & 0o7777 } : {}), ...(owner && caller !== undefined ? { owner: { uid: owner.uid, gid: owner.gid } } : {}) }).catch((error: unknown) => {
    const where = target.path === file ? file : `${file} (${target.path})`;
    throw new VoxError("E_PROFILE", `Cannot edit ${where} with its owner and mode kept: ${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}`, {
      hint: `It was left as it was. Edit PATH yourself (${NO_PATH_EDIT}).`,
    });
  });
  return true;
}

const NO_PATH_EDIT = "vox-bootstrap --no-modify-path skips profiles; 'vox self uninstall' leaves a block it cannot remove";

/** Where writing through `file` lands: the end of its link chain, its stats if it exists, and whether a link dangles. */
async function followLinks(file: string): Promise<{ path: string; stats?: Stats; dangling?: boolean }> {
  const real = await realpath(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (real !== undefined) return { path: real, stats: await stat(real) };
  const link = await lstat(file).catch(() => undefined);
  return { path: file, dangling: link?.isSymbolicLink() ?? false };
}
