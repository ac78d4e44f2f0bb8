// The schema of `vox.platform/v1` as written (zod): every key, type, unit form and the single-table rules, plus the
// keys refused on sight. The validator runs it and `platformJsonSchema()` exports it, so both read one definition.

import { z } from "zod";
import { jsonSchemaDocument, type RefusedKey } from "../pm/toml_problems.ts";
import { PLATFORM_SCHEMAS } from "./types.ts";
import { BYTES_FORMS, BYTES_MAX, BYTES_STRING, CPU_CORES_BELOW, CPU_FORMS, CPU_STRING, cpuPrecisionProblem, DURATION, DURATION_FORMS, POSITIVE_DURATION } from "./units.ts";

/** An RFC 1123 label: what Kubernetes, Compose and Podman all accept as a name. */
export const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
/** A port name Kubernetes accepts (IANA service name): at most 15 characters, at least one letter, no `--`. */
export const PORT_NAME = /^(?=.{1,15}$)(?=[a-z0-9-]*[a-z])[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** An environment variable name; `__proto__` and `constructor` are refused as they are in TOML keys. */
export const ENV_NAME = /^(?!(?:__proto__|constructor)$)[A-Za-z_][A-Za-z0-9_]*$/;
const SEGMENT = String.raw`/(?!\.\.?(?:/|$))[A-Za-z0-9._+@-]+`;
/**
 * A mount path: absolute, plain parts (no `.`, `..`, empty parts or trailing `/`), characters every engine's mount
 * syntax takes unquoted, never `/` itself, and never over `/proc`, `/sys` or `/dev`, which the engine provides.
 */
export const MOUNT_PATH = new RegExp(`^(?!/(?:proc|sys|dev)(?:/|$))(?:${SEGMENT})+$`);
/** A working directory: `/` or a path of plain parts. */
export const WORKDIR = new RegExp(`^(?:/|(?:${SEGMENT})+)$`);
/** An HTTP request path: starts with `/`, printable ASCII without spaces. */
export const HTTP_PATH = /^\/[!-~]{0,1023}$/;
/** An octal file mode for a secret's files, as a string ("0400"), so `mode = 400` cannot mean 0o620 by accident. */
export const SECRET_MODE = /^0?[0-7]{3}$/;
/** No NUL: these strings reach argv and the environment, where NUL would cut them short. */
const NO_NUL = /^[^\u0000]*$/;

/** A string matching `pattern`, whose message (what is wrong and the accepted forms) may depend on the value. */
function matching(pattern: RegExp, message: string | ((value: string) => string)) {
  return z.string().regex(pattern, { error: (issue) => (typeof message === "string" ? message : message(String(issue.input))) });
}

/** An integer from `min` to `max`; the message says the range. */
function wholeNumber(min: number, max: number, what = "") {
  const range = `must be a whole number from ${min} to ${max}${what}`;
  // A missing key keeps the generic wording ("is required"); a wrong value gets the range.
  return z.int({ error: (issue) => (issue.input === undefined ? undefined : range) }).min(min, { error: range }).max(max, { error: range });
}

const dnsLabel = (what: string) => matching(DNS_LABEL, `must be ${what}: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`);
const command = z.array(matching(NO_NUL, "must not contain NUL")).min(1, { error: "must not be empty; leave the key out to keep the image's" });
const duration = matching(DURATION, (value) => `${JSON.stringify(value)} is not a duration; accepted forms: ${DURATION_FORMS}`).meta({ description: `A duration: ${DURATION_FORMS}.` });
const positiveDuration = matching(POSITIVE_DURATION, (value) => (DURATION.test(value) ? "must be longer than 0s" : `${JSON.stringify(value)} is not a duration; accepted forms: ${DURATION_FORMS}`)).meta({ description: `A duration longer than 0s: ${DURATION_FORMS}.` });

/** Bytes: a suffixed string or a whole number. A suffix such as "512MB" or "512m" is refused, since engines read it differently. */
const bytes = z
  .union([matching(BYTES_STRING, (value) => `${JSON.stringify(value)} is not a byte quantity; accepted forms: ${BYTES_FORMS}`), wholeNumber(1, BYTES_MAX, " (bytes)")], { error: `must be a byte quantity; accepted forms: ${BYTES_FORMS}` })
  .meta({ description: `A number of bytes: ${BYTES_FORMS}.` });

/** The rule, checked by the validator only, that a CPU number has at most three decimals. */
export const CPU_PRECISION_RULE = "resources.cpu_precision";

/** CPU: "500m", "0.5" or a number of cores. A number's precision is checked here and nowhere in JSON Schema (see cpuPrecisionProblem). */
const cpu = z
  .union([
    matching(CPU_STRING, (value) => `${JSON.stringify(value)} is not a CPU quantity; accepted forms: ${CPU_FORMS}`),
    z
      .number()
      .gt(0, { error: `must be more than 0; accepted forms: ${CPU_FORMS}` })
      .lt(CPU_CORES_BELOW, { error: `must be less than ${CPU_CORES_BELOW} cores` })
      .superRefine((value, ctx) => {
        const problem = cpuPrecisionProblem(value);
        // Named: JSON Schema's multipleOf cannot say "at most 3 decimals" of a binary float reliably.
        if (problem) ctx.addIssue({ code: "custom", message: problem, params: { rule: CPU_PRECISION_RULE } });
      }),
  ], { error: `must be a CPU quantity; accepted forms: ${CPU_FORMS}` })
  .meta({ description: `The CPU request: ${CPU_FORMS}.` });

// ---- tables ----------------------------------------------------------------------------------------------------

export const ProcessSchema = z.strictObject({
  entrypoint: command.optional().meta({ description: "Replaces the image's ENTRYPOINT (Kubernetes `command`)." }),
  cmd: command.optional().meta({ description: "Replaces the image's CMD (Kubernetes `args`)." }),
  env: z.record(matching(ENV_NAME, "must be an environment variable name (letters, digits, '_'; not starting with a digit)"), matching(NO_NUL, "must not contain NUL")).optional().meta({ description: "Non-secret environment; secrets are mounted from [[secrets]], never written here." }),
  workdir: matching(WORKDIR, "must be an absolute path of plain parts (letters, digits, . _ + @ -), such as /app").optional(),
});

export const PortSchema = z
  .strictObject({
    name: matching(PORT_NAME, "must be a port name: lowercase letters, digits and single '-', at least one letter, at most 15 characters").optional(),
    port: wholeNumber(1, 65535),
    protocol: z.enum(["tcp", "udp"]).optional().meta({ description: "Transport; default tcp." }),
    app_protocol: z.enum(["http", "grpc", "tcp"]).optional().meta({ description: "What speaks over a tcp port; default http. Not for udp ports." }),
    exposure: z.enum(["public", "internal"]).optional().meta({ description: "public: reachable from outside; internal (default): from other workloads only." }),
  })
  .superRefine((port, ctx) => {
    if (port.protocol === "udp" && port.app_protocol !== undefined) ctx.addIssue({ code: "custom", path: ["app_protocol"], message: "applies to tcp ports only; a udp port carries no application protocol here" });
  })
  // The same rule for JSON Schema validators, which cannot run the refinement above.
  .meta({ if: { properties: { protocol: { const: "udp" } }, required: ["protocol"] }, then: { not: { required: ["app_protocol"] } } });

export const ResourcesSchema = z.strictObject({
  cpu: cpu.optional(),
  memory_limit: bytes.optional().meta({ description: "Memory hard cap: the workload is stopped beyond it. Default 256Mi." }),
  memory_request: bytes.optional().meta({ description: "Memory the platform reserves; at most memory_limit. Default: memory_limit." }),
  ephemeral_storage: bytes.optional().meta({ description: "Cap on scratch disk (writable layer, logs, ephemeral volumes). Default: the engine's." }),
});

const timing = {
  interval: positiveDuration.optional(),
  timeout: positiveDuration.optional(),
  retries: wholeNumber(1, 100).optional(),
  start_period: duration.optional(),
};
export const HealthSchema = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({ kind: z.literal("http"), port: wholeNumber(1, 65535), path: matching(HTTP_PATH, "must be a request path starting with '/', printable ASCII without spaces").optional(), ...timing }),
    z.strictObject({ kind: z.literal("tcp"), port: wholeNumber(1, 65535), ...timing }),
    z.strictObject({ kind: z.literal("exec"), command, ...timing }),
  ],
  { error: (issue) => (issue.code === "invalid_union" ? 'kind must be "http", "tcp" or "exec"' : undefined) },
);

export const RolloutSchema = z
  .strictObject({
    instances: wholeNumber(1, 1000).optional(),
    strategy: z.enum(["rolling", "recreate"]).optional(),
    max_surge: wholeNumber(0, 1000).optional(),
    max_unavailable: wholeNumber(0, 1000).optional(),
    min_ready: duration.optional(),
  })
  .superRefine((rollout, ctx) => {
    if (rollout.strategy !== "recreate") return;
    for (const key of ["max_surge", "max_unavailable"] as const) {
      if (rollout[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: 'applies to strategy = "rolling" only; recreate stops every instance before starting new ones' });
    }
  })
  .meta({ if: { properties: { strategy: { const: "recreate" } }, required: ["strategy"] }, then: { properties: { max_surge: false, max_unavailable: false } } });

export const VolumeSchema = z
  .strictObject({
    name: matching(DNS_LABEL, (value) =>
      /^[/.~]/.test(value)
        ? "is a host path; host paths are never mounted (the workload would depend on, and could change, the host's files): name a volume instead, e.g. name = \"data\""
        : "must be a volume name: lowercase letters, digits and '-', at most 63 characters"),
    mount_path: matching(MOUNT_PATH, mountPathMessage),
    size: bytes.optional(),
    persistence: z.enum(["persistent", "ephemeral"]).optional(),
    access: z.enum(["single-writer", "read-only-many"]).optional(),
  })
  .superRefine((volume, ctx) => {
    if (volume.access === "read-only-many" && volume.persistence !== "persistent") ctx.addIssue({ code: "custom", path: ["access"], message: 'read-only-many needs persistence = "persistent": an ephemeral volume starts empty, so read-only it holds nothing' });
  })
  .meta({ if: { properties: { access: { const: "read-only-many" } }, required: ["access"] }, then: { properties: { persistence: { const: "persistent" } }, required: ["persistence"] } });

export const SecretSchema = z.strictObject({
  bundle: dnsLabel("the name of a secret bundle the platform holds"),
  mount_path: matching(MOUNT_PATH, mountPathMessage).optional(),
  mode: matching(SECRET_MODE, 'must be an octal mode as a string, such as "0400" or "0440"').optional(),
});

export const NetworkSchema = z.strictObject({ egress: z.enum(["public", "none"]).optional().meta({ description: "Outbound traffic: public (any address, the default) or none." }) });

export const SecuritySchema = z.strictObject({
  read_only_root_fs: z.boolean().optional().meta({ description: "Mount the image's filesystem read-only (volumes and /tmp stay writable). Default false." }),
  run_as_user: z
    .int({ error: "must be a whole number from 1 to 2147483647" })
    .min(1, { error: "0 is root; run as a non-root uid (1 to 2147483647), or leave the key out to use the image's user" })
    .max(2147483647, { error: "must be a whole number from 1 to 2147483647" })
    .optional()
    .meta({ description: "Run as this non-root uid. Default: the image's user." }),
});

/** The input schema of `vox.platform/v1`: what a manifest may say. Defaults are applied after it, by the validator. */
export const PlatformInputSchema = z.strictObject({
  schema: z.enum(PLATFORM_SCHEMAS).meta({ description: "The schema version; required." }),
  name: dnsLabel("a workload name").optional().meta({ description: "Workload name; default: the package name from Vox.toml." }),
  process: ProcessSchema.optional(),
  ports: z.array(PortSchema).max(100).optional(),
  resources: ResourcesSchema.optional(),
  health: HealthSchema.optional(),
  rollout: RolloutSchema.optional(),
  volumes: z.array(VolumeSchema).max(100).optional(),
  secrets: z
    .array(SecretSchema, { error: (issue) => (isTable(issue.input) ? "must list references to secret bundles ([[secrets]] bundle = \"…\"), never secret values" : undefined) })
    .max(100)
    .optional(),
  network: NetworkSchema.optional(),
  security: SecuritySchema.optional(),
});

export type PlatformInput = z.output<typeof PlatformInputSchema>;

function mountPathMessage(value: string): string {
  if (value === "/" || /^\/+$/.test(value)) return "must not be /: a mount over / would replace the image's whole filesystem";
  if (/^\/(?:proc|sys|dev)(?:\/|$)/.test(value)) return "must not be under /proc, /sys or /dev, which the engine provides";
  return "must be an absolute path of plain parts (letters, digits, . _ + @ -; no '.', '..', empty parts or trailing '/'), such as /var/lib/app";
}

function isTable(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const PRIVILEGED: RefusedKey = { message: "privileged mode is refused: a workload never gets the host's devices and kernel privileges", hint: "Remove the key; what an app needs from the host belongs in the platform, not in the manifest" };
const CAPABILITIES: RefusedKey = { message: "added capabilities are refused: a workload runs with the engine's default set or fewer", hint: "Remove the key; to bind a port below 1024, listen on a higher port and declare it in [[ports]]" };
const HOST_NAMESPACE: RefusedKey = { message: "host network, PID and IPC namespaces are refused: a workload is isolated from the host", hint: "Remove the key; declare the ports to publish in [[ports]] (exposure = \"public\" or \"internal\")" };
const HOST_PATH: RefusedKey = { message: "host paths are refused: a volume is named, never a directory of the host", hint: 'Remove the key and use [[volumes]] name = "…" with persistence = "persistent"' };
const LITERAL_SECRET: RefusedKey = { message: "a secret's value never appears in the manifest: [[secrets]] names a bundle the platform holds", hint: "Remove the value, store it in the platform's secret bundle, and keep only bundle, mount_path and mode here" };
const IMAGE: RefusedKey = { message: "the manifest does not name the image: a Release pairs it with an image pinned by digest", hint: "Remove the key; `vox deploy release --image <repo>@sha256:…` (default: the last build) records the image" };

/**
 * Keys refused wherever they appear, with why and what to do. They are not in the schema, so JSON Schema
 * validators refuse them too (as unknown keys).
 */
export const REFUSED_KEYS: Readonly<Record<string, RefusedKey>> = Object.freeze({
  privileged: PRIVILEGED,
  cap_add: CAPABILITIES,
  capabilities: CAPABILITIES,
  add_capabilities: CAPABILITIES,
  host_network: HOST_NAMESPACE,
  network_mode: HOST_NAMESPACE,
  host_pid: HOST_NAMESPACE,
  pid: HOST_NAMESPACE,
  host_ipc: HOST_NAMESPACE,
  ipc: HOST_NAMESPACE,
  host_path: HOST_PATH,
  source: HOST_PATH,
  bind: HOST_PATH,
  value: LITERAL_SECRET,
  values: LITERAL_SECRET,
  literal: LITERAL_SECRET,
  data: LITERAL_SECRET,
  image: IMAGE,
});

/**
 * The JSON Schema (draft 2020-12) of `vox.platform/v1` as written. What it cannot say (units beyond their syntax,
 * rules across tables) the validator still checks; `platform/differential_test.ts` lists those rules by name.
 *
 * @example
 * ```ts
 * platformJsonSchema().properties.schema.enum; // ["vox.platform/v1"]
 * ```
 */
export function platformJsonSchema(): Record<string, any> {
  return jsonSchemaDocument(PlatformInputSchema, {
    id: "https://vox.dev/schemas/vox.platform.v1.schema.json",
    title: "vox.platform.toml",
    description: "How an OCI image runs (vox.platform/v1): ports, process, resources, health, rollout, volumes, secrets, network and security intent.",
  });
}
