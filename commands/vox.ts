// The `vox` command table: every subcommand as data (options, environment, exit codes, help) with a lazily imported handler.
// main.ts loads it only after the --version fast path, so printing the version evaluates none of it.

import { BUILD_VERSION } from "../build/constants.ts";
import type { CommandSpec } from "../cli/command.ts";
import { versionOrHelp } from "../cli/entry.ts";
import type { ENV_VARS } from "../policy/env_names.ts";

/** Names from the env table (policy/env_names.ts): a typo is a type error, and help and the registry list them. */
function reads(...names: Array<keyof typeof ENV_VARS>): readonly string[] {
  return names;
}
/** Release downloads (upgrade, mirror): GitHub tokens in the order tried, proxies, the extra CA. */
const releaseNetworkEnv = reads("VOX_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "VOX_CA_BUNDLE");
/** Registry access: credentials (Docker's, then Podman's), the extra CA, mirrors, the idle timeout. */
const registryEnv = reads("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "VOX_CA_BUNDLE", "VOX_REGISTRY_MIRRORS", "VOX_REGISTRY_IDLE_TIMEOUT_MS");
/** The image cache and the audit log of verified pulls. */
const pullEnv = [...registryEnv, ...reads("VOX_CACHE_DIR", "XDG_CACHE_HOME", "VOX_AUDIT_LOG")];
const releaseLogEnv = reads("VOX_RELEASE_LOG");
const runEnv = reads("VOX_STATE_DIR", "VOX_RELEASE_LOG");
const microvmEnv = reads("VOX_MICROVM_KERNEL", "VOX_MICROVM_MODULES", "VOX_MICROVM_BUSYBOX", "VOX_MICROVM_ACCEL");

const json = { type: "boolean", description: "Print one JSON object on stdout" } as const;
const project = { type: "string", valueName: "<dir>", description: "Start the upward search for Vox.toml here", defaultText: "the current directory" } as const;
/** `vox deploy up|down`. */
const engineOptions = {
  target: { type: "string", valueName: "<compose|kubernetes|podman>", description: "What to run: the Compose file, the Kubernetes objects, or the podman run command line" },
  release: { type: "string", valueName: "<seq|latest>", description: "The Release to run", defaultText: "latest" },
  image: { type: "string", valueName: "<ref>@sha256:<hex>", description: "Run this pinned image and the manifest instead of a Release (a local build is localhost/<package>@<digest>)" },
  manifest: { type: "string", valueName: "<file>", description: "With --image: the platform manifest", defaultText: "the project's ([deploy] manifest, else vox.platform.toml)" },
  from: { type: "string", valueName: "<registry/repository>[:<tag>|@sha256:<hex>]", description: "With --target compose: run the Compose bundle published there (vox deploy emit --push, docker compose publish)" },
  insecure: { type: "boolean", description: "With --from: talk plain HTTP to the bundle's registry" },
  project,
  json,
} as const;
const insecure = { type: "boolean", description: "Talk plain HTTP to the registries named (base and --push)" } as const;
const trustedKey = { type: "string", multiple: true, valueName: "<file>", description: "Also trust this minisign public key file to sign releases" } as const;
const ociScope = { type: "string", valueName: "<name>", description: "Only this cache scope", defaultText: "all scopes (verify: the repository)" } as const;
const ociAudit = { type: "string", valueName: "<file>", description: "Append audit events (JSON lines) to this file", defaultText: "VOX_AUDIT_LOG" } as const;
/** `vox deploy run|logs|stop|rm`. */
const runName = { type: "string", valueName: "<name>", description: "The workload", defaultText: "the manifest's name (run), else the only workload on this host" } as const;
const mirrorKey = { type: "string", multiple: true, valueName: "<file>", description: "Trust this minisign public key to sign a mirror's index.json (listing and freshness only, never releases)", defaultText: "VOX_MIRROR_KEY" } as const;

/** The vox command tree: data, with handlers imported only when their command runs. */
export const voxCommand: CommandSpec = {
  name: "vox",
  summary: "The Vox toolchain: install policy, releases, upgrades, packaging and deploy",
  options: { version: { type: "boolean", short: "V", description: "Print the version" } },
  load: async () => versionOrHelp(voxCommand, BUILD_VERSION),
  subcommands: [
    {
      name: "policy",
      summary: "Print the install policy (targets, asset names, URLs, keys, source install)",
      options: { json, tag: { type: "string", valueName: "<tag>", description: "Tag used in example names and URLs", defaultText: "this version" } },
      env: reads("VOX_UPGRADE_BASE_URL"),
      load: () => import("./policy.ts").then((m) => m.policyCommand),
    },
    {
      name: "upgrade",
      summary: "Replace this vox with a verified release (or roll back), crash-safely",
      options: {
        check: { type: "boolean", description: "Only report whether an update is available" },
        apply: { type: "boolean", description: "Apply the update (the default; accepted for compatibility)" },
        version: { type: "string", valueName: "<tag>", description: "Install this release", defaultText: "VOX_UPGRADE_VERSION, else the newest on the channel" },
        channel: { type: "string", valueName: "<stable|next>", description: "stable ignores prereleases; next includes them", defaultText: "stable" },
        "allow-prerelease": { type: "boolean", description: "Let the newest release be a prerelease" },
        "allow-downgrade": { type: "boolean", description: "Allow installing a lower version" },
        force: { type: "boolean", description: "Reinstall even the same version" },
        provider: { type: "string", valueName: "<github|http>", description: "Release provider", defaultText: "VOX_UPGRADE_PROVIDER; http when a base URL is set, else github" },
        repo: { type: "string", valueName: "<owner/repo>", description: "Release repository", defaultText: "VOX_UPGRADE_REPO, else vox-foundation/vox" },
        "base-url": { type: "string", valueName: "<url>", description: "Mirror base in GitHub's download layout", defaultText: "VOX_UPGRADE_BASE_URL" },
        "github-api-url": { type: "string", valueName: "<url>", description: "GitHub API base", defaultText: "VOX_UPGRADE_GITHUB_API_URL" },
        source: { type: "string", valueName: "<release|repo>", description: "release: a published binary; repo: rebuild from a checkout", defaultText: "release" },
        "repo-root": { type: "string", valueName: "<dir>", description: "With --source repo: the clone to rebuild from, yours alone (never searched for)", defaultText: "VOX_REPO_ROOT" },
        "allow-dirty": { type: "boolean", description: "With --source repo: allow uncommitted changes" },
        from: { type: "string", valueName: "<archive>", description: "Offline: a release archive with checksums.txt(.minisig) beside it" },
        rollback: { type: "boolean", description: "Swap back to the binary the last upgrade replaced" },
        "trusted-key": trustedKey,
        "mirror-key": mirrorKey,
        json,
      },
      details: "State (anti-rollback serials, lock): VOX_STATE_DIR, else ~/.vox/state.",
      env: [...reads("VOX_UPGRADE_VERSION", "VOX_UPGRADE_PROVIDER", "VOX_UPGRADE_REPO", "VOX_UPGRADE_BASE_URL", "VOX_UPGRADE_GITHUB_API_URL", "VOX_MIRROR_KEY", "VOX_REPO_ROOT", "VOX_BUN", "VOX_STATE_DIR", "VOX_UPGRADE_LOCK_WAIT_MS", "VOX_UPGRADE_PAUSE_AT"), ...releaseNetworkEnv],
      exitCodes: { 0: "up-to-date, updated or rolled back", 1: "other failures", 4: "GitHub rate limit", 5: "offline", 6: "verification failed", 7: "managed externally (Homebrew, npm, a system path, or a .vox-managed-by marker)", 10: "update available (--check)" },
      ioBound: (args) => !args.flag("check"),
      load: () => import("./upgrade.ts").then((m) => m.upgradeCommand),
    },
    {
      name: "mirror",
      summary: "Build and check a static release mirror (for VOX_UPGRADE_BASE_URL and air-gapped hosts)",
      subcommands: [
        {
          name: "sync",
          summary: "Copy releases from GitHub or another mirror into a directory, verifying everything, and sign its index",
          options: {
            to: { type: "string", valueName: "<dir>", description: "Mirror directory (serve it as …/releases)" },
            version: { type: "string", multiple: true, valueName: "<tag>", description: "Release to copy", defaultText: "latest" },
            key: { type: "string", valueName: "<file>", description: "minisign secret key that signs index.json (clients must trust its public key)" },
            "expires-days": { type: "string", valueName: "<days>", description: "How long clients may trust the index", defaultText: "30" },
            provider: { type: "string", valueName: "<github|http>", description: "Where to copy from", defaultText: "http with --from-base-url, else github" },
            "from-base-url": { type: "string", valueName: "<url>", description: "Copy from this mirror instead of GitHub" },
            repo: { type: "string", valueName: "<owner/repo>", description: "Release repository", defaultText: "vox-foundation/vox" },
            "github-api-url": { type: "string", valueName: "<url>", description: "GitHub API base (Enterprise)" },
            "trusted-key": trustedKey,
            "mirror-key": mirrorKey,
            json,
          },
          env: [...reads("VOX_MIRROR_KEY", "VOX_SIGNING_KEY_PASSWORD"), ...releaseNetworkEnv],
          exitCodes: { 4: "GitHub rate limit" },
          load: () => import("./mirror.ts").then((m) => m.mirrorSyncCommand),
        },
        {
          name: "verify",
          summary: "Verify a mirror directory: the signed index, then every release as install would",
          positionals: [{ name: "dir", required: true }],
          options: { repo: { type: "string", valueName: "<owner/repo>", description: "Repository releases must be signed for", defaultText: "vox-foundation/vox" }, "trusted-key": trustedKey, "mirror-key": mirrorKey, json },
          env: reads("VOX_MIRROR_KEY"),
          exitCodes: { 1: "a problem found (each one named)" },
          load: () => import("./mirror.ts").then((m) => m.mirrorVerifyCommand),
        },
      ],
    },
    {
      name: "lock",
      summary: "Resolve Vox.toml's base image and input files into vox.lock",
      options: { project, insecure, json },
      details: "Run from the directory holding Vox.toml or below it (found by upward search, like git).",
      env: registryEnv,
      exitCodes: { 0: "vox.lock written (or already current)" },
      load: () => import("./deploy.ts").then((m) => m.lockCommand),
    },
    {
      name: "deploy",
      summary: "Package and deploy Vox applications as OCI images (no Docker daemon needed)",
      subcommands: [
        {
          name: "build",
          summary: "Build a reproducible multi-platform OCI image from Vox.toml and vox.lock",
          options: {
            platform: { type: "string", multiple: true, valueName: "<os/arch,...>", description: "Platforms to build", defaultText: "deploy.platforms, else linux/amd64,linux/arm64" },
            output: { type: "string", valueName: "oci:<dir>[:<tag>]", description: "OCI image layout to write", defaultText: "oci:.vox/oci:<package version>" },
            push: { type: "string", valueName: "<registry/repo:tag>", description: "Also push the image, its SBOM and provenance to a registry" },
            locked: { type: "boolean", description: "Fail if vox.lock is missing or stale instead of updating it" },
            frozen: { type: "boolean", description: "Like --locked, and never touch the network (base blobs come from the cache)" },
            project,
            insecure,
            json,
          },
          details: [
            "Prints the image index digest and the Release tuple (image digest, platform manifest content hash).",
            "SOURCE_DATE_EPOCH (default 0) stamps every file and the config; base blobs are cached in VOX_CACHE_DIR.",
            "Registry credentials come from Docker's config.json (DOCKER_CONFIG) and its credential helpers; VOX_CA_BUNDLE adds a CA.",
          ].join("\n"),
          env: [...reads("SOURCE_DATE_EPOCH", "VOX_COMPRESSION_WORKERS", "VOX_CACHE_DIR", "XDG_CACHE_HOME"), ...registryEnv],
          exitCodes: { 0: "built (and pushed)", 1: "failure (stale lock under --locked/--frozen, registry refusal, verification)" },
          load: () => import("./deploy.ts").then((m) => m.deployBuildCommand),
        },
        {
          name: "schema",
          summary: "Print the JSON Schema of Vox.toml, or with --platform of vox.platform.toml (for editors and control planes)",
          options: { platform: { type: "boolean", description: "The platform manifest's schema (vox.platform/v1) instead of Vox.toml's" } },
          load: () => import("./deploy.ts").then((m) => m.deploySchemaCommand),
        },
        {
          name: "validate",
          summary: "Check the platform manifest (vox.platform.toml): every problem with its line and key, or the normalized manifest",
          options: {
            manifest: { type: "string", valueName: "<file>", description: "Check this file", defaultText: "[deploy] manifest in Vox.toml, else vox.platform.toml beside it" },
            explain: { type: "boolean", description: "Also list each default applied and why" },
            project,
            json: { type: "boolean", description: "Print one JSON object: the normalized manifest, its content_hash and the defaults (or the problems)" },
          },
          details: "The content hash is sha256 over the canonical JSON of the normalized manifest: comments, key order and formatting never change it.",
          exitCodes: { 0: "valid", 1: "problems found (or no manifest)", 2: "usage error (--manifest names no file)" },
          load: () => import("./deploy.ts").then((m) => m.deployValidateCommand),
        },
        {
          name: "release",
          summary: "Record a Release: the image digest and the platform manifest's content hash, appended to the hash-chained log",
          options: {
            image: { type: "string", valueName: "<ref>@sha256:<hex>", description: "The image, pinned by digest (a tag alone is refused)", defaultText: "the image of the last vox deploy build" },
            push: { type: "string", valueName: "<registry/repository>", description: "Also push the normalized manifest there as an OCI artifact whose subject is the image (and the image, from the layout, if missing)" },
            project,
            insecure,
            json,
          },
          details: [
            "The image must exist in the project's OCI layout or on its registry; for a multi-platform image, pin the index, not a platform manifest.",
            "Log: .vox/releases/log.jsonl, or VOX_RELEASE_LOG; the normalized manifest is stored beside it under manifests/sha256/<hex>.json.",
          ].join("\n"),
          env: [...releaseLogEnv, ...registryEnv],
          exitCodes: { 0: "recorded (and pushed)", 1: "failure (image not found, log fails verification, registry refusal)", 2: "usage error (image not pinned by digest)" },
          load: () => import("./releases.ts").then((m) => m.deployReleaseCommand),
        },
        {
          name: "releases",
          summary: "List the Releases in the log (verified first)",
          options: { project, json },
          env: releaseLogEnv,
          exitCodes: { 1: "the log fails verification" },
          load: () => import("./releases.ts").then((m) => m.deployReleasesCommand),
          subcommands: [
            {
              name: "verify",
              summary: "Check every record's hash, order and link, and the head; name each edited, reordered, removed or truncated record",
              options: { project, json },
              env: releaseLogEnv,
              exitCodes: { 0: "intact", 1: "a problem found (each one named)" },
              load: () => import("./releases.ts").then((m) => m.deployReleasesVerifyCommand),
            },
            {
              name: "repair",
              summary: "Move a cut-short last line (a release interrupted mid-write) aside; refuses any other damage",
              options: { project, json },
              env: releaseLogEnv,
              exitCodes: { 1: "damage other than a cut-short last line (nothing moved)" },
              load: () => import("./releases.ts").then((m) => m.deployReleasesRepairCommand),
            },
          ],
        },
        {
          name: "rollback",
          summary: "Append a Release re-recording an earlier one's exact (image digest, manifest hash), never a tag",
          positionals: [{ name: "seq" }],
          options: { project, json },
          details: "Default: the release before the current one (after a rollback, the one before that). The stored manifest is re-hashed first.",
          env: releaseLogEnv,
          load: () => import("./releases.ts").then((m) => m.deployRollbackCommand),
        },
        {
          name: "emit",
          summary: "Write descriptors for a Release (compose, kubernetes, quadlet, systemd, firecracker): the image pinned by digest, every field the target can express, the rest listed",
          options: {
            target: { type: "string", valueName: "<compose|kubernetes|quadlet|systemd|firecracker>", description: "What to write for" },
            release: { type: "string", valueName: "<seq|latest>", description: "The Release to emit", defaultText: "latest" },
            image: { type: "string", valueName: "<ref>@sha256:<hex>", description: "Emit for this pinned image and the manifest instead of a Release" },
            manifest: { type: "string", valueName: "<file>", description: "With --image: the platform manifest", defaultText: "the project's" },
            out: { type: "string", valueName: "<dir>", description: "Write the files there (only files vox wrote and nobody edited are replaced)", defaultText: "print them" },
            push: { type: "string", valueName: "<registry/repository:tag>", description: "With --target compose: also publish the Compose file there as an OCI artifact, as docker compose publish does" },
            insecure: { type: "boolean", description: "Talk plain HTTP to the --push registry" },
            strict: { type: "boolean", description: "Fail (exit 1) if any field is not expressible by the target" },
            project,
            json,
          },
          details: "Same Release in, same bytes out. Fields the target cannot express are listed on stderr as 'not expressible: <field>: <why>' (and in --json).",
          env: [...releaseLogEnv, ...registryEnv, ...reads("SOURCE_DATE_EPOCH")],
          exitCodes: { 0: "written (and pushed)", 1: "failure (unknown release, a log or stored manifest that fails verification, --strict with fields not expressible, a registry refusal)" },
          load: () => import("./deploy_emit.ts").then((m) => m.deployEmitCommand),
        },
        {
          name: "up",
          summary: "Run the descriptors for a target on the engine this host has (loading a layout-only image into its store first)",
          options: engineOptions,
          details: [
            "Engines, in order: compose: Docker, then Podman (through its API socket, with docker compose or docker-compose); kubernetes: kubectl with a current context, then podman kube play; podman: podman run detached (the systemd target's command line).",
            "The chosen engine is printed; none is an error naming what to install.",
          ].join("\n"),
          env: [...reads("VOX_RELEASE_LOG", "DOCKER_HOST"), ...registryEnv],
          exitCodes: { 0: "up", 1: "failure (no engine, the engine refused, the image cannot be loaded)" },
          load: () => import("./deploy_engines.ts").then((m) => m.deployUpCommand),
        },
        {
          name: "down",
          summary: "Remove what `vox deploy up` made for a target: containers, pods, networks and volumes (persistent ones too)",
          options: engineOptions,
          env: [...reads("VOX_RELEASE_LOG", "DOCKER_HOST"), ...registryEnv],
          exitCodes: { 0: "down (also when nothing was up)" },
          load: () => import("./deploy_engines.ts").then((m) => m.deployDownCommand),
        },
        {
          name: "run",
          summary: "Run a Release on this host with runc: verified pull, policy unpack, CNI network, health checks, and a rollout that keeps the old instance until the new one is healthy",
          options: {
            release: { type: "string", valueName: "<seq|latest>", description: "The Release to run, from the project's log", defaultText: "latest" },
            image: { type: "string", valueName: "<ref>@sha256:<hex>", description: "Run the Release this image and --manifest-hash name, reading the manifest from the registry (pushed with vox deploy release --push)" },
            "manifest-hash": { type: "string", valueName: "sha256:<hex>", description: "With --image: the Release's manifest content hash" },
            name: runName,
            "publish-address": { type: "string", valueName: "<ip>", description: "Host address the public ports are published on", defaultText: "the workload's, else 127.0.0.1" },
            publish: { type: "string", multiple: true, valueName: "<port>:<host port>", description: "Publish a public container port on this host port", defaultText: "the workload's, else the same number" },
            policy: { type: "string", valueName: "<file>", description: "Unpack policy (TOML), as vox oci unpack", defaultText: "the safe defaults" },
            audit: ociAudit,
            project,
            insecure: { type: "boolean", description: "Talk plain HTTP to the image's registry" },
            json,
          },
          details: [
            "Runs as root: runc (Debian's), the CNI plugins in /usr/lib/cni (VOX_CNI_PATH), iptables and ip. State: VOX_STATE_DIR/run; secrets: VOX_SECRETS_DIR/<bundle>/; volumes: VOX_DATA_DIR/volumes/<app>/<name>.",
            "Acts only on digests. Returns once the instance is healthy; otherwise exits 1 with the check's last result and the instance's output, and the old instance keeps serving.",
          ].join("\n"),
          env: [...runEnv, ...reads("VOX_SECRETS_DIR", "VOX_DATA_DIR", "VOX_CNI_PATH", "VOX_RUN_PAUSE_AT"), ...pullEnv],
          exitCodes: { 0: "healthy (or already running this release)" },
          status: "experimental",
          load: () => import("./deploy_run.ts").then((m) => m.deployRunCommand),
        },
        {
          name: "ps",
          summary: "List the workloads vox runs on this host: instance, release, state, address, published ports, out-of-memory kills",
          options: { json },
          env: reads("VOX_STATE_DIR"),
          status: "experimental",
          load: () => import("./deploy_run.ts").then((m) => m.deployPsCommand),
        },
        {
          name: "logs",
          summary: "Print a workload's output (stdout and stderr of its instance)",
          options: { name: runName, follow: { type: "boolean", short: "f", description: "Keep printing new output, across rollouts, until the workload is removed" } },
          env: reads("VOX_STATE_DIR"),
          status: "experimental",
          load: () => import("./deploy_run.ts").then((m) => m.deployLogsCommand),
        },
        {
          name: "stop",
          summary: "Stop a workload's instance (ports, process, network); its bundle and volumes are kept",
          options: { name: runName, audit: ociAudit, json },
          env: reads("VOX_STATE_DIR", "VOX_DATA_DIR", "VOX_AUDIT_LOG"),
          status: "experimental",
          load: () => import("./deploy_run.ts").then((m) => m.deployStopCommand),
        },
        {
          name: "rm",
          summary: "Remove a workload: its instance, bundle and ephemeral volumes (the image cache and persistent volumes stay)",
          options: { name: runName, audit: ociAudit, json },
          env: reads("VOX_STATE_DIR", "VOX_DATA_DIR", "VOX_AUDIT_LOG"),
          status: "experimental",
          load: () => import("./deploy_run.ts").then((m) => m.deployRmCommand),
        },
      ],
    },
    {
      name: "oci",
      summary: "Pull, check and unpack OCI images: verified, into a scoped content-addressed cache, with audit events",
      subcommands: [
        {
          name: "pull",
          summary: "Resolve a reference and fetch its image, verifying every manifest, config and layer (diff_ids too)",
          positionals: [{ name: "reference", required: true }],
          options: {
            platform: { type: "string", valueName: "<os/arch[/variant]>", description: "Platform to pull from an index", defaultText: "this machine's" },
            scope: { type: "string", valueName: "<name>", description: "Cache scope whose tags and index this pull may change", defaultText: "the repository" },
            "require-digest": { type: "boolean", description: "Refuse a reference that names only a tag" },
            audit: ociAudit,
            insecure: { type: "boolean", description: "Talk plain HTTP to the reference's registry" },
            json,
          },
          details: [
            "<reference> is registry/repository[:tag][@sha256:<hex>], or oci:<dir>[:<tag>|@sha256:<hex>] (checked in place, not cached).",
            "Blobs go to VOX_CACHE_DIR (shared by every scope, stored once); an interrupted download resumes.",
          ].join("\n"),
          env: pullEnv,
          exitCodes: { 0: "pulled", 1: "refused or failed" },
          load: () => import("./oci.ts").then((m) => m.ociPullCommand),
        },
        {
          name: "unpack",
          summary: "Pull (verified) and unpack an image into an OCI runtime bundle (rootfs/ + config.json) under a safe policy",
          positionals: [{ name: "source", required: true }, { name: "bundle-dir", required: true }],
          options: {
            platform: { type: "string", valueName: "<os/arch[/variant]>", description: "Platform to unpack from an index", defaultText: "this machine's" },
            policy: { type: "string", valueName: "<file>", description: "Unpack policy (TOML): devices, setuid, xattrs, ownership, limits", defaultText: "the safe defaults" },
            scope: { type: "string", valueName: "<name>", description: "Cache scope of a registry pull", defaultText: "the repository" },
            audit: ociAudit,
            insecure: { type: "boolean", description: "Talk plain HTTP to the reference's registry" },
            json,
          },
          details: [
            "<source> is oci:<dir>[:<tag>|@sha256:<hex>] or a registry reference (pulled and cached as by 'vox oci pull').",
            "<bundle-dir> may exist but must not hold rootfs or config.json; the rootfs is built beside and renamed, config.json last.",
          ].join("\n"),
          env: [...pullEnv, ...reads("VOX_UNPACK_PAUSE_AT")],
          exitCodes: { 0: "unpacked", 1: "refused (policy, containment, integrity) or failed, with nothing left in the bundle", 2: "usage error or a bad policy file" },
          load: () => import("./oci.ts").then((m) => m.ociUnpackCommand),
        },
        {
          name: "materialize",
          summary: "Pull (verified), unpack under the policy and write the image as an ext4 disk: the same bytes on every host",
          positionals: [{ name: "source", required: true }],
          options: {
            format: { type: "string", valueName: "<ext4>", description: "Disk format", defaultText: "ext4" },
            output: { type: "string", valueName: "<file>", description: "The disk image to write (made beside, then renamed)" },
            size: { type: "string", valueName: "<auto|bytes>", description: "Size of the file system: fitted to the tree, or a multiple of 4096", defaultText: "auto" },
            platform: { type: "string", valueName: "<os/arch[/variant]>", description: "Platform to take from an index", defaultText: "this machine's" },
            policy: { type: "string", valueName: "<file>", description: "Unpack policy (TOML), as for vox oci unpack", defaultText: "the safe defaults" },
            scope: { type: "string", valueName: "<name>", description: "Cache scope of a registry pull", defaultText: "the repository" },
            audit: ociAudit,
            insecure: { type: "boolean", description: "Talk plain HTTP to the reference's registry" },
            json,
          },
          details: [
            "Needs e2fsprogs (mke2fs, debugfs, e2fsck). UUID and directory-hash seed come from the image digest, every time from its created date.",
          ].join("\n"),
          env: pullEnv,
          exitCodes: { 0: "written", 1: "refused (policy, integrity), or the tree did not fit --size", 2: "usage error or a bad policy file" },
          status: "experimental",
          load: () => import("./microvm.ts").then((m) => m.ociMaterializeCommand),
        },
        {
          name: "verify",
          summary: "Re-check a layout or a cached image end to end (documents, sizes, digests, diff_ids) without unpacking",
          positionals: [{ name: "source", required: true }],
          options: { platform: { type: "string", valueName: "<os/arch[/variant]>", description: "Check only this platform", defaultText: "every platform (a layout) or every one pulled (the cache)" }, scope: ociScope, audit: ociAudit, json },
          env: reads("VOX_CACHE_DIR", "XDG_CACHE_HOME", "VOX_AUDIT_LOG"),
          exitCodes: { 0: "intact", 1: "a problem found" },
          load: () => import("./oci.ts").then((m) => m.ociVerifyCommand),
        },
        {
          name: "cache",
          summary: "The image cache in VOX_CACHE_DIR: list, verify, garbage-collect",
          subcommands: [
            { name: "ls", summary: "List scopes, their references and digests, and the blobs", options: { scope: ociScope, json }, env: reads("VOX_CACHE_DIR", "XDG_CACHE_HOME"), load: () => import("./oci.ts").then((m) => m.ociCacheLsCommand) },
            { name: "verify", summary: "Re-check every blob (evicting bad ones) and every scope's images; exit 1 on any problem", options: { scope: ociScope, audit: ociAudit, json }, env: reads("VOX_CACHE_DIR", "XDG_CACHE_HOME", "VOX_AUDIT_LOG"), exitCodes: { 1: "a problem found" }, load: () => import("./oci.ts").then((m) => m.ociCacheVerifyCommand) },
            {
              name: "gc",
              summary: "Delete blobs no scope references (kept an hour after their last pull) and leftovers of killed pulls",
              options: { scope: { ...ociScope, description: "Forget this scope first, then collect" }, audit: ociAudit, json },
              env: reads("VOX_CACHE_DIR", "XDG_CACHE_HOME", "VOX_AUDIT_LOG"),
              load: () => import("./oci.ts").then((m) => m.ociCacheGcCommand),
            },
          ],
        },
      ],
    },
    {
      name: "microvm",
      summary: "Boot an image as a microVM (qemu's microvm machine, the Firecracker-like device model) on this host",
      status: "experimental",
      subcommands: [
        {
          name: "run",
          summary: "Materialize the image as an ext4 disk (cached), boot it with vox's initramfs, print the entrypoint's output, exit with its status",
          positionals: [{ name: "source", required: true }],
          options: {
            manifest: { type: "string", valueName: "<file>", description: "Platform manifest: process overrides, vCPUs and memory", defaultText: "the project's, else 1 vCPU and 256 MiB" },
            project,
            platform: { type: "string", valueName: "<os/arch[/variant]>", description: "Platform to take from an index", defaultText: "this machine's" },
            policy: { type: "string", valueName: "<file>", description: "Unpack policy (TOML), as for vox oci unpack", defaultText: "the safe defaults" },
            scope: { type: "string", valueName: "<name>", description: "Cache scope of a registry pull", defaultText: "the repository" },
            "boot-timeout": { type: "string", valueName: "<seconds>", description: "Kill the VM if the guest has not reached the entrypoint by then", defaultText: "120" },
            audit: ociAudit,
            insecure: { type: "boolean", description: "Talk plain HTTP to the reference's registry" },
            json: { type: "boolean", description: "Print the run's summary as one JSON object on stderr (stdout is the entrypoint's)" },
          },
          details: "VOX_MICROVM_KERNEL is required (a vmlinux or bzImage). vox exits with the entrypoint's status.",
          env: [...microvmEnv, ...pullEnv],
          exitCodes: { 0: "the entrypoint exited 0 (any other status of the entrypoint is passed on)", 1: "failure before the boot", 125: "the VM failed (no status from the guest, qemu missing, boot timeout)" },
          load: () => import("./microvm.ts").then((m) => m.microvmRunCommand),
        },
        {
          name: "initramfs",
          summary: "Write the initramfs vox boots (busybox, the kernel's virtio and ext4 modules, an init that runs the boot args' command), e.g. for a Firecracker config",
          options: { output: { type: "string", valueName: "<file>", description: "Where to write it (initramfs.cpio beside a Firecracker config)" } },
          env: reads("VOX_MICROVM_KERNEL", "VOX_MICROVM_MODULES", "VOX_MICROVM_BUSYBOX"),
          load: () => import("./microvm.ts").then((m) => m.microvmInitramfsCommand),
        },
      ],
    },
    {
      name: "self",
      summary: "Manage this installation of vox",
      subcommands: [
        {
          name: "uninstall",
          summary: "Remove exactly what vox-bootstrap installed (files and PATH blocks listed in its receipt)",
          options: { "install-dir": { type: "string", valueName: "<dir>", description: "Installation to remove", defaultText: "the directory of this executable" }, json },
          load: () => import("./self.ts").then((m) => m.uninstallCommand),
        },
      ],
    },
    {
      name: "ci",
      summary: "Release engineering: build, checksum, sign and verify release artifacts",
      subcommands: [
        {
          name: "release-build",
          summary: "Compile, archive, checksum and smoke-test release binaries",
          options: {
            target: { type: "string", multiple: true, valueName: "<triple>", description: "Target triple, or 'all'", defaultText: "the host triple" },
            version: { type: "string", valueName: "<tag>", description: "Release tag v<semver>", defaultText: "v + package.json version" },
            "out-dir": { type: "string", valueName: "<dir>", description: "Output directory", defaultText: "dist" },
            package: { type: "string", valueName: "<vox|bootstrap|both>", description: "Which executables to build", defaultText: "both" },
            "trusted-key": { ...trustedKey, description: "Embed this minisign public key file as trusted in the built executables" },
            "no-smoke": { type: "boolean", description: "Skip running the built executables" },
            json,
          },
          details: "SOURCE_DATE_EPOCH stamps the archives (default: the last commit's time).",
          env: reads("SOURCE_DATE_EPOCH", "VOX_BUN", "VOX_REPO_ROOT", "VOX_COMPRESSION_WORKERS"),
          exitCodes: { 1: "failure (including a failed smoke test)" },
          load: () => import("./ci.ts").then((m) => m.releaseBuildCommand),
        },
        {
          name: "checksums",
          summary: "Write checksums.txt for every release archive in a directory",
          positionals: [{ name: "dir", required: true }],
          options: { json },
          load: () => import("./ci.ts").then((m) => m.checksumsCommand),
        },
        {
          name: "sign",
          summary: "Sign a file with minisign; the trusted comment binds repo, tag and version",
          positionals: [{ name: "file", required: true }],
          options: {
            key: { type: "string", valueName: "<file>", description: "minisign secret key file (encrypted keys read VOX_SIGNING_KEY_PASSWORD)" },
            tag: { type: "string", valueName: "<tag>", description: "Release tag v<semver>" },
            repo: { type: "string", valueName: "<owner/repo>", description: "Release repository", defaultText: "vox-foundation/vox" },
          },
          env: reads("VOX_SIGNING_KEY_PASSWORD"),
          load: () => import("./ci.ts").then((m) => m.signCommand),
        },
        {
          name: "verify",
          summary: "Verify a release directory: signature, then checksums, then archive structure",
          positionals: [{ name: "dir", required: true }],
          options: {
            tag: { type: "string", valueName: "<tag>", description: "Release tag the signature must name" },
            repo: { type: "string", valueName: "<owner/repo>", description: "Repository the signature must name", defaultText: "vox-foundation/vox" },
            "trusted-key": trustedKey,
            attestation: { type: "string", multiple: true, valueName: "<bundle.json>", description: "A Sigstore bundle (GitHub artifact attestation): every archive must be named in one from the release workflow at --tag (checked offline: signature, workflow identity, digests; not the Fulcio chain or Rekor)" },
            json,
          },
          exitCodes: { 1: "verification failed (each problem named)" },
          load: () => import("./ci.ts").then((m) => m.verifyCommand),
        },
        {
          name: "image-policy",
          summary: "Check an image against the deploy contract's CI gates: pinned base, vox.lock, platforms, SBOM, provenance, annotations, Release manifest",
          positionals: [{ name: "image", required: true }],
          options: {
            project: { type: "string", valueName: "<dir>", description: "The project the image was built from: its Vox.toml (platforms, [deploy.policy]), vox.lock and Release log", defaultText: "none: the lock gate fails, the others use Vox.toml's defaults" },
            insecure: { type: "boolean", description: "Talk plain HTTP to the image's registry" },
            json,
          },
          details: [
            "<image> is registry/repository[:tag][@sha256:<hex>], or oci:<dir>[:<tag>|@sha256:<hex>]. Each gate prints pass or FAIL with its evidence;",
            "[deploy.policy] in Vox.toml makes a gate advisory (printed as warn). Release manifest: checked when the project's log has a Release of this image.",
          ].join("\n"),
          env: [...registryEnv, ...releaseLogEnv],
          exitCodes: { 0: "every required gate passed", 1: "a required gate failed (each named with its reason)" },
          load: () => import("./ci_image_policy.ts").then((m) => m.imagePolicyCommand),
        },
        {
          name: "pm-provenance",
          summary: "Validate vox.pm.provenance/1 sidecars under .vox_modules/provenance",
          options: {
            root: { type: "string", valueName: "<dir>", description: "Project root", defaultText: "current directory" },
            strict: { type: "boolean", description: "Fail on any invalid sidecar or when none exist" },
            json,
          },
          exitCodes: { 1: "an invalid sidecar (with --strict: or none at all)" },
          load: () => import("./ci.ts").then((m) => m.pmProvenanceCommand),
        },
        {
          name: "command-compliance",
          summary: "Check that the command registry, the README's command table, every --help and the shell completions agree with the command tables",
          options: {
            fix: { type: "boolean", description: "Regenerate contracts/cli/ (registry, completions) and the README's table first" },
            json,
          },
          details: "Reads the checkout at or above the working directory (or VOX_REPO_ROOT). Each difference is named with its place, command and flag.",
          env: reads("VOX_REPO_ROOT"),
          exitCodes: { 0: "everything agrees (after --fix: was regenerated)", 1: "a difference found (each one named), or one --fix cannot repair" },
          load: () => import("./ci_compliance.ts").then((m) => m.commandComplianceCommand),
        },
      ],
    },
    {
      name: "completions",
      summary: "Print the shell completion script for vox and vox-bootstrap, generated from their command tables",
      positionals: [{ name: "bash|zsh|fish|powershell", required: true }],
      details: "bash: source <(vox completions bash); zsh: source <(vox completions zsh); fish: vox completions fish | source; PowerShell: vox completions powershell | Out-String | Invoke-Expression.",
      exitCodes: { 2: "usage error (an unknown shell)" },
      load: () => import("./completions.ts").then((m) => m.completionsCommand),
    },
  ],
};
