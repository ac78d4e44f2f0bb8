// Side effects behind narrow interfaces (environment, clock, spawning, output), bounded concurrency, file ownership.
// Owns the real implementations and the in-memory ones unit tests pass in; nothing here knows about vox.

export { type Env, mapEnv, processEnv } from "./env.ts";
export { type Clock, fixedClock, systemClock } from "./clock.ts";
export { isProcessAlive, nodeSpawner, type SpawnOptions, type SpawnResult, type Spawner } from "./spawn.ts";
export { bufferOutput, type Output, processOutput } from "./output.ts";
export { writeFileAtomic } from "./atomic.ts";
export { acquireFileLock, type FileLock, type FileLockOptions } from "./file_lock.ts";
export { mapLimit } from "./pool.ts";
export { fileChunks } from "./file_chunks.ts";
export { type Owner, processOwner, writableByOthers } from "./ownership.ts";
