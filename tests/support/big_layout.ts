// An image layout with one manifest over one large random layer, made by head, sha256sum and hand-written JSON (not
// by vox): what the push tests and the bench upload.
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalJson, type Descriptor, MediaType, sha256Digest } from "../../oci/mod.ts";

/** Writes the layout at `dir` with a layer of `size` bytes from /dev/urandom; its index.json names the manifest. */
export function layoutWithLayer(dir: string, size: number): { dir: string; layer: Descriptor } {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  const data = join(dir, "layer.tmp");
  execFileSync("sh", ["-c", `head -c ${size} /dev/urandom > '${data}'`]);
  const hex = execFileSync("sha256sum", [data], { encoding: "utf8" }).split(" ")[0]!;
  renameSync(data, join(dir, "blobs", "sha256", hex));
  const put = (bytes: Uint8Array) => (writeFileSync(join(dir, "blobs", "sha256", sha256Digest(bytes).slice(7)), bytes), sha256Digest(bytes));
  const layer: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: `sha256:${hex}`, size };
  const configBytes = canonicalJson({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layer.digest] } });
  const config: Descriptor = { mediaType: MediaType.ociConfig, digest: put(configBytes), size: configBytes.byteLength };
  const manifest = canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] });
  put(manifest);
  writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, "index.json"), canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ mediaType: MediaType.ociManifest, digest: sha256Digest(manifest), size: manifest.byteLength }] }));
  return { dir, layer };
}
