import { openAsBlob } from "node:fs";
import { lstat } from "node:fs/promises";
import { VoxError } from "../../errors/mod.ts";
import type { Layout } from "../layout.ts";
import type { BlobSource } from "./client.ts";

/**
 * An image layout as the source of a push: documents read whole and verified by the layout, blobs opened as
 * file-backed Blobs that the upload hashes and sends piece by piece, so memory does not grow with a layer. As the
 * layout does, a link, fifo or directory where a blob should be is refused unopened.
 *
 * @example
 * ```ts
 * await client.pushImage(parseReference("r.example/app:1"), { root, source: layoutBlobSource(await openLayout("dist/oci")) });
 * ```
 */
export function layoutBlobSource(layout: Pick<Layout, "dir" | "blobPath" | "readBlob">): BlobSource {
  return {
    readBlob: (digest) => layout.readBlob(digest),
    openBlob: async (digest) => {
      const path = layout.blobPath(digest);
      const stat = await lstat(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") throw new VoxError("E_BLOB_MISSING", `Cannot read blob ${digest} from ${layout.dir}: it is not there`, { hint: "Rebuild the layout, or copy it again" });
        throw error;
      });
      if (!stat.isFile()) throw new VoxError("E_BLOB_UNUSABLE", `Cannot read blob ${digest} from ${layout.dir}: it is not a regular file`, { hint: "Remove it; vox stores blobs as regular files" });
      return openAsBlob(path);
    },
  };
}
