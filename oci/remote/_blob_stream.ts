import { createHash } from "node:crypto";
import { redactUrl } from "../../download/mod.ts";
import { VoxError } from "../../errors/mod.ts";
import { parseDigest } from "../digest.ts";
import type { Descriptor } from "../types.ts";
import { apiPath, ConsumerFailure, describe, pullScope, type Repository, type Session } from "./_session.ts";
import { RegistryError } from "./errors.ts";

export interface StreamBlobOptions {
  /** Receives the blob's bytes in order, each once; nothing is buffered beyond one chunk. */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Bytes the caller already holds from an earlier, interrupted read: the registry is asked for the rest (`Range`),
   * and the caller, who alone has the first bytes, checks the digest. Default 0: the digest is checked here.
   */
  from?: number;
}

/**
 * Streams a blob to `options.write` without holding it: capped at its declared size, resumed with `Range` after a
 * dropped or short connection (a registry that ignores Range is read past what was already taken), and, when read
 * from byte 0, checked for size and digest before this resolves. A failure of `write` is the caller's, never retried.
 */
export async function streamBlob(session: Session, repo: Repository, descriptor: Descriptor, options: StreamBlobOptions): Promise<void> {
  const what = `read blob ${descriptor.digest} from ${describe(repo)}`;
  const start = options.from ?? 0;
  if (!Number.isSafeInteger(start) || start < 0 || start > descriptor.size) throw new VoxError("E_BLOB_SIZE", `Cannot ${what} from byte ${start}: the blob has ${descriptor.size} bytes`);
  const { algorithm, hex } = parseDigest(descriptor.digest);
  const hash = start === 0 ? createHash(algorithm) : undefined;
  let position = start;
  let lastFailureAt = start;
  if (position < descriptor.size) {
    await session.consume(
      {
        registry: repo.registry,
        method: "GET",
        path: `${apiPath(repo)}/blobs/${descriptor.digest}`,
        scopes: [pullScope(repo.repository)],
        // The digest is over the stored bytes; a transparently decompressed body would never match.
        headers: { "accept-encoding": "identity" },
        ok: [200, 206],
        what,
      },
      {
        headersFor: (): Record<string, string> => (position > 0 ? { range: `bytes=${position}-` } : {}),
        progressed: () => {
          const moved = position > lastFailureAt;
          lastFailureAt = position;
          return moved;
        },
        consume: async (answer) => {
          const failure = (code: string, message: string, temporary: boolean) =>
            new RegistryError(code, `Cannot ${what}: ${message}`, { method: "GET", url: redactUrl(answer.url), status: answer.status, temporary, hint: temporary ? undefined : "The registry served different content than the manifest promises; do not use it" });
          // A 200 to a Range request is the whole blob again: skip what we already have.
          let skip = 0;
          if (answer.status === 206) {
            const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(answer.headers.get("content-range") ?? "");
            if (!range || Number(range[1]) !== position) throw failure("E_REGISTRY_RANGE", `asked for bytes from ${position}, got ${answer.headers.get("content-range") ?? "no Content-Range"}`, false);
          } else skip = position;
          const encoding = answer.headers.get("content-encoding");
          if (encoding && encoding !== "identity") throw failure("E_REGISTRY_ENCODING", `it was sent with Content-Encoding: ${encoding}, though identity was asked for`, false);
          if (!answer.body) throw failure("E_REGISTRY_TRUNCATED", "the answer has no body", true);
          const reader = answer.body.getReader();
          try {
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              let chunk = value;
              if (skip > 0) {
                const dropped = Math.min(skip, chunk.byteLength);
                skip -= dropped;
                chunk = chunk.subarray(dropped);
                if (chunk.byteLength === 0) continue;
              }
              if (position + chunk.byteLength > descriptor.size) throw failure("E_BLOB_SIZE", `the registry served more than the ${descriptor.size} bytes the descriptor says`, false);
              hash?.update(chunk);
              try {
                await options.write(chunk);
              } catch (error) {
                throw new ConsumerFailure(error);
              }
              position += chunk.byteLength;
              session.settings.onEvent({ kind: "transfer", direction: "download", digest: descriptor.digest, done: position, size: descriptor.size });
            }
          } catch (error) {
            void reader.cancel().catch(() => {});
            throw error;
          }
          if (position < descriptor.size) throw failure("E_REGISTRY_TRUNCATED", `the connection closed after byte ${position} of ${descriptor.size}`, true);
        },
      },
    );
  }
  if (hash && hash.digest("hex") !== hex) {
    throw new VoxError("E_DIGEST_MISMATCH", `Cannot use blob ${descriptor.digest} from ${describe(repo)}: its content hashes to something else`, {
      hint: "The registry served different bytes than it promised; do not use it, and report the source",
    });
  }
}
