import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
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

export async function readTrustState(stateDir: string): Promise<TrustState> {
  const text = await readFile(join(stateDir, "trust.json"), "utf8").catch(() => undefined);
  const parsed = text === undefined ? undefined : TrustStateSchema.safeParse(JSON.parse(text));
  return parsed?.success ? parsed.data : { schema: "vox.upgrade-state/1", indexSerials: {}, highestVersion: null };
}

export async function writeTrustState(stateDir: string, state: TrustState): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  await writeFileAtomic(join(stateDir, "trust.json"), `${JSON.stringify(state, null, 2)}\n`);
}
