// Package-manager project files: Vox.toml (manifest), vox.lock (resolved packaging state), the packaging input sets
// of [[deploy.copy]], and the `vox.pm.provenance/1` sidecars `vox pm publish` writes (checked by `vox ci pm-provenance`).

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import semver from "semver";
import { z } from "zod";
import { errorMessage } from "../errors/mod.ts";
import type { Clock } from "../io/mod.ts";

export const PROVENANCE_DIR = join(".vox_modules", "provenance");

/** Clock skew tolerated before a `built_at_epoch` counts as "in the future". */
const FUTURE_SKEW_SECONDS = 24 * 60 * 60;

export const ProvenanceSchema = z.object({
  schema: z.literal("vox.pm.provenance/1"),
  package: z.string().regex(/^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/i, "must be a package name such as 'http' or '@scope/http'"),
  version: z.string().refine((v) => semver.valid(v) === v, "must be a semantic version such as 1.2.3"),
  content_hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be 'sha256:' followed by 64 lowercase hex digits"),
  built_at_epoch: z.number().int().nonnegative(),
  tool: z.string().min(1),
  registry: z.url({ protocol: /^https?$/ }),
});

export type Provenance = z.infer<typeof ProvenanceSchema>;

export interface ProvenanceFileReport {
  file: string;
  valid: boolean;
  package?: string;
  version?: string;
  problems: string[];
}

export interface ProvenanceReport {
  dir: string;
  found: boolean;
  files: ProvenanceFileReport[];
}

/**
 * Validates one sidecar's text: JSON, schema, and a build time not in the future.
 *
 * @example
 * ```ts
 * validateProvenance('{"schema":"vox.pm.provenance/1", …}', systemClock).problems; // []
 * ```
 */
export function validateProvenance(text: string, clock: Clock): { provenance?: Provenance; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problems: [`not JSON: ${errorMessage(error)}`] };
  }
  const parsed = ProvenanceSchema.safeParse(json);
  if (!parsed.success) return { problems: parsed.error.issues.map((issue) => `${issue.path.length > 0 ? `field '${issue.path.join(".")}'` : "document"}: ${issue.message}`) };
  const problems: string[] = [];
  if (parsed.data.built_at_epoch > clock.now().getTime() / 1000 + FUTURE_SKEW_SECONDS) problems.push(`field 'built_at_epoch': ${parsed.data.built_at_epoch} is in the future`);
  return { provenance: parsed.data, problems };
}

/** Validates every `*.json` sidecar under `root/.vox_modules/provenance`. */
export async function checkProvenanceDir(root: string, clock: Clock): Promise<ProvenanceReport> {
  const dir = join(root, PROVENANCE_DIR);
  const names = await readdir(dir).catch(() => undefined);
  if (!names) return { dir, found: false, files: [] };
  const files: ProvenanceFileReport[] = [];
  for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
    const { provenance, problems } = validateProvenance(await readFile(join(dir, name), "utf8"), clock);
    files.push({ file: name, valid: problems.length === 0, ...(provenance ? { package: provenance.package, version: provenance.version } : {}), problems });
  }
  return { dir, found: true, files };
}

export {
  CONTAINER_RUNTIMES,
  DEFAULT_PLATFORMS,
  DEPLOY_TARGETS,
  type DeployCopy,
  type DeploySection,
  MANIFEST_FILE,
  PACKAGE_KINDS,
  POLICY_GATES,
  type PolicyGate,
  type PackageKind,
  parseManifest,
  readManifest,
  requireDeployBase,
  type VoxManifest,
  VoxManifestSchema,
  voxManifestJsonSchema,
} from "./manifest.ts";
export {
  LOCK_FILE,
  LOCK_FORMAT_VERSION,
  LOCK_HEADER,
  type LockedBase,
  type LockedInput,
  lockFromResolution,
  lockProblems,
  parseLock,
  readLock,
  renderLock,
  type ResolvedBase,
  type VoxLock,
  VoxLockSchema,
  writeLock,
} from "./lock.ts";
export { ALWAYS_EXCLUDED, type CollectInputsOptions, collectInputs, type CopyEntry, excludeMatcher, type InputFile, type InputSet, inputSetHash } from "./inputs.ts";
export { findProjectRoot, loadProject, nodeProjectFs, type Project, type ProjectFs, projectStateDir, STATE_DIR } from "./project.ts";
export { formatKeyPath, type KeyPath, locateTomlKeys, type TomlKeyLocator } from "./toml_locator.ts";
export { ProjectFileError } from "./_toml_schema.ts";
