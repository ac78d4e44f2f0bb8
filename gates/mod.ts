// CI gates over a built image (`vox ci image-policy`): evidence gathered from a layout or a registry through a small
// reader seam, then pure gate functions that say pass or fail, with the evidence, against Vox.toml and vox.lock.

export { gatherImageEvidence, type ImageEvidence, type ImageReader, layoutReader, type PlatformImage, registryReader, type ReferrerEvidence } from "./evidence.ts";
export { evaluateImagePolicy, type GateResult, type GateStatus, type PolicyLevel, type PolicyReport, type ProjectEvidence, renderPolicyReport } from "./image_policy.ts";
