import { mkdir, open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { VoxError } from "../errors/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";

/** What the client has accepted before: the floor for anti-rollback (mirror index serials, release versions). */
const TrustStateSchema = z.object({
  schema: z.literal("vox.upgrade-state/1"),
  /** Highest index serial accepted, per mirror index URL. */
  indexSerials: z.record(z.string(), z.number().int()),
  /** Highest release version installed by an upgrade. */
  highestVersion: z.string().nullable(),
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

export interface Lock {
  release(): Promise<void>;
}

/**
 * Takes the upgrade lock (an exclusively created file holding the owner's pid). A live holder is waited for up to
 * `waitMs`, then named in the error; a lock left by a dead process is taken over.
 */
export async function acquireLock(stateDir: string, options: { waitMs: number; sleep: (ms: number) => Promise<void>; isAlive: (pid: number) => boolean }): Promise<Lock> {
  await mkdir(stateDir, { recursive: true });
  const path = join(stateDir, "upgrade.lock");
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    try {
      const handle = await open(path, "wx", 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => unlink(path).catch(() => {}) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && !options.isAlive(holder)) {
      await unlink(path).catch(() => {});
      continue;
    }
    if (Date.now() >= deadline) {
      throw new VoxError("E_UPGRADE_LOCKED", `Cannot upgrade: another vox upgrade (pid ${holder || "unknown"}) holds ${path}`, {
        hint: "Wait for it to finish. If no upgrade is running, delete the lock file.",
      });
    }
    await options.sleep(100);
  }
}
