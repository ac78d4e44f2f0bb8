import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { canonicalJson } from "./canonical_json.ts";
import { type Digest, parseDigest, sha256Digest, verifyDigest } from "./digest.ts";
import { MediaType } from "./media_types.ts";
import { type Descriptor, type Index, IndexSchema } from "./types.ts";

/** The annotation an image layout uses to name an entry of its index.json (its "tag"). */
export const REF_NAME = "org.opencontainers.image.ref.name";
const LAYOUT_FILE = { imageLayoutVersion: "1.0.0" };

/** Where blobs come from: an image layout, a cache or a registry. */
export interface BlobSource {
  readBlob(digest: Digest): Promise<Uint8Array>;
}

/**
 * An OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`): content-addressed, so
 * a blob already present is not written again, and every blob is re-verified when read.
 *
 * @example
 * ```ts
 * const layout = await openLayout("dist/oci", { create: true });
 * const digest = await layout.writeBlob(new TextEncoder().encode("{}"));
 * ```
 */
export async function openLayout(dir: string, options: { create?: boolean } = {}): Promise<Layout> {
  const marker = join(dir, "oci-layout");
  const present = await readFile(marker, "utf8").then((text) => JSON.parse(text) as { imageLayoutVersion?: string }, () => undefined);
  if (!present) {
    if (!options.create) {
      throw new VoxError("E_LAYOUT", `Cannot open OCI layout ${dir}: it has no oci-layout file`, { hint: "Pass the directory `vox deploy build --output oci:<dir>` wrote" });
    }
    await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
    await writeFileAtomic(marker, canonicalJson(LAYOUT_FILE));
    if (!(await exists(join(dir, "index.json")))) await writeFileAtomic(join(dir, "index.json"), canonicalJson(emptyIndex()));
  } else if (present.imageLayoutVersion !== "1.0.0") {
    throw new VoxError("E_LAYOUT", `Cannot open OCI layout ${dir}: imageLayoutVersion ${present.imageLayoutVersion} is not 1.0.0`);
  }
  return new Layout(dir);
}

export class Layout implements BlobSource {
  constructor(readonly dir: string) {}

  blobPath(digest: Digest): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.dir, "blobs", algorithm, hex);
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  /** Reads a blob and verifies it against its name: a layout on disk is not trusted to be intact. */
  async readBlob(digest: Digest): Promise<Uint8Array> {
    const bytes = await readFile(this.blobPath(digest)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") throw new VoxError("E_BLOB_MISSING", `Cannot read blob ${digest} from ${this.dir}: it is not there`, { hint: "Rebuild the layout, or copy it again" });
      throw error;
    });
    verifyDigest(bytes, digest, `blob ${digest} in ${this.dir}`);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * Stores bytes under their digest (write beside, then rename) and returns it. With `expected`, the bytes are
   * checked against it (hashed once, in its algorithm); without, their sha256 names them.
   */
  async writeBlob(bytes: Uint8Array, expected?: Digest): Promise<Digest> {
    if (expected !== undefined) verifyDigest(bytes, expected, `blob ${expected}`);
    const digest = expected ?? sha256Digest(bytes);
    const path = this.blobPath(digest);
    if (!(await exists(path))) await writeFileAtomic(path, bytes, { mode: 0o444 });
    return digest;
  }

  async readIndex(): Promise<Index> {
    const text = await readFile(join(this.dir, "index.json"), "utf8");
    const parsed = IndexSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new VoxError("E_LAYOUT", `Cannot read ${join(this.dir, "index.json")}: not an OCI index`, { hint: "Delete the directory and build again" });
    return parsed.data;
  }

  /**
   * Points `refName` at `descriptor` in index.json, replacing what it named before; with no name, adds the
   * descriptor once (referrers such as SBOMs live in the index unnamed).
   */
  async putIndexEntry(descriptor: Descriptor, refName?: string): Promise<void> {
    const index = await this.readIndex();
    const kept = index.manifests.filter((entry) => (refName === undefined ? entry.digest !== descriptor.digest || entry.annotations?.[REF_NAME] !== undefined : entry.annotations?.[REF_NAME] !== refName));
    const entry: Descriptor = refName === undefined ? descriptor : { ...descriptor, annotations: { ...descriptor.annotations, [REF_NAME]: refName } };
    await writeFileAtomic(join(this.dir, "index.json"), canonicalJson({ ...index, manifests: [...kept, entry] }));
  }

  /** The descriptor index.json names `refName`, if any. */
  async resolveRef(refName: string): Promise<Descriptor | undefined> {
    return (await this.readIndex()).manifests.find((entry) => entry.annotations?.[REF_NAME] === refName);
  }
}

function emptyIndex(): Index {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
