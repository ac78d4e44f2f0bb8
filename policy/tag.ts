import semver from "semver";
import { usageError } from "../errors/mod.ts";

export interface ReleaseTag {
  /** `v1.2.3` */
  tag: string;
  /** `1.2.3` */
  version: string;
  prerelease: boolean;
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
  if (!version || semver.valid(version) !== version) {
    throw usageError("E_TAG", `Cannot use '${tag}' as a release tag: expected v<semver> such as v1.2.3`, "Tags are 'v' followed by a semantic version, e.g. --version v0.1.0.");
  }
  return { tag, version, prerelease: semver.prerelease(version) !== null };
}

/** The tag for a semver version. */
export function tagOf(version: string): string {
  return parseTag(`v${version}`).tag;
}
