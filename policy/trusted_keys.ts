/** A minisign public key that release signatures may be made with; a list so that keys can rotate. */
export interface TrustedKey {
  /** Key id as minisign prints it (16 hex digits, big-endian). */
  keyId: string;
  /** The base64 line of a minisign public key file. */
  publicKey: string;
  comment: string;
}

/**
 * Release signing keys. To rotate: add the new key, publish one release signed by it, then remove the old one.
 * Builds can trust further keys (`vox ci release-build --trusted-key`), and so can each command (`--trusted-key`).
 */
export const TRUSTED_KEYS: readonly TrustedKey[] = [
  {
    keyId: "144B57E197D20296",
    publicKey: "RWSWAtKX4VdLFOv+Fk4OoXPOvF2D6ab57Z1tgEh/9JK+VgF5dBJNkNE+",
    comment: "vox release key 1: the secret is never in this repository; the release workflow reads it from the MINISIGN_SECRET_KEY secret",
  },
];
