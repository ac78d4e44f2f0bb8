import { constants, type Stats } from "node:fs";
import { mkdir, open, stat } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { z } from "../errors/schema.ts";
import { type Owner, writableByOthers, writeFileAtomic } from "../io/mod.ts";

/** What the client has accepted before: the floor for anti-rollback (mirror index serials, release versions). */
const TrustStateSchema = z.object({
  schema: z.literal("vox.upgrade-state/1"),
  /** Highest index serial accepted, per mirror index URL. */
  indexSerials: z.record(z.string(), z.number().check(z.int())),
  /** Highest release version installed by an upgrade. */
  highestVersion: z.nullable(z.string()),
});

export type TrustState = z.infer<typeof TrustStateSchema>;

/**
 * The anti-rollback floors this host has accepted: none before the first upgrade (no file). A file that cannot be read
 * or is not a trust state is refused, not taken as empty: that would lower every floor, and a replayed older release
 * or index would then pass. So is one that another user could have written (`owner`: who runs vox, undefined on
 * Windows), with its directory: whoever can write the floors can lower them.
 */
export async function readTrustState(stateDir: string, owner: Owner | undefined): Promise<TrustState> {
  const path = join(stateDir, "trust.json");
  const damaged = (why: string) =>
    new VoxError("E_TRUST_STATE", `Cannot read the upgrade trust state ${path}: ${why}`, {
      hint: "It holds the floors against replayed older releases and mirror indexes. Restore it from a backup, or delete it to start afresh (the next release and index accepted become the new floors).",
    });
  let text: string;
  try {
    const handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    try {
      if (owner !== undefined) requireOwnState(path, await stat(stateDir), await handle.stat(), owner);
      text = await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof VoxError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { schema: "vox.upgrade-state/1", indexSerials: {}, highestVersion: null };
    throw damaged(code === "ELOOP" ? "it is a symbolic link" : (code ?? String(error)));
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw damaged("it is not JSON");
  }
  const parsed = TrustStateSchema.safeParse(document);
  if (!parsed.success) throw damaged(`it is not a vox.upgrade-state/1 document (${z.prettifyError(parsed.error).replaceAll("\n", "; ")})`);
  return parsed.data;
}

function requireOwnState(path: string, directory: Stats, file: Stats, owner: Owner): void {
  const directoryWhy = writableByOthers(directory, owner.uid, owner.gid);
  const fileWhy = writableByOthers(file, owner.uid, owner.gid);
  const why = directoryWhy ? `its directory ${directoryWhy}` : fileWhy ? `it ${fileWhy}` : undefined;
  if (why) {
    throw new VoxError("E_TRUST_STATE", `Cannot trust the upgrade trust state ${path}: ${why}, so another user could lower its floors`, {
      hint: "Keep VOX_STATE_DIR (default ~/.vox/state) yours alone: chown it and trust.json to yourself and chmod go-w them, or point VOX_STATE_DIR at a directory only you can write.",
    });
  }
}

export async function writeTrustState(stateDir: string, state: TrustState): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(stateDir, "trust.json"), `${JSON.stringify(state, null, 2)}\n`);
}
