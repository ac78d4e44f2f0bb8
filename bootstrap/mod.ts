// The install flow of vox-bootstrap: binary first (verified), source build as the fallback, receipts and PATH blocks.
// Owns install and uninstall; the command table is commands/vox_bootstrap.ts, the handlers commands/bootstrap.ts.

export { install, type InstallDeps, type InstallOptions, type InstallReport, requireVersion } from "./install.ts";
export { addPathBlock, pathBlock, removePathBlock, withBlock } from "./profile.ts";
export { RECEIPT_NAME, type Receipt, readReceipt } from "./receipt.ts";
export { uninstall, type UninstallReport } from "./uninstall.ts";
