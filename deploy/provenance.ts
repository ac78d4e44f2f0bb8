import type { Env } from "../io/mod.ts";

export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";
export const IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1";
export const VOX_BUILD_TYPE = "https://vox.dev/deploy/build/v1";

/** One input the build consumed, pinned by digest: a base manifest or a locked input file set. */
export interface ResolvedDependency {
  uri: string;
  name?: string;
  digest: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ProvenanceInput {
  subject: { name: string; digest: string };
  externalParameters: Record<string, unknown>;
  internalParameters: Record<string, unknown>;
  resolvedDependencies: readonly ResolvedDependency[];
  builder: { id: string; version: Record<string, string> };
  invocationId?: string;
}

/**
 * An in-toto Statement v1 with a SLSA provenance v1 predicate: who built the image (builder) from what
 * (the lock's input hashes and the base digests) with which parameters.
 *
 * @example
 * ```ts
 * const statement = slsaProvenance({ subject: { name: "hello", digest: "sha256:…" }, externalParameters: {}, internalParameters: {}, resolvedDependencies: [], builder: { id: "urn:vox:builder:local", version: { vox: "0.2.0" } } });
 * ```
 */
export function slsaProvenance(input: ProvenanceInput): Uint8Array {
  const [algorithm, hex] = input.subject.digest.split(":") as [string, string];
  const statement = {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: input.subject.name, digest: { [algorithm]: hex } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: VOX_BUILD_TYPE,
        externalParameters: input.externalParameters,
        internalParameters: input.internalParameters,
        resolvedDependencies: input.resolvedDependencies,
      },
      runDetails: {
        builder: input.builder,
        metadata: input.invocationId ? { invocationId: input.invocationId } : {},
      },
    },
  };
  return new TextEncoder().encode(`${JSON.stringify(statement, null, 2)}\n`);
}

/**
 * Who is building: the GitHub Actions run when there is one (SLSA's builder id for hosted runners is the
 * workflow run), else this machine as a local builder. A run is only named when GITHUB_REPOSITORY and
 * GITHUB_RUN_ID are there and well-formed (an id with "undefined" in it names nothing); GITHUB_SERVER_URL
 * contributes only its origin, so credentials or a path in it never reach the statement.
 *
 * @example
 * ```ts
 * builderIdentity(mapEnv({ GITHUB_ACTIONS: "true", GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "a/b", GITHUB_RUN_ID: "1" }), "host").id;
 * // "https://github.com/a/b/actions/runs/1"
 * ```
 */
export function builderIdentity(env: Env, hostname: string): { id: string; invocationId?: string } {
  const server = serverOrigin(env.get("GITHUB_SERVER_URL") ?? "https://github.com");
  const repository = env.get("GITHUB_REPOSITORY");
  const runId = env.get("GITHUB_RUN_ID");
  if (env.get("GITHUB_ACTIONS") === "true" && server && repository && /^[\w.-]+\/[\w.-]+$/.test(repository) && runId && /^\d+$/.test(runId)) {
    const workflow = env.get("GITHUB_WORKFLOW_REF");
    const run = `${server}/${repository}/actions/runs/${runId}`;
    const attempt = /^\d+$/.test(env.get("GITHUB_RUN_ATTEMPT") ?? "") ? env.get("GITHUB_RUN_ATTEMPT") : "1";
    return { id: workflow ? `${server}/${workflow}` : run, invocationId: `${run}/attempts/${attempt}` };
  }
  return { id: `urn:vox:builder:local:${hostname}` };
}

/** `https://user:token@host/path` → `https://host`; anything not http(s) is no server. */
function serverOrigin(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === "https:" || url.protocol === "http:" ? url.origin : undefined;
  } catch {
    return undefined;
  }
}
