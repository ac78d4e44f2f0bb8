// Vox.toml: the project's desired state (package identity, dependencies, deploy intent and packaging inputs).
// Owns its schema, parsing with errors that name file, line and key, and the JSON Schema editors use.

import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import semver from "semver";
import { z } from "zod";
import { VoxError } from "../errors/mod.ts";
import { parseReference } from "../oci/reference.ts";
import { parsePlatform } from "../oci/types.ts";
import { type KeyProblem, parseTomlWithSchema } from "./_toml_schema.ts";
import { jsonSchemaDocument } from "./toml_problems.ts";

export const MANIFEST_FILE = "Vox.toml";

/** Platforms built when `[deploy] platforms` is not given. */
export const DEFAULT_PLATFORMS: readonly string[] = ["linux/amd64", "linux/arm64"];

export const PACKAGE_KINDS = ["library", "application", "skill", "agent", "workflow", "snippet", "component"] as const;
export const DEPLOY_TARGETS = ["container", "bare-metal", "compose", "kubernetes", "coolify"] as const;
export const CONTAINER_RUNTIMES = ["docker", "podman", "auto"] as const;

const MANIFEST_HINT = "Fix the keys listed above; `vox deploy schema` prints a JSON Schema that lets editors check Vox.toml as you type";

const PACKAGE_NAME = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PORT = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/;
const PLATFORM_PART = /^[a-z0-9][a-z0-9._-]*$/;
/** setuid, setgid, sticky, and write for others: modes that turn a copied file into a privilege or a shared scratchpad. */
const SPECIAL_MODE_BITS = 0o7002;

// ---- field types -------------------------------------------------------------------------------------------

const packageName = z.string().regex(PACKAGE_NAME, "must be a package name such as 'http' or '@scope/http'");
const semanticVersion = z.string().refine((v) => semver.valid(v) === v, "must be a semantic version such as 1.2.3");
const versionRequirement = z.string().refine((v) => semver.validRange(v) !== null, 'must be a version requirement such as "^1.2"');
const nonEmpty = z.string().min(1, "must not be empty");

/** `os/architecture[/variant]`, each part a lowercase name: "linux/.." or "linux/" would name a directory, not a machine. */
export const platformString = z.string().refine(isPlatform, 'must be os/architecture[/variant] such as "linux/arm64", each part lowercase letters, digits, ".", "_" or "-" and not starting with "."');
const platform = platformString;
/** Strings that reach a process's argv or environment, where NUL would cut them short. */
const noNul = z.string().refine((value) => !value.includes("\0"), "must not contain NUL");

/** A string checked by a rule that returns what is wrong with it (or nothing), described for the JSON Schema. */
function checkedString(problemOf: (value: string) => string | undefined, description: string) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const problem = problemOf(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .meta({ description });
}

const baseImage = checkedString(
  (value) => {
    const problem = value === "scratch" ? undefined : referenceProblem(value);
    return problem && `must be an image reference such as "docker.io/library/alpine:3.20" or "scratch" (${problem})`;
  },
  'Base image: a reference such as "docker.io/library/alpine:3.20", pinned by vox.lock, or "scratch".',
);
const projectPath = checkedString(projectPathProblem, "A path relative to the project root (the directory of Vox.toml), with forward slashes.");
const imagePath = checkedString(imagePathProblem, "An absolute POSIX path inside the image.");

const fileMode = z
  .union([z.string(), z.number()])
  .transform((value, ctx) => {
    const mode = parseFileMode(value);
    if (mode === undefined) {
      ctx.addIssue({ code: "custom", message: fileModeProblem(value) });
      return z.NEVER;
    }
    return mode;
  })
  .meta({ description: 'Permissions of copied files: an octal string such as "0755", or an integer up to 0o7777 (write 0o755).' });

const exposedPort = z
  .string()
  .refine((v) => {
    const match = PORT.exec(v);
    return match !== null && Number(match[1]) >= 1 && Number(match[1]) <= 65535;
  }, 'must be a port with an optional protocol, such as "8080/tcp" or "53/udp"')
  .transform((v) => (v.includes("/") ? v : `${v}/tcp`));

const stringTable = z.record(nonEmpty, z.string());

// ---- tables ------------------------------------------------------------------------------------------------

// [package] and [deploy] are strict: an unknown key there is almost always a typo ("plaforms", "entry_point"), and
// a typo that is silently ignored builds the wrong image. Sections other tools own stay open.
const PackageSchema = z.strictObject({
  name: packageName,
  version: semanticVersion.default("0.1.0"),
  kind: z.enum(PACKAGE_KINDS).default("library"),
  description: z.string().optional(),
  license: nonEmpty.optional().meta({ description: "An SPDX license expression such as Apache-2.0." }),
  authors: z.array(z.string()).optional(),
  repository: nonEmpty.optional(),
  documentation: nonEmpty.optional(),
  homepage: nonEmpty.optional(),
  vendor: nonEmpty.optional(),
  keywords: z.array(z.string()).optional(),
});

const DependencySchema = z.union([
  versionRequirement,
  z.looseObject({
    version: versionRequirement.optional(),
    path: nonEmpty.optional(),
    git: nonEmpty.optional(),
    branch: nonEmpty.optional(),
    features: z.array(z.string()).optional(),
    optional: z.boolean().optional(),
    skills: z.array(z.string()).optional(),
  }),
]);

const excludePattern = checkedString(excludePatternProblem, "A path relative to `from` to leave out; '*' matches within a name, '**' any number of directories; a pattern without '/' matches that name at any depth.");

const CopySchema = z
  .strictObject({
    from: projectPath,
    to: imagePath.meta({ description: "Destination in the image; a directory's contents go under it; a file lands at it, or inside it when it ends with '/'." }),
    mode: fileMode.optional(),
    platform: platform.optional().meta({ description: "Copy only into this platform's image; must be listed in deploy.platforms." }),
    exclude: z.array(excludePattern).optional().meta({ description: "Paths under `from` not to copy, besides .git, .vox and OCI image layouts, which are never copied." }),
    allow_special_modes: z.boolean().optional().meta({ description: "Allow a `mode` with setuid, setgid or sticky bits, or writable by others." }),
  })
  .superRefine((copy, ctx) => {
    if (copy.mode !== undefined && (copy.mode & SPECIAL_MODE_BITS) !== 0 && copy.allow_special_modes !== true) {
      ctx.addIssue({ code: "custom", path: ["mode"], message: `0${copy.mode.toString(8)} is setuid, setgid, sticky or writable by others; set allow_special_modes = true if that is intended` });
    }
  });

const ContainerSchema = z.looseObject({
  image_name: nonEmpty.optional(),
  registry: nonEmpty.optional(),
  dockerfile: nonEmpty.optional(),
  build_args: z.array(z.tuple([z.string(), z.string()])).optional(),
});

const BareMetalSchema = z.looseObject({
  host: nonEmpty.optional(),
  user: nonEmpty.optional(),
  port: z.int().min(1).max(65535).optional(),
  service_name: nonEmpty.optional(),
  deploy_dir: imagePath.optional(),
});

const ComposeSchema = z.looseObject({
  project_name: nonEmpty.optional(),
  file: nonEmpty.optional(),
  services: z.array(z.string()).optional(),
});

const KubernetesSchema = z.looseObject({
  cluster: nonEmpty.optional(),
  namespace: nonEmpty.optional(),
  replicas: z.int().min(0).optional(),
  manifests_dir: nonEmpty.optional(),
});

/**
 * The CI gates `vox ci image-policy` runs on an image, in report order. Named here because Vox.toml's
 * `[deploy.policy]` says, per gate, whether a failure fails the run.
 */
export const POLICY_GATES = ["base-pinned", "lock", "platforms", "sbom", "provenance", "annotations", "release-manifest"] as const;
export type PolicyGate = (typeof POLICY_GATES)[number];

// Safe by default: a gate not listed is required, so adding a gate never quietly relaxes a pipeline.
const PolicySchema = z
  .strictObject(Object.fromEntries(POLICY_GATES.map((gate) => [gate, z.enum(["required", "advisory"]).default("required")])) as Record<PolicyGate, z.ZodDefault<z.ZodEnum<{ required: "required"; advisory: "advisory" }>>>)
  .meta({ description: "Which `vox ci image-policy` gates fail the run (required, the default) and which only warn (advisory)." });

const DeploySchema = z.strictObject({
  target: z.enum(DEPLOY_TARGETS).optional(),
  runtime: z.enum(CONTAINER_RUNTIMES).optional(),
  image_name: nonEmpty.optional(),
  registry: nonEmpty.optional(),
  container: ContainerSchema.optional(),
  compose: ComposeSchema.optional(),
  kubernetes: KubernetesSchema.optional(),
  "bare-metal": BareMetalSchema.optional(),
  coolify: z.record(z.string(), z.unknown()).optional(),
  fly: z.record(z.string(), z.unknown()).optional(),
  platforms: z.array(platform).min(1, "must list at least one platform").default([...DEFAULT_PLATFORMS]),
  base: baseImage.optional(),
  copy: z.array(CopySchema).optional(),
  entrypoint: z.array(noNul).optional(),
  cmd: z.array(noNul).optional(),
  env: z.record(z.string().regex(ENV_NAME, "must be an environment variable name (letters, digits, '_'; not starting with a digit)"), noNul).optional(),
  workdir: imagePath.optional(),
  user: nonEmpty.optional(),
  labels: stringTable.optional(),
  exposed_ports: z.array(exposedPort).optional(),
  policy: PolicySchema.optional(),
  manifest: projectPath.optional().meta({ description: "The platform manifest (vox.platform/v1: ports, resources, health, rollout, volumes, secrets), relative to Vox.toml. Default: vox.platform.toml beside Vox.toml." }),
});

/** The zod schema of Vox.toml. Cross-key rules (duplicate platforms, copy platforms) are checked by `parseManifest`. */
export const VoxManifestSchema = z.strictObject({
  package: PackageSchema,
  dependencies: z.record(packageName, DependencySchema).optional(),
  "dev-dependencies": z.record(packageName, DependencySchema).optional(),
  deploy: DeploySchema.optional(),
  // Owned by the language toolchain (vox-pm, the compiler); accepted here and passed through unvalidated.
  features: z.unknown().optional(),
  bin: z.unknown().optional(),
  workspace: z.unknown().optional(),
  skills: z.unknown().optional(),
  orchestrator: z.unknown().optional(),
  build: z.unknown().optional(),
  mobile: z.unknown().optional(),
});

export type VoxManifest = z.output<typeof VoxManifestSchema>;
export type PackageKind = (typeof PACKAGE_KINDS)[number];
export type DeploySection = NonNullable<VoxManifest["deploy"]>;
/** One `[[deploy.copy]]` entry after validation; `mode` is a number. */
export type DeployCopy = NonNullable<DeploySection["copy"]>[number];

// ---- parsing -----------------------------------------------------------------------------------------------

/**
 * Parses and validates Vox.toml text. Throws one VoxError (code `E_MANIFEST`) listing every problem as
 * `file:line: key: message`.
 *
 * @example
 * ```ts
 * const manifest = parseManifest('[package]\nname = "app"\n[deploy]\nbase = "scratch"\n');
 * manifest.deploy?.platforms; // ["linux/amd64", "linux/arm64"]
 * parseManifest('[package]\nname = "app"\n[deploy]\nplaforms = []\n'); // throws: Vox.toml:4: deploy.plaforms: unknown key; did you mean 'platforms'? …
 * ```
 */
export function parseManifest(text: string, options: { file?: string } = {}): VoxManifest {
  return parseTomlWithSchema(text, VoxManifestSchema, {
    file: options.file ?? MANIFEST_FILE,
    code: "E_MANIFEST",
    hint: MANIFEST_HINT,
    extraChecks: deployCrossChecks,
  });
}

/**
 * Reads and parses a Vox.toml file; messages name the file by `path`.
 *
 * @example
 * ```ts
 * const manifest = await readManifest("/src/app/Vox.toml");
 * manifest.package.name; // "app"
 * ```
 */
export async function readManifest(path: string): Promise<VoxManifest> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new VoxError("E_MANIFEST", `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: "Check that the file exists and is readable",
      cause: error,
    });
  }
  return parseManifest(text, { file: path });
}

/**
 * The base image of a manifest that is about to be built; building needs one, other commands do not.
 *
 * @example
 * ```ts
 * requireDeployBase(parseManifest('[package]\nname = "a"\n[deploy]\nbase = "scratch"\n')); // "scratch"
 * ```
 */
export function requireDeployBase(manifest: VoxManifest, options: { file?: string } = {}): string {
  const base = manifest.deploy?.base;
  if (base === undefined) {
    throw new VoxError("E_MANIFEST", `Cannot build an image: ${options.file ?? MANIFEST_FILE}: deploy.base is not set`, {
      hint: 'Add base = "<registry/repository:tag>" (or base = "scratch") under [deploy] in Vox.toml',
    });
  }
  return base;
}

/**
 * The JSON Schema (draft 2020-12) of Vox.toml for editors (Taplo / Even Better TOML). Describes what may be
 * written (defaults shown, not required); cross-key rules are only checked by `vox`. Same output on every call.
 *
 * @example
 * ```ts
 * const schema = voxManifestJsonSchema();
 * schema.properties.deploy.properties.platforms.default; // ["linux/amd64", "linux/arm64"]
 * ```
 */
export function voxManifestJsonSchema(): Record<string, any> {
  return jsonSchemaDocument(VoxManifestSchema, {
    id: "https://vox.dev/schemas/vox-toml.schema.json",
    title: "Vox.toml",
    description: "The Vox project manifest: package identity, dependencies, and deploy intent with packaging inputs.",
    // Refinements (checked strings, modes) have no JSON Schema form; editors get the type without them.
    unrepresentable: "any",
  });
}

// ---- rules ---------------------------------------------------------------------------------------------------

/** Rules over several keys of [deploy], checked even when other keys are wrong so every problem is listed at once. */
function deployCrossChecks(document: Record<string, unknown>): KeyProblem[] {
  const deploy = document.deploy;
  if (!isTable(deploy)) return [];
  const problems: KeyProblem[] = [];
  const platforms = Array.isArray(deploy.platforms) ? deploy.platforms : deploy.platforms === undefined ? [...DEFAULT_PLATFORMS] : [];
  const seen = new Set<unknown>();
  platforms.forEach((p, i) => {
    if (seen.has(p)) problems.push({ path: ["deploy", "platforms", i], message: `${JSON.stringify(p)} is listed twice` });
    seen.add(p);
  });
  if (Array.isArray(deploy.copy)) {
    deploy.copy.forEach((entry, i) => {
      if (isTable(entry) && typeof entry.platform === "string" && isPlatform(entry.platform) && !platforms.includes(entry.platform)) {
        problems.push({ path: ["deploy", "copy", i, "platform"], message: `${entry.platform} is not one of deploy.platforms (${platforms.join(", ")})` });
      }
    });
  }
  return problems;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPlatform(text: string): boolean {
  try {
    parsePlatform(text);
  } catch {
    return false;
  }
  return text.split("/").every((part) => PLATFORM_PART.test(part));
}

function referenceProblem(text: string): string | undefined {
  try {
    parseReference(text);
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^Cannot use image reference '.*?': /, "");
  }
}

/** Why `path` is not a safe project-relative path, or undefined. */
function projectPathProblem(path: string): string | undefined {
  if (path === "") return "must not be empty";
  if (path.includes("\0")) return "must not contain NUL";
  if (path.includes("\\")) return "must use forward slashes";
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return "must be relative to the project root, not absolute";
  const normalized = posix.normalize(path);
  if (normalized === ".." || normalized.startsWith("../")) return "must stay inside the project (it leaves it with '..')";
  return undefined;
}

/** Why `path` is not an absolute, `..`-free POSIX path inside the image, or undefined. */
function imagePathProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return "must be an absolute path inside the image, such as /app";
  if (path.includes("\0")) return "must not contain NUL";
  if (path.includes("\\")) return "must use forward slashes";
  if (path.split("/").includes("..")) return "must not contain '..'";
  if (path !== "/" && path.replace(/\/$/, "").slice(1).split("/").some((part) => part === "." || part === "")) {
    return `must be a plain path without '.' or empty parts (write ${JSON.stringify(posix.normalize(path))})`;
  }
  return undefined;
}

/** Why an `exclude` pattern cannot be used, or undefined. */
function excludePatternProblem(pattern: string): string | undefined {
  const problem = projectPathProblem(pattern);
  if (problem) return problem;
  if (pattern.split("/").some((part) => part === "." || part === "..")) return "must not contain '.' or '..' parts";
  return undefined;
}

/**
 * An octal mode from `"0755"`, `"755"`, `"0o755"` or an integer such as `0o755`. Integers whose decimal spelling
 * looks octal (`755`, i.e. 0o1363) are refused: they are almost always a missing `0o`.
 */
function parseFileMode(value: string | number): number | undefined {
  if (typeof value === "string") return /^(?:0o)?[0-7]{3,4}$/.test(value) ? Number.parseInt(value.replace(/^0o/, ""), 8) : undefined;
  if (!Number.isInteger(value) || value < 0 || value > 0o7777) return undefined;
  if (value > 0o777 && /^[0-7]{3,4}$/.test(String(value))) return undefined;
  return value;
}

function fileModeProblem(value: string | number): string {
  if (typeof value === "number" && Number.isInteger(value) && value > 0o777 && /^[0-7]{3,4}$/.test(String(value))) {
    return `${value} is a decimal number (0o${value.toString(8)}); write 0o${value} or "0${value}"`;
  }
  return 'must be an octal mode such as "0755"';
}
