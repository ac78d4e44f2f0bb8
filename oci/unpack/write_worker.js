// The file-writing worker: creates, fills and finishes a batch of small files per message with plain synchronous
// calls, in order, so the unpacking thread spends no time waiting on or waking for them. Plain JavaScript for the reason
// archive/crc32.js gives; `bun build --compile` embeds it as an entry point (policy/packages.ts).
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, openSync, writeSync } from "node:fs";
import { parentPort } from "node:worker_threads";

/** Never follow what lies at the final component; O_EXCL fails on anything there, a link included. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

parentPort.on("message", ({ jobs }) => {
  parentPort.postMessage({ results: jobs.map(write) });
});

function write({ id, file, data }) {
  try {
    const fd = openSync(file.path, CREATE_FLAGS, 0o600);
    try {
      for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset, data.length - offset);
      // Owner before mode: chown clears set-id bits the policy chose to keep.
      if (file.owner) fchownSync(fd, file.owner.uid, file.owner.gid);
      fchmodSync(fd, file.mode);
      futimesSync(fd, file.atime, file.mtime);
    } finally {
      closeSync(fd);
    }
    return { id };
  } catch (error) {
    return { id, error: { message: error.message, code: error.code } };
  }
}
