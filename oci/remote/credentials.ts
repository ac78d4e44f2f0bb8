import { Buffer } from "node:buffer";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage, VoxError } from "../../errors/mod.ts";
import type { Env, Spawner } from "../../io/mod.ts";

/** What a registry login gives: a user and password, or an identity (refresh) token for the token endpoint. */
export type Credential = { username: string; password: string } | { identityToken: string };

/** Resolves the credential for one registry host (as written in references, e.g. `ghcr.io`, `docker.io`). */
export interface Credentials {
  resolve(registry: string): Promise<Credential | undefined>;
}

/** No credentials anywhere: every request is anonymous. */
export const noCredentials: Credentials = { resolve: async () => undefined };

/**
 * Fixed credentials per host, for tests and for `--username/--password` style flags.
 *
 * @example
 * ```ts
 * await staticCredentials({ "127.0.0.1:5000": { username: "ci", password: "s3cret" } }).resolve("127.0.0.1:5000");
 * ```
 */
export function staticCredentials(byHost: Record<string, Credential>): Credentials {
  return { resolve: async (registry) => (Object.hasOwn(byHost, registry) ? byHost[registry] : undefined) };
}

export interface DockerConfigOptions {
  env: Env;
  /** Runs `docker-credential-<name> get`; the real one is `nodeSpawner`. */
  spawner: Spawner;
}

/** The parts of Docker's config.json (and containers' auth.json) that hold credentials. */
interface AuthFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

const DOCKER_HUB_KEY = "https://index.docker.io/v1/";
const DOCKER_HUB_NAMES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);
const HELPER_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * Credentials the way `docker login` and `podman login` store them. Files, in order: `$REGISTRY_AUTH_FILE`,
 * `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`), `$XDG_RUNTIME_DIR/containers/auth.json`; the first
 * that knows the host wins. Within a file: `credHelpers[host]`, then `auths[host]` (`auth` or `identitytoken`),
 * then `credsStore`. Keys may be URLs (`https://index.docker.io/v1/`); they are compared by host.
 *
 * @example
 * ```ts
 * const credentials = dockerConfigCredentials({ env: processEnv(), spawner: nodeSpawner });
 * await credentials.resolve("ghcr.io"); // { username: "…", password: "…" } or undefined
 * ```
 */
export function dockerConfigCredentials(options: DockerConfigOptions): Credentials {
  let files: Promise<{ path: string; file: AuthFile }[]> | undefined;
  return {
    async resolve(registry) {
      files ??= loadAuthFiles(options.env);
      for (const { path, file } of await files) {
        const found = await fromFile(file, registry, path, options.spawner);
        if (found) return found;
      }
      return undefined;
    },
  };
}

function authFilePaths(env: Env): string[] {
  const paths: string[] = [];
  const explicit = env.get("REGISTRY_AUTH_FILE");
  if (explicit) paths.push(explicit);
  const dockerDir = env.get("DOCKER_CONFIG") ?? (env.get("HOME") ? join(env.get("HOME")!, ".docker") : undefined);
  if (dockerDir) paths.push(join(dockerDir, "config.json"));
  const runtime = env.get("XDG_RUNTIME_DIR");
  if (runtime) paths.push(join(runtime, "containers", "auth.json"));
  return paths;
}

async function loadAuthFiles(env: Env): Promise<{ path: string; file: AuthFile }[]> {
  const loaded: { path: string; file: AuthFile }[] = [];
  for (const path of authFilePaths(env)) {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch {
      continue; // A missing file is the common case: not logged in with that tool.
    }
    try {
      const file = JSON.parse(text) as unknown;
      if (file && typeof file === "object" && !Array.isArray(file)) loaded.push({ path, file: file as AuthFile });
    } catch (error) {
      throw new VoxError("E_REGISTRY_CONFIG", `Cannot read registry credentials from ${path}: not JSON (${errorMessage(error)})`, { hint: "Fix or remove the file, then log in again" });
    }
  }
  return loaded;
}

/** The host a config key names: `https://index.docker.io/v1/` → `index.docker.io`. */
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "").toLowerCase();
}

function sameRegistry(key: string, registry: string): boolean {
  const a = keyHost(key);
  const b = registry.toLowerCase();
  return a === b || (DOCKER_HUB_NAMES.has(a) && DOCKER_HUB_NAMES.has(b));
}

function lookup<T>(map: Record<string, T> | undefined, registry: string): T | undefined {
  if (!map || typeof map !== "object") return undefined;
  // An exact key wins over a URL-shaped one for the same host.
  if (Object.hasOwn(map, registry)) return map[registry];
  const key = Object.keys(map).find((k) => sameRegistry(k, registry));
  return key === undefined ? undefined : map[key];
}

async function fromFile(file: AuthFile, registry: string, path: string, spawner: Spawner): Promise<Credential | undefined> {
  const helper = lookup(file.credHelpers, registry);
  if (typeof helper === "string" && helper) return runHelper(helper, registry, spawner);
  const entry = lookup(file.auths, registry);
  if (entry && typeof entry === "object") {
    if (typeof entry.identitytoken === "string" && entry.identitytoken) return { identityToken: entry.identitytoken };
    if (typeof entry.auth === "string" && entry.auth) return decodeAuth(entry.auth, registry, path);
    if (typeof entry.username === "string" && typeof entry.password === "string") return { username: entry.username, password: entry.password };
  }
  if (typeof file.credsStore === "string" && file.credsStore) return runHelper(file.credsStore, registry, spawner);
  return undefined;
}

function decodeAuth(auth: string, registry: string, path: string): Credential {
  const text = Buffer.from(auth, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon <= 0) {
    throw new VoxError("E_REGISTRY_CONFIG", `Cannot use the saved login for ${registry} in ${path}: 'auth' is not base64 of user:password`, {
      hint: `Log in again with \`docker login ${registry}\``,
    });
  }
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * Asks `docker-credential-<name> get` (the credential-helper protocol: server URL on stdin, JSON on stdout).
 * "Not found" is an answer, not a failure: the registry may allow anonymous access.
 */
async function runHelper(name: string, registry: string, spawner: Spawner): Promise<Credential | undefined> {
  const program = `docker-credential-${name}`;
  if (!HELPER_NAME.test(name)) throw new VoxError("E_REGISTRY_CONFIG", `Cannot run credential helper '${program}': not a plain program name`);
  const serverUrl = DOCKER_HUB_NAMES.has(registry) ? DOCKER_HUB_KEY : registry;
  const result = await spawner.run([program, "get"], { input: serverUrl, timeoutMs: 30_000 });
  if (result.code === 0) return parseHelperOutput(result.stdout, program);
  if (/credentials not found/i.test(result.stdout + result.stderr)) return undefined;
  throw new VoxError("E_REGISTRY_HELPER", `Cannot get credentials for ${registry} from ${program}: ${result.code === 127 ? "it is not on PATH" : (result.stderr || result.stdout).trim().slice(0, 300) || `exit ${result.code}`}`, {
    hint: result.code === 127 ? `Install ${program}, or remove it from your Docker config.json` : `Run \`echo ${serverUrl} | ${program} get\` to see what it says`,
  });
}

function parseHelperOutput(stdout: string, program: string): Credential {
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw new VoxError("E_REGISTRY_HELPER", `Cannot use the answer of ${program}: not JSON`);
  }
  if (typeof parsed.Username !== "string" || typeof parsed.Secret !== "string") {
    throw new VoxError("E_REGISTRY_HELPER", `Cannot use the answer of ${program}: expected string fields Username and Secret`);
  }
  // The helper protocol's marker for an identity token rather than a password.
  if (parsed.Username === "<token>") return { identityToken: parsed.Secret };
  return { username: parsed.Username, password: parsed.Secret };
}
