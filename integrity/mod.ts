// Integrity primitives: checksums.txt, SHA-256 of files, minisign signatures (parse, sign, verify).
// Owns formats and cryptography; which keys are trusted and what a trusted comment must say is release policy.

export { type ChecksumEntry, formatChecksums, parseChecksums } from "./checksums.ts";
export {
  formatPublicKey,
  type MinisignPublicKey,
  type MinisignSecretKey,
  type MinisignSignature,
  parsePublicKey,
  parseSecretKey,
  parseSignature,
  parseTrustedComment,
  publicKeyOf,
  signMinisign,
  verifyMinisign,
} from "./minisign.ts";
export { sha256File, sha256Hex } from "./sha256.ts";
