// Subpath imports: the package root also loads optional validator plugins (ajv, libxmljs2) that a compiled vox lacks.
import * as Enums from "@cyclonedx/cyclonedx-library/Enums";
import * as Models from "@cyclonedx/cyclonedx-library/Models";
import * as Serialize from "@cyclonedx/cyclonedx-library/Serialize";
import * as Spec from "@cyclonedx/cyclonedx-library/Spec";

export interface SbomInput {
  name: string;
  version?: string;
  license?: string;
  /** Every file our layers add, with its path in the image and its content sha256 (hex). */
  files: ReadonlyArray<{ path: string; sha256: string }>;
  /** The base image per platform; empty for scratch. */
  bases: ReadonlyArray<{ reference: string; platform: string; digest: string }>;
  /** RFC 3339, from SOURCE_DATE_EPOCH, so the same build gives the same SBOM. */
  created: string;
  toolVersion: string;
}

/**
 * A CycloneDX 1.6 JSON SBOM of an image vox built: the application as the container component, every file
 * we add (with sha256) and the base image per platform. Built with the CycloneDX project's own library;
 * bom-refs are derived from paths and platforms, and lists sorted, so the bytes are reproducible.
 *
 * @example
 * ```ts
 * const json = cycloneDxSbom({ name: "hello", files: [{ path: "/app/hello", sha256: "ab…" }], bases: [], created: "1970-01-01T00:00:00Z", toolVersion: "0.2.0" });
 * ```
 */
export function cycloneDxSbom(input: SbomInput): Uint8Array {
  const bom = new Models.Bom();
  bom.metadata.timestamp = new Date(input.created);
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, "vox", { version: input.toolVersion, bomRef: "tool:vox" }));
  const application = new Models.Component(Enums.ComponentType.Container, input.name, {
    bomRef: `image:${input.name}`,
    ...(input.version ? { version: input.version } : {}),
  });
  if (input.license) application.licenses.add(new Models.SpdxLicense(input.license));
  bom.metadata.component = application;
  for (const file of input.files) {
    const component = new Models.Component(Enums.ComponentType.File, file.path, { bomRef: `file:${file.path}` });
    component.hashes.set(Enums.HashAlgorithm["SHA-256"], file.sha256);
    bom.components.add(component);
    application.dependencies.add(component.bomRef);
  }
  for (const base of input.bases) {
    const component = new Models.Component(Enums.ComponentType.Container, base.reference, {
      bomRef: `base:${base.platform}`,
      version: base.digest,
      description: `base image for ${base.platform}`,
    });
    component.hashes.set(Enums.HashAlgorithm["SHA-256"], base.digest.replace(/^sha256:/, ""));
    bom.components.add(component);
    application.dependencies.add(component.bomRef);
  }
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  return new TextEncoder().encode(serializer.serialize(bom, { sortLists: true }));
}
