// Which engine runs a target on this host, asked in a fixed order through the spawner (never assumed from a
// file on disk): Compose on Docker, else on Podman; Kubernetes through kubectl, else `podman kube play`.

import { VoxError } from "../errors/mod.ts";
import type { EngineDeps, UpTarget } from "./mod.ts";

/** The engine chosen for a target, and how it was found (printed, so a user sees why). */
export interface Engine {
  kind: "docker" | "podman" | "kubectl";
  version: string;
  /** One line: what was chosen and why, e.g. "Podman 4.3.1 (Docker API at unix:///run/podman/podman.sock)". */
  description: string;
  /** The Compose command (argv prefix) for the compose target, naming the Docker API it talks to. */
  compose?: string[];
}

/** The detection order, one line per target; the README and `vox deploy up --help` show it. */
export const DETECTION_ORDER: Readonly<Record<UpTarget, string>> = {
  compose: "Docker (a `docker` whose daemon answers, with `docker compose` or `docker-compose`), then Podman (its API socket, with `docker compose` or `docker-compose`)",
  kubernetes: "kubectl (with a current context), then Podman (`podman kube play`)",
  podman: "Podman (`podman run`, the systemd target's command line)",
};

const INSTALL: Readonly<Record<UpTarget, string>> = {
  compose: "Install Docker Engine with the Compose plugin, or Podman with docker-compose (Debian: apt-get install podman docker-compose)",
  kubernetes: "Install kubectl and select a cluster (kubectl config use-context …), or install Podman (Debian: apt-get install podman)",
  podman: "Install Podman (Debian: apt-get install podman)",
};

/**
 * The engine for `target`, in the order of {@link DETECTION_ORDER}; none is an error naming what to install.
 *
 * @example
 * ```ts
 * const engine = await detectEngine("compose", { spawner: nodeSpawner, env: process.env });
 * engine.description; // "Podman 4.3.1 (Docker API at unix:///run/podman/podman.sock), Compose: docker-compose"
 * ```
 */
export async function detectEngine(target: UpTarget, deps: EngineDeps): Promise<Engine> {
  const found = target === "compose" ? await composeEngine(deps) : target === "kubernetes" ? ((await kubectl(deps)) ?? (await podman(deps))) : await podman(deps);
  if (found) return found;
  throw new VoxError("E_NO_ENGINE", `Cannot run the ${target} target: no engine found (looked for ${DETECTION_ORDER[target]})`, { hint: INSTALL[target] });
}

async function composeEngine(deps: EngineDeps): Promise<Engine | undefined> {
  const docker = await dockerServer(deps);
  const pod = docker ? undefined : await podman(deps);
  if (!docker && !pod) return undefined;
  const compose = await composeCommand(deps);
  if (!compose) {
    throw new VoxError("E_NO_ENGINE", `Cannot run the compose target: ${docker && !docker.podman ? "Docker" : "Podman"} is here, but neither \`docker compose\` nor \`docker-compose\` is`, {
      hint: "Install the Compose plugin (docker-compose-plugin) or docker-compose (Debian: apt-get install docker-compose)",
    });
  }
  const using = `Compose: ${compose.join(" ")}`;
  if (docker && !docker.podman) return { kind: "docker", version: docker.version, description: `Docker ${docker.version}, ${using}`, compose };
  if (docker) return { kind: "podman", version: docker.version, description: `Podman ${docker.version} (Docker API at ${docker.host}), ${using}`, compose: atHost(compose, docker.host) };
  const socket = await podmanSocket(deps);
  if (!socket) {
    throw new VoxError("E_NO_ENGINE", "Cannot run the compose target on Podman: its API socket is not listening, and Compose needs it", {
      hint: "Start it (systemctl enable --now podman.socket), or run `podman system service --time=0 unix:///path/podman.sock` and set DOCKER_HOST=unix:///path/podman.sock",
    });
  }
  return { kind: "podman", version: pod!.version, description: `Podman ${pod!.version} (Docker API at ${socket}), ${using}`, compose: atHost(compose, socket) };
}

/** `--host` rather than DOCKER_HOST: children inherit vox's environment unchanged. */
function atHost(compose: string[], host: string): string[] {
  return compose[0] === "docker" ? ["docker", "--host", host, ...compose.slice(1)] : [...compose, "--host", host];
}

/** The Docker daemon DOCKER_HOST (or the default) names, if one answers; Podman's API answers too, and says so. */
async function dockerServer(deps: EngineDeps): Promise<{ version: string; podman: boolean; host: string } | undefined> {
  const result = await deps.spawner.run(["docker", "version", "--format", "{{json .Server}}"]);
  if (result.code !== 0) return undefined;
  let server: { Version?: unknown; Components?: Array<{ Name?: unknown; Version?: unknown }> } | null;
  try {
    server = JSON.parse(result.stdout) as typeof server;
  } catch {
    return undefined;
  }
  if (!server || typeof server.Version !== "string") return undefined;
  const podmanComponent = server.Components?.find((c) => typeof c.Name === "string" && /podman/i.test(c.Name));
  const version = podmanComponent && typeof podmanComponent.Version === "string" ? podmanComponent.Version : server.Version;
  return { version, podman: podmanComponent !== undefined, host: deps.env.get("DOCKER_HOST") ?? "unix:///var/run/docker.sock" };
}

async function composeCommand(deps: EngineDeps): Promise<string[] | undefined> {
  for (const argv of [["docker", "compose"], ["docker-compose"]]) {
    if ((await deps.spawner.run([...argv, "version"])).code === 0) return argv;
  }
  return undefined;
}

async function podman(deps: EngineDeps): Promise<Engine | undefined> {
  const result = await deps.spawner.run(["podman", "version", "--format", "{{.Client.Version}}"]);
  const version = result.stdout.trim();
  if (result.code !== 0 || !/^\d+\.\d+/.test(version)) return undefined;
  return { kind: "podman", version, description: `Podman ${version}` };
}

async function podmanSocket(deps: EngineDeps): Promise<string | undefined> {
  const result = await deps.spawner.run(["podman", "info", "--format", "{{.Host.RemoteSocket.Exists}} {{.Host.RemoteSocket.Path}}"]);
  const match = /^true (\S+)/.exec(result.stdout.trim());
  if (result.code !== 0 || !match) return undefined;
  return match[1]!.startsWith("unix://") ? match[1]! : `unix://${match[1]}`;
}

async function kubectl(deps: EngineDeps): Promise<Engine | undefined> {
  const context = await deps.spawner.run(["kubectl", "config", "current-context"]);
  if (context.code !== 0 || context.stdout.trim() === "") return undefined;
  const version = await deps.spawner.run(["kubectl", "version", "--client", "-o", "json"]);
  let client = "";
  try {
    client = String((JSON.parse(version.stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? "");
  } catch {
    // An unreadable version is only a missing detail in the description.
  }
  return { kind: "kubectl", version: client, description: `kubectl ${client} (context ${context.stdout.trim()})` };
}
