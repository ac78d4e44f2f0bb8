// Differential test: an independent JSON Schema validator (ajv, draft 2020-12) over `platformJsonSchema()` and
// `validatePlatformManifest()` must reach the same verdict on generated and mutated manifests, except for the
// rules JSON Schema cannot express, listed below by name. Seeded; the seed is printed when a case fails.
import assert from "node:assert/strict";
import { test } from "node:test";
import Ajv2020 from "ajv/dist/2020.js";
import fc from "fast-check";
import { parse, stringify } from "smol-toml";
import { CPU_PRECISION_RULE, INVARIANT_RULES, platformJsonSchema, validatePlatformManifest } from "./mod.ts";

/**
 * What JSON Schema cannot say, so only our validator refuses it:
 * - resources.cpu_precision: "at most 3 decimals" of a binary float (multipleOf 0.001 fails on 0.3 in ajv);
 * - the rules across keys and tables (INVARIANT_RULES): uniqueness by one property of array items (ports,
 *   volume names, secret bundles, mount paths across volumes and secrets), a health check's port among the declared
 *   tcp ports, comparisons of two quantities (memory request and cap, timeout and interval, unavailable and
 *   instances), rollout parameters against the volumes, and the default name taken from Vox.toml.
 */
const NOT_IN_JSON_SCHEMA = new Set([
  CPU_PRECISION_RULE,
  "health.declared_port",
  "health.timeout_within_interval",
  "mounts.unique",
  "name.default",
  "ports.unique",
  "resources.memory_within_limit",
  "rollout.progress",
  "rollout.single_writer_surge",
  "rollout.unavailable_within_instances",
  "secrets.unique_bundle",
  "volumes.unique_name",
]);
/** Checks the exported JSON Schema makes as well. */
const IN_JSON_SCHEMA = new Set(["schema"]);
const RUNS = Math.max(1000, Number(process.env.VOX_PROPERTY_RUNS ?? 1500));

// ---- generators: mostly valid values, some invalid ones, and small pools so that collisions happen ----------------

/** A valid value most of the time, an invalid one sometimes. */
function mostly<T>(valid: fc.Arbitrary<T>, invalid: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: valid, weight: 40 }, { arbitrary: fc.constantFrom(...invalid), weight: 1 });
}

const dnsLabel = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/);
const duration = mostly(fc.constantFrom("10s", "500ms", "1m30s", "2s", "1h", "3s", "250ms", "1m"), ["10", "1.5s", "1s1m", "", "-1s", "10S", 10, "0s"]);
const bytes = mostly(fc.oneof(fc.constantFrom("512Mi", "1G", "1Gi", "64Mi", "256Mi", "2Ti", "500M", "100k"), fc.integer({ min: 1, max: 2 ** 40 })), ["512MB", "512m", "1.5Gi", "0", 0, -5, "1K", "Gi", 1.5, "1000000000000000"]);
const cpu = mostly(fc.oneof(fc.constantFrom("500m", "100m", "2", "0.5", "1.25", "9999.999"), fc.constantFrom(0.5, 2, 1.25, 0.001), fc.integer({ min: 1, max: 9999 })), ["500M", "0", 0, -1, 0.0005, 0.1 + 0.2, "1.5m", "0.0001", 10000, "m", true]);
const port = mostly(fc.oneof(fc.constantFrom(80, 8080, 9090, 53), fc.integer({ min: 1, max: 65535 })), [0, 70000, "80", 80.5, -1]);
const mountPath = mostly(fc.constantFrom("/data", "/cache", "/var/lib/app", "/run/secrets/db", "/srv/a.b+c@d", "/mnt/1", "/mnt/2", "/mnt/3", "/home/app", "/tmp/x"), ["/", "/proc", "/dev/shm", "data", "/a/../b", "/a/", "//a", "/a b", "/a:b"]);
const command = mostly(fc.array(fc.constantFrom("/bin/app", "--flag", "x y", "ünï"), { minLength: 1, maxLength: 3 }), [[], ["a\u0000b"], "x", [1]]);

const processTable = fc.record(
  {
    entrypoint: command,
    cmd: command,
    env: mostly(fc.dictionary(fc.constantFrom("A", "LOG", "_X", "MODE2"), fc.string({ maxLength: 5 }), { maxKeys: 3 }), [{ "1A": "x" }, { "A-B": "x" }, { A: 1 }, { A: "x\u0000" }]),
    workdir: mostly(fc.constantFrom("/app", "/", "/a/b"), ["app", "/a/../b", "/a/", "//a", 5]),
  },
  { requiredKeys: [] },
);
const portName = mostly(fc.constantFrom("http", "web", "grpc", "metrics", "h-2"), ["HTTP", "a--b", "x".repeat(16), "123", ""]);
const exposure = mostly(fc.constantFrom("public", "internal"), ["private", true]);
/** A tcp port with an application protocol, or a udp port without one; now and then the combination JSON Schema refuses with if/then. */
const portEntry = fc.oneof(
  { arbitrary: fc.record({ name: portName, port, protocol: mostly(fc.constant("tcp"), ["TCP", "sctp"]), app_protocol: mostly(fc.constantFrom("http", "grpc", "tcp"), ["https", "h2c"]), exposure }, { requiredKeys: ["port"] }), weight: 60 },
  { arbitrary: fc.record({ name: portName, port, protocol: fc.constant("udp"), exposure }, { requiredKeys: ["port", "protocol"] }), weight: 30 },
  { arbitrary: fc.record({ port, protocol: fc.constant("udp"), app_protocol: fc.constantFrom("http", "tcp") }), weight: 2 },
);
const timing = { interval: duration, timeout: duration, retries: mostly(fc.integer({ min: 1, max: 100 }), [0, 101, "3"]), start_period: duration };
const health = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("http"), port, path: mostly(fc.constantFrom("/", "/healthz", "/a?b=c"), ["healthz", "/a b", ""]), ...timing }, { requiredKeys: ["kind", "port"] }), weight: 40 },
  { arbitrary: fc.record({ kind: fc.constant("tcp"), port, ...timing }, { requiredKeys: ["kind", "port"] }), weight: 30 },
  { arbitrary: fc.record({ kind: fc.constant("exec"), command, ...timing }, { requiredKeys: ["kind", "command"] }), weight: 30 },
  { arbitrary: fc.record({ kind: fc.constantFrom("grpc", "HTTP", 1), port }, { requiredKeys: [] }), weight: 5 },
);
const rollingParameters = { max_surge: mostly(fc.integer({ min: 0, max: 3 }), [-1, "25%"]), max_unavailable: mostly(fc.integer({ min: 0, max: 6 }), [-1, "25%"]) };
const instances = mostly(fc.integer({ min: 1, max: 5 }), [0, 1001, "2"]);
/** Rolling with its parameters, recreate without them; now and then recreate with them, which JSON Schema refuses. */
const rollout = fc.oneof(
  { arbitrary: fc.record({ instances, strategy: mostly(fc.constant("rolling"), ["blue-green"]), ...rollingParameters, min_ready: duration }, { requiredKeys: [] }), weight: 60 },
  { arbitrary: fc.record({ instances, strategy: fc.constant("recreate"), min_ready: duration }, { requiredKeys: ["strategy"] }), weight: 30 },
  { arbitrary: fc.record({ strategy: fc.constant("recreate"), ...rollingParameters }, { requiredKeys: ["strategy"] }), weight: 5 },
);
const volumeName = mostly(fc.constantFrom("data", "cache", "tmp", "logs", "uploads", "index", "db", "spool"), ["/srv/data", "Data", "./x"]);
/** Read-only-many only for persistent volumes, but now and then for an ephemeral one, which JSON Schema refuses. */
const volume = fc.oneof(
  { arbitrary: fc.record({ name: volumeName, mount_path: mountPath, size: bytes, persistence: mostly(fc.constantFrom("persistent", "ephemeral"), ["durable"]), access: fc.constant("single-writer") }, { requiredKeys: ["name", "mount_path"] }), weight: 60 },
  { arbitrary: fc.record({ name: volumeName, mount_path: mountPath, size: bytes, persistence: fc.constant("persistent"), access: mostly(fc.constant("read-only-many"), ["rwx"]) }, { requiredKeys: ["name", "mount_path", "persistence"] }), weight: 30 },
  { arbitrary: fc.record({ name: volumeName, mount_path: mountPath, persistence: fc.constant("ephemeral"), access: fc.constant("read-only-many") }, { requiredKeys: ["name", "mount_path", "access"] }), weight: 3 },
);
const secret = fc.record(
  {
    bundle: mostly(fc.constantFrom("db", "api", "tls-certs", "smtp", "oauth", "s3", "signing", "license"), ["DB", "", "/etc/secret"]),
    mount_path: mountPath,
    mode: mostly(fc.constantFrom("0400", "0440", "644", "0600"), ["0999", 400, "rw", "04000"]),
  },
  { requiredKeys: ["bundle"] },
);

const manifest = fc.record(
  {
    schema: mostly(fc.constant("vox.platform/v1"), ["vox.platform/v2", "", 1]),
    name: mostly(dnsLabel, ["Bad_Name", "-x", "a".repeat(64), 5]),
    process: processTable,
    ports: fc.array(portEntry, { maxLength: 4 }),
    resources: fc.record({ cpu, memory_limit: bytes, memory_request: bytes, ephemeral_storage: bytes }, { requiredKeys: [] }),
    health,
    rollout,
    volumes: fc.array(volume, { maxLength: 3 }),
    secrets: fc.array(secret, { maxLength: 3 }),
    network: fc.record({ egress: mostly(fc.constantFrom("public", "none"), ["private"]) }, { requiredKeys: [] }),
    security: fc.record({ read_only_root_fs: mostly(fc.boolean(), ["yes", 1]), run_as_user: mostly(fc.integer({ min: 1, max: 65534 }), [0, -1, 2 ** 31, "1000"]) }, { requiredKeys: [] }),
  },
  { requiredKeys: ["schema"] },
);

// ---- mutations: keys added (unknown or refused), removed, values replaced, tables replaced --------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -5, max: 70000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
  fc.boolean(),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
  fc.dictionary(fc.constantFrom("a", "port", "kind"), fc.integer({ min: 0, max: 9 }), { maxKeys: 2 }),
);
const mutation = fc.record({
  op: fc.constantFrom("add", "delete", "replace"),
  at: fc.nat(),
  key: fc.constantFrom("privileged", "cap_add", "host_network", "host_pid", "ipc", "host_path", "source", "value", "image", "prot", "cpus", "mount", "typo_key", "name", "port"),
  value: anyValue,
});

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

/** Every table and array in the document, with the path to it (the root included). */
function containers(value: unknown, path: Array<string | number> = []): Array<{ path: Array<string | number>; node: Record<string, unknown> | unknown[] }> {
  if (typeof value !== "object" || value === null) return [];
  const children = Array.isArray(value) ? value.map((child, i) => containers(child, [...path, i])) : Object.entries(value).map(([key, child]) => containers(child, [...path, key]));
  return [{ path, node: value as Record<string, unknown> }, ...children.flat()];
}

function mutate(document: Record<string, unknown>, steps: ReadonlyArray<Mutation>): Record<string, unknown> {
  const copy = structuredClone(document);
  for (const step of steps) {
    const all = containers(copy);
    const { node } = all[step.at % all.length]!;
    if (Array.isArray(node)) {
      if (node.length === 0 || step.op === "add") node.push(step.value);
      else if (step.op === "delete") node.splice(step.at % node.length, 1);
      else node[step.at % node.length] = step.value;
      continue;
    }
    const keys = Object.keys(node);
    if (step.op === "add" || keys.length === 0) node[step.key] = step.value;
    else if (step.op === "delete") delete node[keys[step.at % keys.length]!];
    else node[keys[step.at % keys.length]!] = step.value;
  }
  return copy;
}

test(`ajv over platformJsonSchema() and validatePlatformManifest() agree on ${RUNS} generated and mutated manifests, but for the rules JSON Schema cannot express`, () => {
  const ajv = new Ajv2020({ allErrors: true });
  const schemaAccepts = ajv.compile(platformJsonSchema());
  const counts = { bothValid: 0, bothInvalid: 0, onlyNamedRules: 0, mutated: 0 };
  const seed = Number(process.env.VOX_PROPERTY_SEED ?? (Date.now() ^ (Math.random() * 0x7fffffff)));
  const steps = fc.oneof({ arbitrary: fc.constant([]), weight: 2 }, { arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }), weight: 1 });
  const property = fc.property(manifest, steps, (generated, steps) => {
    const document = mutate(generated as Record<string, unknown>, steps);
    const text = stringify(document);
    // ajv sees what a control plane sees after reading the TOML: the parsed document.
    const ajvValid = schemaAccepts(parse(text) as Json);
    const ours = validatePlatformManifest(text, { source: "vox.platform.toml", defaultName: "app" });
    const rules = ours.ok ? [] : ours.problems.map((p) => p.rule);
    for (const rule of rules) assert.ok(IN_JSON_SCHEMA.has(rule) || NOT_IN_JSON_SCHEMA.has(rule), `unlisted rule ${rule}`);
    const schemaProblems = ours.ok ? [] : ours.problems.filter((p) => IN_JSON_SCHEMA.has(p.rule));
    assert.equal(ajvValid, schemaProblems.length === 0, `ajv says ${ajvValid ? "valid" : `invalid (${JSON.stringify(schemaAccepts.errors?.slice(0, 3))})`}; ours: ${JSON.stringify(ours.ok ? "valid" : ours.problems.map((p) => `${p.key}: ${p.message} [${p.rule}]`))}\n--- manifest ---\n${text}`);
    if (steps.length > 0) counts.mutated++;
    if (ours.ok) counts.bothValid++;
    else if (schemaProblems.length > 0) counts.bothInvalid++;
    else counts.onlyNamedRules++;
  });
  try {
    fc.assert(property, { numRuns: RUNS, seed });
  } catch (error) {
    throw new Error(`differential test failed with seed ${seed} (rerun: VOX_PROPERTY_SEED=${seed})\n${(error as Error).message}`);
  }
  // The generators must reach every verdict, or agreeing would prove little.
  for (const [verdict, count] of Object.entries(counts)) assert.ok(count >= RUNS / 50, `only ${count} of ${RUNS} cases were ${verdict} (seed ${seed})`);
});

test("the differential test's list of rules JSON Schema cannot express is exactly the validator's named rules", () => {
  assert.deepEqual([...NOT_IN_JSON_SCHEMA].sort(), [CPU_PRECISION_RULE, ...Object.keys(INVARIANT_RULES)].sort());
});
