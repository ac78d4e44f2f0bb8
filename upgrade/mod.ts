// `vox upgrade`: self-update from GitHub or a mirror (or a local archive, or a checkout) with a crash-safe swap,
// rollback, channels, anti-rollback state and package-manager guards. Owns the steps; commands/upgrade.ts the CLI.

export { managedBy } from "./guards.ts";
export { readTrustState, type TrustState, writeTrustState } from "./state.ts";
export { cleanLeftovers, previousPath, swapIn, swapWithPrevious } from "./swap.ts";
export { type Checkpoint, indexSerialGuard, upgrade, type UpgradeDeps, type UpgradeReport, type UpgradeRequest, type UpgradeStatus } from "./upgrade.ts";
