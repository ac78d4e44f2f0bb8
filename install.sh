#!/bin/sh
# vox installer for Linux and macOS: curl -fsSL https://github.com/vox-foundation/vox/releases/latest/download/install.sh | sh
# Downloads vox-bootstrap for this machine, checks it against checksums.txt, and runs `vox-bootstrap --install`,
# which then verifies and installs vox itself (signature, checksum, single entry). Arguments are passed through.
# Environment: VOX_VERSION (tag, e.g. v1.2.3), VOX_UPGRADE_BASE_URL (mirror), VOX_INSTALL_DIR.
# The whole body is one function called on the last line, so a truncated download runs nothing.

vox_install() {
  set -eu
  repo_base="https://github.com/vox-foundation/vox/releases"
  base="${VOX_UPGRADE_BASE_URL:-$repo_base}"
  base="${base%/}"

  say() { printf 'vox-install: %s\n' "$*" >&2; }
  die() { say "error: $*"; exit 1; }

  # The triple table mirrors policy/targets.ts (tests/policy_agreement.test.ts checks it).
  os="$(uname -s)"
  arch="$(uname -m)"
  case "$arch" in
    x86_64 | amd64) cpu=x86_64 ;;
    aarch64 | arm64) cpu=aarch64 ;;
    *) die "unsupported CPU '$arch'; vox ships x86_64 and aarch64 builds" ;;
  esac
  case "$os" in
    Linux)
      # musl or glibc: the ELF interpreter named inside /bin/sh, as vox reads it from its own executable.
      if LC_ALL=C grep -q 'ld-musl' /bin/sh 2>/dev/null; then libc=musl; else libc=gnu; fi
      triple="$cpu-unknown-linux-$libc" ;;
    Darwin)
      if [ "$cpu" = x86_64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then cpu=aarch64; fi
      triple="$cpu-apple-darwin" ;;
    MINGW* | MSYS* | CYGWIN*) die "on Windows use install.ps1: irm $repo_base/latest/download/install.ps1 | iex" ;;
    *) die "unsupported OS '$os'" ;;
  esac
  case "$triple" in
    x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu | x86_64-unknown-linux-musl | aarch64-unknown-linux-musl | x86_64-apple-darwin | aarch64-apple-darwin) ;;
    *) die "no release is built for $triple" ;;
  esac

  if command -v curl >/dev/null 2>&1; then
    fetch() { curl -fsSL --retry 3 --connect-timeout 15 -o "$2" "$1"; }
    fetch_url_effective() { curl -fsSLI --retry 3 --connect-timeout 15 -o /dev/null -w '%{url_effective}' "$1"; }
  elif command -v wget >/dev/null 2>&1; then
    fetch() { wget -q -O "$2" "$1"; }
    fetch_url_effective() { wget -q -S --spider "$1" 2>&1 | sed -n 's/^ *[Ll]ocation: *//p' | tail -n 1; }
  else
    die "neither curl nor wget is installed"
  fi

  if command -v sha256sum >/dev/null 2>&1; then
    sha256() { sha256sum "$1" | cut -d ' ' -f 1; }
  elif command -v shasum >/dev/null 2>&1; then
    sha256() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
  elif command -v openssl >/dev/null 2>&1; then
    sha256() { openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1; }
  else
    die "no SHA-256 tool (sha256sum, shasum or openssl) found; refusing to run an unverified installer"
  fi

  tmp="$(mktemp -d 2>/dev/null || mktemp -d -t vox-install)"
  trap 'rm -rf "$tmp"' EXIT INT TERM HUP

  tag="${VOX_VERSION:-}"
  if [ -z "$tag" ]; then
    if [ "$base" = "$repo_base" ]; then
      tag="$(fetch_url_effective "$base/latest" | sed -n 's#.*/releases/tag/\(v[^/]*\)$#\1#p')"
    else
      # A static mirror answers "latest" through its index; vox-bootstrap re-reads it and checks its signature.
      fetch "$base/index.json" "$tmp/index.json" || die "the mirror $base has no index.json; set VOX_VERSION=v<semver>"
      tag="$(tr -d ' \n' <"$tmp/index.json" | sed -n 's/.*"latest":"\(v[^"]*\)".*/\1/p')"
    fi
    [ -n "$tag" ] || die "could not tell the latest release from $base; set VOX_VERSION=v<semver>"
  fi
  case "$tag" in v[0-9]*) ;; *) die "VOX_VERSION must look like v1.2.3, got '$tag'" ;; esac

  archive="vox-bootstrap-$tag-$triple.tar.gz"
  say "installing vox $tag for $triple from $base"
  fetch "$base/download/$tag/checksums.txt" "$tmp/checksums.txt" || die "cannot download $base/download/$tag/checksums.txt"
  fetch "$base/download/$tag/$archive" "$tmp/$archive" || die "cannot download $base/download/$tag/$archive"

  expected="$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1 }' "$tmp/checksums.txt")"
  [ -n "$expected" ] || die "checksums.txt for $tag does not list $archive"
  actual="$(sha256 "$tmp/$archive")"
  [ "$actual" = "$expected" ] || die "$archive: sha256 is $actual, checksums.txt says $expected; refusing to run it"

  entries="$(tar -tzf "$tmp/$archive")" || die "$archive is not a readable tar.gz"
  [ "$entries" = "vox-bootstrap" ] || die "$archive must hold exactly one entry 'vox-bootstrap'; refusing it"
  mkdir "$tmp/bin"
  tar -xzf "$tmp/$archive" -C "$tmp/bin"
  chmod 0755 "$tmp/bin/vox-bootstrap"

  if [ -n "${VOX_VERSION:-}" ]; then
    "$tmp/bin/vox-bootstrap" --install --version "$tag" "$@"
  else
    "$tmp/bin/vox-bootstrap" --install "$@"
  fi
}

vox_install "$@"
