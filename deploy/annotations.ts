import type { Spawner } from "../io/mod.ts";

/** The `org.opencontainers.image.*` annotation keys vox sets (SPEC section 8), in one table. */
export const Annotation = {
  source: "org.opencontainers.image.source",
  revision: "org.opencontainers.image.revision",
  version: "org.opencontainers.image.version",
  documentation: "org.opencontainers.image.documentation",
  vendor: "org.opencontainers.image.vendor",
  licenses: "org.opencontainers.image.licenses",
  title: "org.opencontainers.image.title",
  baseName: "org.opencontainers.image.base.name",
  baseDigest: "org.opencontainers.image.base.digest",
} as const;

export interface ImageFacts {
  title: string;
  version?: string;
  documentation?: string;
  vendor?: string;
  licenses?: string;
  source?: string;
  revision?: string;
  baseName?: string;
  baseDigest?: string;
}

/**
 * The annotations for a set of facts; absent facts are left out rather than written empty.
 *
 * @example
 * ```ts
 * imageAnnotations({ title: "hello", version: "0.1.0" }); // { "org.opencontainers.image.title": "hello", "org.opencontainers.image.version": "0.1.0" }
 * ```
 */
export function imageAnnotations(facts: ImageFacts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, name] of Object.entries(Annotation) as Array<[keyof ImageFacts, string]>) {
    const value = facts[key];
    if (value !== undefined && value !== "") out[name] = value;
  }
  return out;
}

/**
 * Source URL and revision from git, when the project is in a work tree: the commit of HEAD and the
 * `origin` remote as a browsable https URL with any credentials removed. Local-path remotes are not a
 * source anyone else can open, so they are ignored.
 *
 * @example
 * ```ts
 * await gitFacts("/src/hello", nodeSpawner); // { revision: "3f2c…", source: "https://github.com/acme/hello" }
 * ```
 */
export async function gitFacts(dir: string, spawner: Spawner): Promise<{ source?: string; revision?: string }> {
  const revision = await spawner.run(["git", "-C", dir, "rev-parse", "--verify", "HEAD"]);
  if (revision.code !== 0) return {};
  const remote = await spawner.run(["git", "-C", dir, "config", "--get", "remote.origin.url"]);
  const source = remote.code === 0 ? browsableUrl(remote.stdout.trim()) : undefined;
  return { revision: revision.stdout.trim(), ...(source ? { source } : {}) };
}

/** `git@host:org/repo.git` and `https://user:token@host/org/repo.git` both become `https://host/org/repo`. */
export function browsableUrl(remote: string): string | undefined {
  const scp = /^[\w.-]+@([\w.-]+):(?!\/)(.+?)(?:\.git)?\/?$/.exec(remote);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  try {
    const url = new URL(remote);
    if (!["https:", "http:", "ssh:", "git:"].includes(url.protocol)) return undefined;
    // An ssh port says nothing about where the web view is; an http(s) port does.
    const host = url.protocol.startsWith("http") ? url.host : url.hostname;
    return `https://${host}${url.pathname.replace(/\.git\/?$/, "").replace(/\/$/, "")}`;
  } catch {
    return undefined;
  }
}
