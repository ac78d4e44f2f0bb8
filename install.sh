#!/bin/sh
# vox installer for Linux and macOS: curl -fsSL https://github.com/vox-foundation/vox/releases/latest/download/install.sh | sh
# Downloads vox-bootstrap for this machine over https, checks the minisign signature of checksums.txt when this host
# has a verifier (minisign, or openssl with Ed25519), checks vox-bootstrap against checksums.txt, and runs
# `vox-bootstrap --install`, which verifies and installs vox itself (signature, checksum, single entry).
# Arguments are passed through. Environment: VOX_VERSION (tag, e.g. v1.2.3), VOX_UPGRADE_BASE_URL (mirror),
# VOX_UPGRADE_REPO (owner/repo the signature must name), VOX_INSTALL_DIR, and VOX_INSECURE_HTTP_MIRROR (the one
# plain-http mirror base you accept; a signature verifier is then required).
# The whole body is one function called on the last line, so a truncated download runs nothing.

vox_install() {
  set -eu
  repo_base="https://github.com/vox-foundation/vox/releases"
  repo="${VOX_UPGRADE_REPO:-vox-foundation/vox}"
  base="${VOX_UPGRADE_BASE_URL:-$repo_base}"
  base="${base%/}"
  # minisign public keys releases may be signed with; `vox ci release-build` writes this line (policy keys + --trusted-key).
  trusted_keys="RWSWAtKX4VdLFOv+Fk4OoXPOvF2D6ab57Z1tgEh/9JK+VgF5dBJNkNE+"
  small_cap=1048576
  archive_cap=536870912

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

  # https only, redirects included; plain http only for the one mirror the user names.
  insecure_mirror="${VOX_INSECURE_HTTP_MIRROR:-}"
  case "$base" in
    https://*) protocols='=https' ;;
    http://*)
      [ "${insecure_mirror%/}" = "$base" ] || die "refusing the plain-http base $base: anyone on the path could swap what it serves. Use https, or set VOX_INSECURE_HTTP_MIRROR=$base to accept exactly this mirror"
      protocols='=http,https' ;;
    *) die "VOX_UPGRADE_BASE_URL must be an https:// URL, got '$base'" ;;
  esac

  # wget cannot be told to refuse a redirect from https to http, so it is not used.
  command -v curl >/dev/null 2>&1 || die "curl is required (wget would follow a redirect from https to plain http)"
  # fetch URL FILE CAP: fails (returns non-zero) on an HTTP or network error; dies on a file over CAP bytes.
  fetch() {
    curl -fsSL --proto "$protocols" --proto-redir "$protocols" --retry 3 --connect-timeout 15 --max-filesize "$3" -o "$2" "$1" || {
      status=$?
      [ "$status" -ne 63 ] || die "$1 is larger than the $3-byte cap; refusing it"
      say "cannot download $1 (curl exit $status)"
      return 1
    }
    # curl only knows the size in advance when the server sends it; check what was written.
    size="$(wc -c <"$2" | tr -d ' ')"
    [ "$size" -le "$3" ] || die "$1 is $size bytes, over the $3-byte cap; refusing it"
  }

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

  # Bytes 2..9 of a minisign key or signature are the key id; printed as minisign and vox print it.
  key_id() { dd if="$1" bs=1 skip=2 count=8 2>/dev/null | od -An -tx1 | awk '{ for (i = 1; i <= NF; i++) id = toupper($i) id } END { print id }'; }
  b64decode() { printf '%s' "$1" | openssl base64 -d -A >"$2" 2>/dev/null; }
  # An Ed25519 public key file (DER SubjectPublicKeyInfo) from the 32 raw key bytes at offset $2 of file $1.
  ed25519_der() { { printf '\060\052\060\005\006\003\053\145\160\003\041\000'; dd if="$1" bs=1 skip="$2" count=32 2>/dev/null; } >"$3"; }
  ed25519_verify() { openssl pkeyutl -verify -pubin -keyform DER -inkey "$1" -rawin -in "$2" -sigfile "$3" >/dev/null 2>&1; }

  # openssl verifies minisign's prehashed Ed25519 when it has BLAKE2b-512 and raw-input Ed25519 (1.1.1 and later;
  # not LibreSSL). Rather than trust a version string, it must pass known answers and refuse a wrong signature.
  openssl_verifies() {
    command -v openssl >/dev/null 2>&1 || return 1
    [ "$(printf abc | openssl dgst -blake2b512 -r 2>/dev/null | cut -d ' ' -f 1)" = ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923 ] || return 1
    # RFC 8032 section 7.1, test 2, with the public key in minisign's layout ("Ed", 8-byte id, 32-byte key).
    b64decode RWQAAAAAAAAAAD1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM "$tmp/kat.pub" || return 1
    b64decode kqAJqfDUyrhyDoILX2QlQKKye1QWUD+Ps3YiI+vbadoIWsHkPhWZbkWPNhPQ8R2MOHsurrQwKu6wDSkWErsMAA== "$tmp/kat.sig" || return 1
    ed25519_der "$tmp/kat.pub" 10 "$tmp/kat.der"
    printf 'r' >"$tmp/kat.msg"
    ed25519_verify "$tmp/kat.der" "$tmp/kat.msg" "$tmp/kat.sig" || return 1
    printf 's' >"$tmp/kat.msg"
    ! ed25519_verify "$tmp/kat.der" "$tmp/kat.msg" "$tmp/kat.sig"
  }
  if command -v minisign >/dev/null 2>&1; then
    verifier=minisign
  elif openssl_verifies; then
    verifier=openssl
  else
    verifier=""
  fi
  [ -n "$verifier" ] || [ "$protocols" = '=https' ] || die "a plain-http mirror needs a signature verifier on this host: install minisign (or openssl 1.1.1 or later)"

  # verify_with_minisign FILE SIG and verify_with_openssl FILE SIG set `comment` (the trusted comment) and `signer`,
  # or fail. Both accept only a signature by one of the embedded keys.
  verify_with_minisign() {
    for key in $trusted_keys; do
      if comment="$(minisign -V -Q -P "$key" -m "$1" -x "$2" 2>/dev/null)"; then
        signer="key $key"
        return 0
      fi
    done
    return 1
  }
  # The checks minisign -V makes for an "ED" signature: the key id names a trusted key, the signature covers
  # BLAKE2b-512(FILE), and the global signature covers signature || trusted comment.
  verify_with_openssl() {
    b64decode "$(sed -n 2p "$2")" "$tmp/sig.bin" && [ "$(wc -c <"$tmp/sig.bin" | tr -d ' ')" = 74 ] || return 1
    [ "$(dd if="$tmp/sig.bin" bs=1 count=2 2>/dev/null)" = ED ] || return 1
    b64decode "$(sed -n 4p "$2")" "$tmp/global.sig" && [ "$(wc -c <"$tmp/global.sig" | tr -d ' ')" = 64 ] || return 1
    comment="$(sed -n '3s/^trusted comment: //p' "$2")"
    dd if="$tmp/sig.bin" bs=1 skip=10 count=64 of="$tmp/file.sig" 2>/dev/null
    { cat "$tmp/file.sig"; printf '%s' "$comment"; } >"$tmp/global.msg"
    openssl dgst -blake2b512 -binary "$1" >"$tmp/prehash"
    for key in $trusted_keys; do
      b64decode "$key" "$tmp/key.bin" || continue
      [ "$(key_id "$tmp/key.bin")" = "$(key_id "$tmp/sig.bin")" ] || continue
      ed25519_der "$tmp/key.bin" 10 "$tmp/key.der"
      ed25519_verify "$tmp/key.der" "$tmp/prehash" "$tmp/file.sig" || return 1
      ed25519_verify "$tmp/key.der" "$tmp/global.msg" "$tmp/global.sig" || return 1
      signer="key $key"
      return 0
    done
    return 1
  }
  # The trusted comment's one value for NAME (tab-separated name:value fields); empty when missing or repeated.
  comment_field() { printf '%s\n' "$comment" | tr '\t' '\n' | awk -v name="$1" 'index($0, name ":") == 1 { n++; v = substr($0, length(name) + 2) } END { if (n == 1) print v }'; }
  # verify_checksums FILE URL [TAG]: verifies FILE (downloaded from URL) with its signature and sets `tag` to the
  # tag it was signed for, which must be TAG when given; the comment must also name this repo, the file and the version.
  verify_checksums() {
    fetch "$2.minisig" "$1.minisig" "$small_cap" || die "cannot download $2.minisig; an unsigned release is never installed"
    "verify_with_$verifier" "$1" "$1.minisig" || die "the signature of $2 does not verify with $verifier against the trusted keys; refusing to run anything from it"
    signed_tag="$(comment_field tag)"
    [ "$(comment_field file)" = checksums.txt ] || die "$2 was signed for file '$(comment_field file)', expected 'checksums.txt'"
    [ "$(comment_field repo)" = "$repo" ] || die "$2 was signed for repo '$(comment_field repo)', expected '$repo'"
    [ -z "${3:-}" ] || [ "$signed_tag" = "$3" ] || die "$2 was signed for tag '$signed_tag', expected '$3'"
    check_tag "$signed_tag" "$2 was signed for tag"
    [ "$(comment_field version)" = "${signed_tag#v}" ] || die "$2 was signed for version '$(comment_field version)', which does not match its tag '$signed_tag'"
    tag="$signed_tag"
  }
  check_tag() {
    case "$1" in v[0-9]*) ;; *) die "$2 '$1', which is not v<semver> (e.g. v1.2.3)" ;; esac
    case "$1" in *[!0-9A-Za-z.+-]*) die "$2 '$1', which is not v<semver> (e.g. v1.2.3)" ;; esac
  }

  tag="${VOX_VERSION:-}"
  if [ -n "$tag" ]; then
    check_tag "$tag" "VOX_VERSION is"
    url="$base/download/$tag/checksums.txt"
  elif [ -n "$verifier" ]; then
    # "latest" from a signed source only: the tag in the trusted comment of latest/download/checksums.txt.
    url="$base/latest/download/checksums.txt"
  elif [ "$base" = "$repo_base" ]; then
    # No verifier: GitHub's releases/latest redirect names the tag, as vox-bootstrap reads it too.
    tag="$(curl -fsSLI --proto '=https' --proto-redir '=https' --retry 3 --connect-timeout 15 -o /dev/null -w '%{url_effective}' "$base/latest" | sed -n 's#.*/releases/tag/\(v[^/]*\)$#\1#p')"
    check_tag "$tag" "the latest release of $base is"
    url="$base/download/$tag/checksums.txt"
  else
    die "cannot tell which release is latest without verifying a signature: install minisign (or openssl 1.1.1 or later), or set VOX_VERSION=v<semver>"
  fi
  fetch "$url" "$tmp/checksums.txt" "$small_cap" || die "cannot download $url; set VOX_VERSION=v<semver> to name a release $base holds"
  if [ -n "$verifier" ]; then
    verify_checksums "$tmp/checksums.txt" "$url" "${VOX_VERSION:-}"
    [ -n "${VOX_VERSION:-}" ] || say "latest release is $tag (from the signed checksums.txt of $base/latest/download/)"
    guarantee="checksums.txt of $tag: signature verified by $verifier ($signer); vox-bootstrap matches its sha256"
  else
    guarantee="no signature verifier on this host (minisign, or openssl 1.1.1 or later with Ed25519): vox-bootstrap is checked only by sha256 against an unsigned checksums.txt fetched over https; vox-bootstrap then verifies the signature itself"
  fi
  [ "$protocols" = '=https' ] || say "downloading over plain http, as VOX_INSECURE_HTTP_MIRROR allows for $base; the signature is what protects it"

  archive="vox-bootstrap-$tag-$triple.tar.gz"
  say "installing vox $tag for $triple from $base"
  fetch "$base/download/$tag/$archive" "$tmp/$archive" "$archive_cap" || die "cannot download $base/download/$tag/$archive"

  expected="$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1 }' "$tmp/checksums.txt")"
  [ -n "$expected" ] || die "checksums.txt for $tag does not list $archive"
  actual="$(sha256 "$tmp/$archive")"
  [ "$actual" = "$expected" ] || die "$archive: sha256 is $actual, checksums.txt says $expected; refusing to run it"
  say "$guarantee"

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
