import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { type MinisignSecretKey, parseSecretKey, signMinisign } from "../integrity/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { type ReleaseScope, releaseTrustedComment } from "./trust.ts";

/**
 * Signs `file` into `file.minisig` with a minisign secret key; the trusted comment binds repo, tag and version.
 * Ed25519 is deterministic, so the same key, file, scope and timestamp give the same signature.
 */
export async function signReleaseFile(file: string, options: { keyFile: string; password?: string; scope: ReleaseScope; timestamp: number }): Promise<{ signature: string; keyId: string }> {
  const key = await readSecretKeyFile(options.keyFile, { password: options.password, purpose: "signing key" });
  const message = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_SIGN_INPUT", `Cannot sign ${file}: ${error.code ?? error.message}`, { exitCode: 2 });
  });
  const trusted = releaseTrustedComment(options.scope, { timestamp: options.timestamp, file: basename(file) });
  const signature = `${file}.minisig`;
  await writeFileAtomic(signature, signMinisign(message, key, { trusted }));
  return { signature, keyId: key.keyId };
}

/** Reads and decrypts a minisign secret key file; an unreadable or wrong-format key is a usage error (exit 2). */
export async function readSecretKeyFile(path: string, options: { password?: string; purpose: string }): Promise<MinisignSecretKey> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_SECRET_KEY", `Cannot read ${options.purpose} ${path}: ${error.code ?? error.message}`, { hint: "Pass a minisign secret key file with --key.", exitCode: 2 });
  });
  return parseSecretKey(text, { password: options.password, source: `${options.purpose} ${path}` });
}
