/** Every environment variable vox reads, with what it means; `vox policy` prints this table. */
export const ENV_VARS = {
  VOX_UPGRADE_BASE_URL: "Static mirror base in GitHub's download layout (…/releases, no trailing slash)",
  VOX_UPGRADE_PROVIDER: "Release provider: github or http",
  VOX_UPGRADE_REPO: "Release repository owner/repo",
  VOX_UPGRADE_VERSION: "Pinned release tag for vox upgrade",
  VOX_UPGRADE_GITHUB_API_URL: "GitHub API base (GitHub Enterprise)",
  VOX_VERSION: "Release tag install.sh / install.ps1 install",
  VOX_INSECURE_HTTP_MIRROR: "install.sh / install.ps1: the one plain-http mirror base accepted (exactly VOX_UPGRADE_BASE_URL; needs a signature verifier)",
  VOX_INSTALL_DIR: "Install directory (default ~/.vox/bin)",
  VOX_REPO_ROOT: "Checkout used by release builds, and by source installs and upgrades only when named (never searched for there)",
  VOX_MIRROR_KEY: "Minisign public key(s) trusted to sign a mirror's index.json (listing and freshness only, never releases)",
  VOX_GITHUB_TOKEN: "GitHub token (first choice)",
  GH_TOKEN: "GitHub token (second choice)",
  GITHUB_TOKEN: "GitHub token (third choice)",
  VOX_CA_BUNDLE: "Extra PEM CA bundle trusted for downloads and registries",
  VOX_SIGNING_KEY_PASSWORD: "Password of an encrypted minisign secret key (vox ci sign)",
  VOX_BUN: "Bun executable used to compile releases",
  VOX_STATE_DIR: "Upgrade state: lock and anti-rollback serials (default ~/.vox/state)",
  VOX_UPGRADE_LOCK_WAIT_MS: "How long a second vox upgrade waits for the lock (default 30000)",
  VOX_UPGRADE_PAUSE_AT: "Testing hook: stop the upgrade at a named step (downloaded, staged, previous-kept, swapped)",
  SOURCE_DATE_EPOCH: "Timestamp baked into reproducible archives (default: last commit time) and OCI images (default: 0)",
  VOX_REGISTRY_MIRRORS: "Registry mirrors for base images, e.g. docker.io=mirror.internal:5000 (http://… for plain HTTP; air-gapped hosts)",
  VOX_REGISTRY_IDLE_TIMEOUT_MS: "Longest silence while a registry or token answer streams (default 30000)",
  VOX_AUDIT_LOG: "File vox oci appends audit events to, as JSON lines (--audit overrides it)",
  VOX_CACHE_DIR: "Cache for base-image blobs (default $XDG_CACHE_HOME/vox, else ~/.cache/vox)",
  DOCKER_CONFIG: "Directory of the Docker config.json whose credentials and helpers vox deploy uses",
  VOX_RELEASE_LOG: "The Release log vox deploy release/releases/rollback append to and read (default .vox/releases/log.jsonl); manifests are stored beside it",
  VOX_DEBUG: "Set to 1 to print stack traces",
  NO_COLOR: "Disable colour",
} as const;

/** Token variables in the order they are tried. */
export const GITHUB_TOKEN_VARS = ["VOX_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN"] as const;
