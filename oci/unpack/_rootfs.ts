// Path resolution inside a rootfs being materialized: every parent is resolved component by component as the
// container would see it (symbolic links followed, but `/` and `..` pinned to the rootfs), and never out of it.
import { lstatSync, mkdirSync, readlinkSync, rmSync, type Stats } from "node:fs";
import { join } from "node:path";

/** How many symbolic links one lookup may cross before it is called a loop (Linux's own limit). */
const MAX_LINK_HOPS = 40;

/** A lookup that cannot stay inside the rootfs, or cannot finish: the applier refuses the entry. */
export class ContainmentError extends Error {
  constructor(
    readonly rule: "symlink-loop" | "not-a-directory" | "missing",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Resolves paths inside `root`, the temporary rootfs this process alone writes to.
 *
 * Why lstat walking is race-free enough here: Node has no openat(2), so each component is lstat'ed from the root
 * down and a symbolic link is expanded by hand (an absolute target restarts at the root, `..` never climbs above
 * it). Between that check and the write, the path could only change if someone else wrote into the tree, and no
 * one else can: the rootfs is a directory we created (mode 0700 while we work, inside a bundle directory others
 * cannot rename entries of), and it is not yet a container's root. This process applies entries in order; the
 * small files it writes in the background only create new names in directories already resolved, and anything
 * that removes, replaces or links waits for them first. So the state we checked is the state we write into. The
 * final component is never followed: files are created with O_CREAT|O_EXCL|O_NOFOLLOW after whatever was there is
 * removed, and links are written, never resolved.
 */
export class RootfsTree {
  readonly root: string;
  /** Parent directories already resolved (logical path → host path); cleared whenever anything is removed. */
  readonly #resolved = new Map<string, string>();
  /**
   * Every host path created in this tree (it started empty, so nothing else can be in it). A path never created
   * cannot exist, which spares an lstat that would wait on the directory while the writer threads add to it.
   */
  readonly #created = new Set<string>();
  /** Called when a lookup is pinned to the rootfs (an absolute link target, or `..` at the root): worth auditing. */
  readonly #onContained: (logical: string, via: string) => void;

  constructor(root: string, options: { onContained?: (logical: string, via: string) => void } = {}) {
    this.root = root;
    this.#created.add(root);
    this.#onContained = options.onContained ?? (() => {});
  }

  /**
   * The host path of the directory `components` names, following links inside the rootfs. With `create`, missing
   * directories are made (mode 0755, as umoci's MkdirAll under the usual umask) and reported to `created`.
   */
  directory(components: readonly string[], options: { create: boolean; created?: (hostPath: string) => void }): string {
    const key = components.join("/");
    const cached = this.#resolved.get(key);
    if (cached !== undefined) return cached;
    const stack: string[] = [];
    const queue = [...components];
    let hops = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (stack.length === 0) this.#onContained(key, "..");
        stack.pop();
        continue;
      }
      const host = join(this.root, ...stack, part);
      const stat = lstatSync(host, { throwIfNoEntry: false });
      if (!stat) {
        if (!options.create) throw new ContainmentError("missing", `'${[...stack, part].join("/")}' does not exist`);
        mkdirSync(host, { mode: 0o755 });
        this.#created.add(host);
        options.created?.(host);
        stack.push(part);
        continue;
      }
      if (stat.isSymbolicLink()) {
        if (++hops > MAX_LINK_HOPS) throw new ContainmentError("symlink-loop", `resolving '${key}' crosses more than ${MAX_LINK_HOPS} symbolic links (a loop)`);
        const target = readlinkSync(host);
        if (target.startsWith("/")) {
          this.#onContained(key, `${[...stack, part].join("/")} -> ${target}`);
          stack.length = 0;
        }
        queue.unshift(...target.split("/"));
        continue;
      }
      if (!stat.isDirectory()) throw new ContainmentError("not-a-directory", `'${[...stack, part].join("/")}' is not a directory`);
      stack.push(part);
    }
    const resolved = join(this.root, ...stack);
    this.#resolved.set(key, resolved);
    return resolved;
  }

  /** Whether `components` was resolved since the tree last changed shape (nothing removed, no link written). */
  resolved(components: readonly string[]): boolean {
    return this.#resolved.has(components.join("/"));
  }

  /** What is at `hostPath` itself, never followed. */
  lstat(hostPath: string): Stats | undefined {
    if (!this.#created.has(hostPath)) return undefined;
    return lstatSync(hostPath, { throwIfNoEntry: false });
  }

  /** Records that the applier made `hostPath` (a file, directory, link or node). */
  created(hostPath: string): void {
    this.#created.add(hostPath);
  }

  /** Removes `hostPath` and, for a directory, everything in it (links inside are removed, never followed). */
  remove(hostPath: string): void {
    rmSync(hostPath, { recursive: true, force: true });
    this.#resolved.clear();
  }

  /** Forgets resolved parents after something changed type in place (a directory replaced, a link written). */
  invalidate(): void {
    this.#resolved.clear();
  }
}
