import { VoxError } from "../../errors/mod.ts";
import { type Digest, verifyDigest } from "../digest.ts";
import type { Reference } from "../reference.ts";
import { type Descriptor, parseDocument } from "../types.ts";
import { mapLimit } from "../../io/mod.ts";
import type { BlobSource, PushImageOptions, RegistryClient } from "./client.ts";
import { blobReader } from "./_upload.ts";

/** Indexes of indexes are legal but rare; a cycle or a pathological nesting stops here. */
const MAX_DEPTH = 4;

interface Plan {
  /** Every config and layer, once, however many manifests share it. */
  blobs: Map<string, Descriptor>;
  /** Child manifests (and nested indexes) in push order: referenced documents before the ones referencing them. */
  manifests: { descriptor: Descriptor; bytes: Uint8Array }[];
}

/** Blobs first (bounded parallelism), then platform manifests by digest, then the root by tag (or digest). */
export async function pushImage(client: RegistryClient, target: Reference, options: PushImageOptions & { concurrency: number }): Promise<Digest> {
  const { root, source } = options;
  const rootBytes = await readVerified(source, root);
  const plan: Plan = { blobs: new Map(), manifests: [] };
  await collect(source, root, rootBytes, plan, 0);
  const repo = { registry: target.registry, repository: target.repository };
  await mapLimit([...plan.blobs.values()], options.concurrency, (descriptor) =>
    // pushBlob verifies size and digest before sending.
    client.pushBlob(repo, descriptor, { read: blobReader(source, descriptor.digest as Digest), ...(options.mountFrom === undefined ? {} : { mountFrom: options.mountFrom }) }),
  );
  for (const { descriptor, bytes } of plan.manifests) {
    await client.pushManifest({ ...repo, digest: descriptor.digest as Digest }, { bytes, mediaType: descriptor.mediaType });
  }
  const rootTarget: Reference = target.tag === undefined ? { ...repo, digest: root.digest as Digest } : { ...repo, tag: target.tag };
  return client.pushManifest(rootTarget, { bytes: rootBytes, mediaType: root.mediaType });
}

async function collect(source: BlobSource, descriptor: Descriptor, bytes: Uint8Array, plan: Plan, depth: number): Promise<void> {
  if (depth > MAX_DEPTH) throw new VoxError("E_OCI_DOCUMENT", `Cannot push ${descriptor.digest}: indexes nest deeper than ${MAX_DEPTH} levels`);
  const document = parseDocument(bytes, descriptor.mediaType, `document ${descriptor.digest}`);
  if (document.kind === "manifest") {
    for (const blob of [document.manifest.config, ...document.manifest.layers]) plan.blobs.set(blob.digest, blob);
    return;
  }
  for (const child of document.index.manifests) {
    if (plan.manifests.some((m) => m.descriptor.digest === child.digest)) continue;
    const childBytes = await readVerified(source, child);
    await collect(source, child, childBytes, plan, depth + 1);
    plan.manifests.push({ descriptor: child, bytes: childBytes });
  }
}

/** Source documents are checked before upload too: a corrupt layout should fail here, with its own name, not at the registry. */
async function readVerified(source: BlobSource, descriptor: Descriptor): Promise<Uint8Array> {
  const bytes = await source.readBlob(descriptor.digest as Digest);
  if (bytes.byteLength !== descriptor.size) {
    throw new VoxError("E_BLOB_SIZE", `Cannot push ${descriptor.digest}: the source has ${bytes.byteLength} bytes, the descriptor says ${descriptor.size}`, {
      hint: "The image source is corrupt; rebuild it",
    });
  }
  verifyDigest(bytes, descriptor.digest, `${descriptor.digest} from the image source`);
  return bytes;
}
