# bash completion for vox and vox-bootstrap, generated from their command tables by `vox completions bash`; do not edit.
# Load it with: source <(vox completions bash)
_vox_command() {
  case "$1" in
    'vox') subs='policy upgrade mirror lock deploy oci microvm self ci completions'; flags='--version -V --help -h'; takes='' ;;
    'vox policy') subs=''; flags='--json --tag --help -h'; takes='--tag' ;;
    'vox upgrade') subs=''; flags='--check --apply --version --channel --allow-prerelease --allow-downgrade --force --provider --repo --base-url --github-api-url --source --repo-root --allow-dirty --from --rollback --trusted-key --mirror-key --json --help -h'; takes='--version --channel --provider --repo --base-url --github-api-url --source --repo-root --from --trusted-key --mirror-key' ;;
    'vox mirror') subs='sync verify'; flags='--help -h'; takes='' ;;
    'vox mirror sync') subs=''; flags='--to --version --key --expires-days --provider --from-base-url --repo --github-api-url --trusted-key --mirror-key --json --help -h'; takes='--to --version --key --expires-days --provider --from-base-url --repo --github-api-url --trusted-key --mirror-key' ;;
    'vox mirror verify') subs=''; flags='--repo --trusted-key --mirror-key --json --help -h'; takes='--repo --trusted-key --mirror-key' ;;
    'vox lock') subs=''; flags='--project --insecure --json --help -h'; takes='--project' ;;
    'vox deploy') subs='build schema validate release releases rollback emit up down run ps logs stop rm'; flags='--help -h'; takes='' ;;
    'vox deploy build') subs=''; flags='--platform --output --push --locked --frozen --project --insecure --json --help -h'; takes='--platform --output --push --project' ;;
    'vox deploy schema') subs=''; flags='--platform --help -h'; takes='' ;;
    'vox deploy validate') subs=''; flags='--manifest --explain --project --json --help -h'; takes='--manifest --project' ;;
    'vox deploy release') subs=''; flags='--image --push --project --insecure --json --help -h'; takes='--image --push --project' ;;
    'vox deploy releases') subs='verify repair'; flags='--project --json --help -h'; takes='--project' ;;
    'vox deploy releases verify') subs=''; flags='--project --json --help -h'; takes='--project' ;;
    'vox deploy releases repair') subs=''; flags='--project --json --help -h'; takes='--project' ;;
    'vox deploy rollback') subs=''; flags='--project --json --help -h'; takes='--project' ;;
    'vox deploy emit') subs=''; flags='--target --release --image --manifest --out --push --insecure --strict --project --json --help -h'; takes='--target --release --image --manifest --out --push --project' ;;
    'vox deploy up') subs=''; flags='--target --release --image --manifest --from --insecure --project --json --help -h'; takes='--target --release --image --manifest --from --project' ;;
    'vox deploy down') subs=''; flags='--target --release --image --manifest --from --insecure --project --json --help -h'; takes='--target --release --image --manifest --from --project' ;;
    'vox deploy run') subs=''; flags='--release --image --manifest-hash --name --publish-address --publish --policy --audit --project --insecure --json --help -h'; takes='--release --image --manifest-hash --name --publish-address --publish --policy --audit --project' ;;
    'vox deploy ps') subs=''; flags='--json --help -h'; takes='' ;;
    'vox deploy logs') subs=''; flags='--name --follow -f --help -h'; takes='--name' ;;
    'vox deploy stop') subs=''; flags='--name --audit --json --help -h'; takes='--name --audit' ;;
    'vox deploy rm') subs=''; flags='--name --audit --json --help -h'; takes='--name --audit' ;;
    'vox oci') subs='pull unpack materialize verify cache'; flags='--help -h'; takes='' ;;
    'vox oci pull') subs=''; flags='--platform --scope --require-digest --audit --insecure --json --help -h'; takes='--platform --scope --audit' ;;
    'vox oci unpack') subs=''; flags='--platform --policy --scope --audit --insecure --json --help -h'; takes='--platform --policy --scope --audit' ;;
    'vox oci materialize') subs=''; flags='--format --output --size --platform --policy --scope --audit --insecure --json --help -h'; takes='--format --output --size --platform --policy --scope --audit' ;;
    'vox oci verify') subs=''; flags='--platform --scope --audit --json --help -h'; takes='--platform --scope --audit' ;;
    'vox oci cache') subs='ls verify gc'; flags='--help -h'; takes='' ;;
    'vox oci cache ls') subs=''; flags='--scope --json --help -h'; takes='--scope' ;;
    'vox oci cache verify') subs=''; flags='--scope --audit --json --help -h'; takes='--scope --audit' ;;
    'vox oci cache gc') subs=''; flags='--scope --audit --json --help -h'; takes='--scope --audit' ;;
    'vox microvm') subs='run initramfs'; flags='--help -h'; takes='' ;;
    'vox microvm run') subs=''; flags='--manifest --project --platform --policy --scope --boot-timeout --audit --insecure --json --help -h'; takes='--manifest --project --platform --policy --scope --boot-timeout --audit' ;;
    'vox microvm initramfs') subs=''; flags='--output --help -h'; takes='--output' ;;
    'vox self') subs='uninstall'; flags='--help -h'; takes='' ;;
    'vox self uninstall') subs=''; flags='--install-dir --json --help -h'; takes='--install-dir' ;;
    'vox ci') subs='release-build checksums sign verify image-policy pm-provenance command-compliance'; flags='--help -h'; takes='' ;;
    'vox ci release-build') subs=''; flags='--target --version --out-dir --package --trusted-key --no-smoke --json --help -h'; takes='--target --version --out-dir --package --trusted-key' ;;
    'vox ci checksums') subs=''; flags='--json --help -h'; takes='' ;;
    'vox ci sign') subs=''; flags='--key --tag --repo --help -h'; takes='--key --tag --repo' ;;
    'vox ci verify') subs=''; flags='--tag --repo --trusted-key --attestation --json --help -h'; takes='--tag --repo --trusted-key --attestation' ;;
    'vox ci image-policy') subs=''; flags='--project --insecure --json --help -h'; takes='--project' ;;
    'vox ci pm-provenance') subs=''; flags='--root --strict --json --help -h'; takes='--root' ;;
    'vox ci command-compliance') subs=''; flags='--fix --json --help -h'; takes='' ;;
    'vox completions') subs=''; flags='--help -h'; takes='' ;;
    'vox-bootstrap') subs='plan'; flags='--install --version -V --install-dir --provider --base-url --repo --github-api-url --allow-prerelease --source-only --repo-root --no-fallback --no-modify-path --trusted-key --mirror-key --json --help -h'; takes='--version -V --install-dir --provider --base-url --repo --github-api-url --repo-root --trusted-key --mirror-key' ;;
    'vox-bootstrap plan') subs=''; flags='--version -V --install-dir --provider --base-url --repo --github-api-url --allow-prerelease --source-only --repo-root --no-fallback --no-modify-path --trusted-key --mirror-key --json --human --help -h'; takes='--version -V --install-dir --provider --base-url --repo --github-api-url --repo-root --trusted-key --mirror-key' ;;
    *) subs=''; flags=''; takes='' ;;
  esac
}
_vox_values() {
  case "$1" in
    'vox upgrade --channel') values='stable next' ;;
    'vox upgrade --provider') values='github http' ;;
    'vox upgrade --source') values='release repo' ;;
    'vox mirror sync --provider') values='github http' ;;
    'vox deploy emit --target') values='compose kubernetes quadlet systemd firecracker' ;;
    'vox deploy emit --release') values='seq latest' ;;
    'vox deploy up --target') values='compose kubernetes podman' ;;
    'vox deploy up --release') values='seq latest' ;;
    'vox deploy down --target') values='compose kubernetes podman' ;;
    'vox deploy down --release') values='seq latest' ;;
    'vox deploy run --release') values='seq latest' ;;
    'vox oci materialize --size') values='auto bytes' ;;
    'vox ci release-build --package') values='vox bootstrap both' ;;
    'vox-bootstrap --provider') values='github http' ;;
    'vox-bootstrap plan --provider') values='github http' ;;
    *) values='' ;;
  esac
}
_vox_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd=${COMP_WORDS[0]##*/} i word subs flags takes values skip=0
  _vox_command "$cmd"
  # Walk the words before the cursor: subcommand names extend the path; a flag's value is not a subcommand.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    if [[ " $takes " == *" $word "* ]]; then skip=1; continue; fi
    if [[ " $subs " == *" $word "* ]]; then cmd="$cmd $word"; _vox_command "$cmd"; fi
  done
  if [[ $prev == -* && " $takes " == *" $prev "* ]]; then
    _vox_values "$cmd $prev"
    if [[ -n $values ]]; then mapfile -t COMPREPLY < <(compgen -W "$values" -- "$cur"); else mapfile -t COMPREPLY < <(compgen -f -- "$cur"); fi
  elif [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
  elif [[ -n $subs ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -F _vox_complete vox vox-bootstrap
