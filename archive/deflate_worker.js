// The compression worker: compresses one chunk per message with deflateChunk and hands the bytes back (transferred,
// not copied). Plain JavaScript for the reason crc32.js gives; `bun build --compile` embeds it as a second entry
// point (policy/source_install.ts), since a compiled executable can start only a worker it was built with.
import { parentPort } from "node:worker_threads";
import { deflateChunk } from "./deflate_chunk.js";

parentPort.on("message", (job) => {
  try {
    const { deflated, crc } = deflateChunk(job);
    parentPort.postMessage({ id: job.id, deflated, crc }, [deflated.buffer]);
  } catch (error) {
    parentPort.postMessage({ id: job.id, error: error instanceof Error ? error.message : String(error) });
  }
});
