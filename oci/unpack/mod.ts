// Unpacking a verified image into an OCI runtime bundle (rootfs/ + config.json) under a hand-written policy:
// whiteouts, containment, devices, setuid, xattrs, ownership and streaming limits, each decision audited.

export { DEFAULT_UNPACK_POLICY, type DevicePolicy, type OwnershipPolicy, parseUnpackPolicy, type SetuidPolicy, type UnpackLimits, type UnpackPolicy } from "./policy.ts";
export { type RuntimeConfigOptions, runtimeConfigFromImage } from "./runtime_config.ts";
export { type UnpackCheckpoint, unpackImage, type UnpackOptions, type UnpackResult } from "./unpack.ts";
