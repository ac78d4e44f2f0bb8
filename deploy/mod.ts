// Packaging a Vox project as an OCI image: the build steps, base resolution, annotations, SBOM and provenance.
// Reads the project through pm/, writes images through oci/; commands only choose options and report.

export { Annotation, browsableUrl, gitFacts, imageAnnotations, type ImageFacts } from "./annotations.ts";
export { type ImageSource, materializeBase, type Mirror, mirroredSource, parseMirrors, resolveBase } from "./base.ts";
export { pushBuild } from "./push.ts";
export { ASSEMBLY_FORMAT, type BuildOptions, type BuildResult, type BuildSeams, buildImage, resolveLock } from "./build.ts";
export {
  checkPlatformFile,
  findPlatformManifest,
  formatPlatformProblem,
  loadPlatformManifest,
  noPlatformManifestError,
  PLATFORM_FILE,
  type PlatformFile,
  type PlatformFileOptions,
  platformManifestPath,
  platformProblemsError,
} from "./platform_file.ts";
export { builderIdentity, slsaProvenance } from "./provenance.ts";
export { cycloneDxSbom } from "./sbom.ts";
