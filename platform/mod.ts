// The platform manifest (`vox.platform/v1`): its schema, the one validator the CLI and control planes share, and
// the content hash of the normalized form. Runtime-neutral (Node, Bun, Deno): no I/O, no clock, no environment.

export * from "./types.ts";
export { canonicalManifestBytes, platformContentHash } from "./hash.ts";
export { INVARIANT_RULES, type InvariantRule } from "./invariants.ts";
export type { AppliedDefault } from "./normalize.ts";
export { CPU_PRECISION_RULE, platformJsonSchema, REFUSED_KEYS } from "./schema.ts";
export { BYTES_FORMS, CPU_FORMS, DURATION_FORMS } from "./units.ts";
export { MAX_MANIFEST_BYTES, type PlatformProblem, type PlatformValidation, validatePlatformManifest } from "./validate.ts";
