/** A user and their primary group, as the process runs. */
export interface Owner {
  uid: number;
  gid: number;
}

/**
 * Why a file or directory vox obeys could have been written by someone other than `uid`, or undefined when it
 * could not: git's `safe.directory` rule (owned by you or by root, who could do anything anyway) plus mode bits.
 * With `gid`, group write is accepted from that group alone: a user's private group, which a umask of 002 leaves
 * on everything they create. Callers skip it where there are no uids (Windows: the ACL decides).
 *
 * @example
 * ```ts
 * writableByOthers(await handle.stat(), process.geteuid()); // "is writable by others (mode 0666)"
 * ```
 */
export function writableByOthers(stats: { uid: number; gid?: number; mode: number }, uid: number, gid?: number): string | undefined {
  if (stats.uid !== uid && stats.uid !== 0) return `is owned by uid ${stats.uid}, not by you (uid ${uid}) or root`;
  const groupWrite = gid !== undefined && stats.gid === gid ? 0 : 0o020;
  if ((stats.mode & (0o002 | groupWrite)) !== 0) return `is writable by ${stats.mode & 0o002 ? "others" : "its group"} (mode ${(stats.mode & 0o7777).toString(8).padStart(4, "0")})`;
  return undefined;
}

/** Who this process runs as, for writableByOthers(); undefined where there are no uids (Windows). */
export function processOwner(): Owner | undefined {
  return process.getuid && process.getgid ? { uid: process.getuid(), gid: process.getgid() } : undefined;
}
