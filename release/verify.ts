import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describeFormat } from "../binary/mod.ts";
import { errorMessage, VoxError } from "../errors/mod.ts";
import { type MinisignPublicKey, parseChecksums, sha256File } from "../integrity/mod.ts";
import { findPackage, parseAssetName, RELEASE_SOURCE, TARGETS } from "../policy/mod.ts";
import { isReleaseAsset } from "./checksums.ts";
import { withInspectedArchive } from "./inspect.ts";
import { type ReleaseScope, verifyChecksumsSignature } from "./trust.ts";

export interface VerifiedFile {
  basename: string;
  sha256: string;
  status: "ok" | "failed";
  detail: string;
}

export interface ReleaseVerification {
  dir: string;
  tag: string;
  repo: string;
  keyId: string;
  files: VerifiedFile[];
  ok: boolean;
}

/**
 * Verifies a release directory in the order install trusts it: the signature of `checksums.txt` (trusted key,
 * repo and tag in the trusted comment), then each listed file's SHA-256, then each archive's structure.
 * A bad signature throws; per-file failures are reported (and make `ok` false).
 */
export async function verifyReleaseDir(dir: string, options: { scope: ReleaseScope; trustedKeys: readonly MinisignPublicKey[] }): Promise<ReleaseVerification> {
  const checksumsBytes = await readRequired(join(dir, RELEASE_SOURCE.checksumsName));
  const signature = (await readRequired(join(dir, RELEASE_SOURCE.signatureName))).toString("utf8");
  const keyId = verifyChecksumsSignature(checksumsBytes, signature, { scope: options.scope, trustedKeys: options.trustedKeys });
  const listed = parseChecksums(checksumsBytes.toString("utf8"));
  const files: VerifiedFile[] = [];
  for (const [basename, expected] of listed) {
    files.push(await verifyListedFile(dir, basename, expected, options.scope.tag));
  }
  for (const name of (await readdir(dir)).sort()) {
    if (isReleaseAsset(name) && !listed.has(name)) files.push({ basename: name, sha256: "", status: "failed", detail: "present in the directory but not listed in checksums.txt" });
  }
  return { dir, tag: options.scope.tag, repo: options.scope.repo, keyId, files, ok: files.every((f) => f.status === "ok") };
}

async function verifyListedFile(dir: string, basename: string, expected: string, tag: string): Promise<VerifiedFile> {
  const path = join(dir, basename);
  const actual = await sha256File(path).catch(() => undefined);
  if (!actual) return { basename, sha256: "", status: "failed", detail: "listed in checksums.txt but missing" };
  if (actual.sha256 !== expected) return { basename, sha256: actual.sha256, status: "failed", detail: `sha256 is ${actual.sha256}, checksums.txt says ${expected}` };
  const asset = parseAssetName(basename, TARGETS);
  const pkg = asset && findPackage(asset.packageName);
  if (!asset || !pkg) return { basename, sha256: actual.sha256, status: "ok", detail: "checksum ok" };
  if (asset.tag !== tag) return { basename, sha256: actual.sha256, status: "failed", detail: `named for tag ${asset.tag}, not ${tag}` };
  try {
    const detail = await withInspectedArchive(path, { packageName: pkg.name, target: asset.target }, async (_path, inspected) => `checksum ok; one entry '${inspected.entry}', mode 0755, ${describeFormat(inspected.format)}`);
    return { basename, sha256: actual.sha256, status: "ok", detail };
  } catch (error) {
    return { basename, sha256: actual.sha256, status: "failed", detail: errorMessage(error) };
  }
}

async function readRequired(path: string): Promise<Buffer> {
  return readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_RELEASE_FILE", `Cannot read ${path}: ${error.code ?? error.message}`, { hint: "A release directory holds checksums.txt and checksums.txt.minisig next to the archives." });
  });
}
