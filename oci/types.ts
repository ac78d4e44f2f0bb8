import { z } from "zod";
import { VoxError } from "../errors/mod.ts";
import { isDigest } from "./digest.ts";
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType } from "./media_types.ts";

const digestField = z.string().refine(isDigest, "must be a digest such as sha256:<64 lowercase hex>");
const annotations = z.record(z.string(), z.string());

export const PlatformSchema = z.object({
  architecture: z.string().min(1),
  os: z.string().min(1),
  variant: z.string().optional(),
  "os.version": z.string().optional(),
  "os.features": z.array(z.string()).optional(),
});
export type Platform = z.infer<typeof PlatformSchema>;

export const DescriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest: digestField,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: annotations.optional(),
  platform: PlatformSchema.optional(),
  artifactType: z.string().optional(),
});
export type Descriptor = z.infer<typeof DescriptorSchema>;

export const ManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.enum(MANIFEST_MEDIA_TYPES as [string, ...string[]]).optional(),
  artifactType: z.string().optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: annotations.optional(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export const IndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.enum(INDEX_MEDIA_TYPES as [string, ...string[]]).optional(),
  artifactType: z.string().optional(),
  manifests: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: annotations.optional(),
});
export type Index = z.infer<typeof IndexSchema>;

export const ImageConfigSchema = z.object({
  architecture: z.string().min(1),
  os: z.string().min(1),
  variant: z.string().optional(),
  created: z.string().optional(),
  author: z.string().optional(),
  config: z
    .object({
      User: z.string().optional(),
      ExposedPorts: z.record(z.string(), z.object({})).optional(),
      Env: z.array(z.string()).optional(),
      Entrypoint: z.array(z.string()).nullable().optional(),
      Cmd: z.array(z.string()).nullable().optional(),
      Volumes: z.record(z.string(), z.object({})).optional(),
      WorkingDir: z.string().optional(),
      Labels: z.record(z.string(), z.string()).nullable().optional(),
      StopSignal: z.string().optional(),
    })
    .loose()
    .optional(),
  rootfs: z.object({ type: z.literal("layers"), diff_ids: z.array(digestField) }),
  history: z.array(z.object({ created: z.string().optional(), created_by: z.string().optional(), comment: z.string().optional(), empty_layer: z.boolean().optional() }).loose()).optional(),
}).loose();
export type ImageConfig = z.infer<typeof ImageConfigSchema>;

/** A platform as `os/architecture[/variant]`, the form users type. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
}

/**
 * Whether two platforms name the same machine: os, architecture and variant agree, and linux/arm64 is linux/arm64/v8.
 *
 * @example
 * ```ts
 * samePlatform(parsePlatform("linux/arm64"), parsePlatform("linux/arm64/v8")); // true
 * ```
 */
export function samePlatform(a: Platform, b: Platform): boolean {
  if (a.os !== b.os || a.architecture !== b.architecture) return false;
  const normal = (p: Platform) => (p.architecture === "arm64" && (p.variant === undefined || p.variant === "v8") ? undefined : p.variant);
  return normal(a) === normal(b);
}

/**
 * Parses `os/architecture[/variant]`.
 *
 * @example
 * ```ts
 * parsePlatform("linux/arm64/v8"); // { os: "linux", architecture: "arm64", variant: "v8" }
 * ```
 */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new VoxError("E_PLATFORM", `Cannot use platform '${text}': expected os/architecture[/variant]`, { hint: "For example linux/amd64 or linux/arm64", exitCode: 2 });
  }
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}

/** Which kind of document some manifest bytes are, from their `mediaType` (or, when absent, their shape). */
export type ParsedDocument = { kind: "index"; mediaType: string; index: Index } | { kind: "manifest"; mediaType: string; manifest: Manifest };

/**
 * Parses a manifest or index and refuses ambiguous documents: a declared media type that disagrees with the
 * header, or a body with both `manifests` and `layers` (the OCI spec's "ambiguous" case).
 *
 * @example
 * ```ts
 * parseDocument(bytes, MediaType.ociIndex).kind; // "index"
 * ```
 */
export function parseDocument(bytes: Uint8Array, contentType: string | undefined, what = "manifest"): ParsedDocument {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new VoxError("E_OCI_DOCUMENT", `Cannot read ${what}: not UTF-8 JSON (${(error as Error).message})`, { hint: "The registry or layout is serving something that is not an OCI document" });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new VoxError("E_OCI_DOCUMENT", `Cannot read ${what}: not a JSON object`);
  const declared = typeof json.mediaType === "string" ? json.mediaType : undefined;
  const header = contentType?.split(";")[0]?.trim();
  const headerIsDocument = header !== undefined && [...INDEX_MEDIA_TYPES, ...MANIFEST_MEDIA_TYPES].includes(header);
  if (declared && headerIsDocument && declared !== header) {
    throw new VoxError("E_OCI_AMBIGUOUS", `Cannot read ${what}: it declares ${declared} but was served as ${header}`, { hint: "Refusing an ambiguous document; check the registry" });
  }
  if ("manifests" in json && "layers" in json) throw new VoxError("E_OCI_AMBIGUOUS", `Cannot read ${what}: it has both 'manifests' and 'layers'`, { hint: "Refusing an ambiguous document" });
  const mediaType = declared ?? (headerIsDocument ? header! : "manifests" in json ? MediaType.ociIndex : MediaType.ociManifest);
  const invalid = (issues: z.core.$ZodIssue[]) =>
    new VoxError("E_OCI_DOCUMENT", `Cannot read ${what}: ${issues.map((i) => `${i.path.join(".") || "document"} ${i.message}`).join("; ")}`);
  if (INDEX_MEDIA_TYPES.includes(mediaType)) {
    const parsed = IndexSchema.safeParse(json);
    if (!parsed.success) throw invalid(parsed.error.issues);
    return { kind: "index", mediaType, index: parsed.data };
  }
  if (MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    const parsed = ManifestSchema.safeParse(json);
    if (!parsed.success) throw invalid(parsed.error.issues);
    return { kind: "manifest", mediaType, manifest: parsed.data };
  }
  throw new VoxError("E_OCI_MEDIA_TYPE", `Cannot read ${what}: media type '${mediaType}' is not an image manifest or index`, { hint: `vox reads ${[...INDEX_MEDIA_TYPES, ...MANIFEST_MEDIA_TYPES].join(", ")}` });
}
