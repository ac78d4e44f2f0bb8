// Running a Release on one host: the runtime config from the image config and the platform manifest, runc, CNI
// networking (bridge, host-local, portmap), health checks, and a rollout that keeps the old instance until the new is healthy.

export { type BridgeNetwork, CniDriver, type CniResult, DEFAULT_CNI_PATH, instanceAddress, networkConfigList, type PortMapping } from "./cni.ts";
export { publishMappings, reconcile, removeWorkloadRun, RUN_CHECKPOINTS, type RunCheckpoint, type RunDeps, type RunReport, type RunRequest, runRelease, stopWorkload, type WorkloadStatus, workloadStatus } from "./deploy.ts";
export { type HealthVerdict, probeFor, type ProbeResult, waitHealthy } from "./health.ts";
export { bridgeNetwork, HostOps } from "./host.ts";
export { logPath } from "./instance.ts";
export { checked, releaseFromLog, releaseFromRegistry, type ResolvedRelease } from "./release_source.ts";
export { oomKills, RuncDriver } from "./runc.ts";
export { PIDS_LIMIT, runtimeSpec, type RuntimeSpec } from "./runtime_config.ts";
export { type InstanceRecord, type ReleaseRef, runPaths, type RunPaths, readWorkload, stateTag } from "./state.ts";
