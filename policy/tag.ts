import { usageError } from "../errors/mod.ts";

export interface ReleaseTag {
  /** `v1.2.3` */
  tag: string;
  /** `1.2.3` */
  version: string;
  prerelease: boolean;
}

/**
 * A version exactly as the semver package prints it (`semver.valid(v) === v`): SemVer 2.0 without build metadata,
 * at most 256 characters, major, minor and patch safe integers. Checked here rather than by that package, whose
 * ~30 KB and three dozen regular expressions every `vox` command that names a tag would otherwise load first
 * (policy/tag_test.ts holds the two to agreement).
 */
const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-(0|[1-9]\d*|\d*[a-zA-Z-][a-zA-Z0-9-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][a-zA-Z0-9-]*))*)?$/;

function isCanonicalVersion(version: string): boolean {
  const match = version.length <= 256 ? VERSION.exec(version) : null;
  return match !== null && [match[1], match[2], match[3]].every((part) => Number(part) <= Number.MAX_SAFE_INTEGER);
}

/**
 * Parses a release tag `v<semver>`.
 *
 * @example
 * ```ts
 * parseTag("v1.2.3-rc.1"); // { tag: "v1.2.3-rc.1", version: "1.2.3-rc.1", prerelease: true }
 * ```
 */
export function parseTag(tag: string): ReleaseTag {
  const version = tag.startsWith("v") ? tag.slice(1) : "";
  if (!isCanonicalVersion(version)) {
    throw usageError("E_TAG", `Cannot use '${tag}' as a release tag: expected v<semver> such as v1.2.3`, "Tags are 'v' followed by a semantic version, e.g. --version v0.1.0.");
  }
  return { tag, version, prerelease: version.includes("-") };
}

/** The tag for a semver version. */
export function tagOf(version: string): string {
  return parseTag(`v${version}`).tag;
}
