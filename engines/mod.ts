// Running emitted descriptors on the engine this host has (`vox deploy up|down`): detection in a documented order,
// loading a layout-only image into the engine's store by digest, and bringing the workload up and fully down.

import type { Env, Spawner } from "../io/mod.ts";

export { DETECTION_ORDER, detectEngine, type Engine } from "./detect.ts";
export { loadIntoPodman } from "./load.ts";
export { type BundleDeployment, type Deployment, deployDown, deployUp, type DownResult, type UpResult } from "./run.ts";

export const UP_TARGETS = ["compose", "kubernetes", "podman"] as const;
/** `podman` runs the systemd target's `podman run` command line, detached. */
export type UpTarget = (typeof UP_TARGETS)[number];

export interface EngineDeps {
  /** Runs the engines' tools; they inherit this process's environment (CONTAINERS_CONF, KUBECONFIG, DOCKER_HOST…). */
  spawner: Spawner;
  /** Read for DOCKER_HOST, to say which Docker API answered. */
  env: Env;
  /** Progress lines for the user (stderr). */
  log(line: string): void;
}
