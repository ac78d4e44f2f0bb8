import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { z } from "../errors/schema.ts";
import { writeFileAtomic } from "../io/mod.ts";

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
 * or index would then pass.
 */
export async function readTrustState(stateDir: string): Promise<TrustState> {
  const path = join(stateDir, "trust.json");
  const damaged = (why: string) =>
    new VoxError("E_TRUST_STATE", `Cannot read the upgrade trust state ${path}: ${why}`, {
      hint: "It holds the floors against replayed older releases and mirror indexes. Restore it from a backup, or delete it to start afresh (the next release and index accepted become the new floors).",
    });
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { schema: "vox.upgrade-state/1", indexSerials: {}, highestVersion: null };
    throw damaged((error as NodeJS.ErrnoException).code ?? String(error));
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

export async function writeTrustState(stateDir: string, state: TrustState): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  await writeFileAtomic(join(stateDir, "trust.json"), `${JSON.stringify(state, null, 2)}\n`);
}
