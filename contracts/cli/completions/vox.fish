# fish completion for vox and vox-bootstrap, generated from their command tables by `vox completions fish`; do not edit.
# Load it with: vox completions fish | source
function __vox_command
    switch $argv[1]
        case 'vox'; set -g __vox_subs policy upgrade mirror lock deploy oci microvm self ci completions; set -g __vox_flags --version -V --help -h; set -g __vox_takes 
        case 'vox policy'; set -g __vox_subs ; set -g __vox_flags --json --tag --help -h; set -g __vox_takes --tag
        case 'vox upgrade'; set -g __vox_subs ; set -g __vox_flags --check --apply --version --channel --allow-prerelease --allow-downgrade --force --provider --repo --base-url --github-api-url --source --repo-root --allow-dirty --from --rollback --trusted-key --mirror-key --json --help -h; set -g __vox_takes --version --channel --provider --repo --base-url --github-api-url --source --repo-root --from --trusted-key --mirror-key
        case 'vox mirror'; set -g __vox_subs sync verify; set -g __vox_flags --help -h; set -g __vox_takes 
        case 'vox mirror sync'; set -g __vox_subs ; set -g __vox_flags --to --version --key --expires-days --provider --from-base-url --repo --github-api-url --trusted-key --mirror-key --json --help -h; set -g __vox_takes --to --version --key --expires-days --provider --from-base-url --repo --github-api-url --trusted-key --mirror-key
        case 'vox mirror verify'; set -g __vox_subs ; set -g __vox_flags --repo --trusted-key --mirror-key --json --help -h; set -g __vox_takes --repo --trusted-key --mirror-key
        case 'vox lock'; set -g __vox_subs ; set -g __vox_flags --project --insecure --json --help -h; set -g __vox_takes --project
        case 'vox deploy'; set -g __vox_subs build schema validate release releases rollback emit up down run ps logs stop rm; set -g __vox_flags --help -h; set -g __vox_takes 
        case 'vox deploy build'; set -g __vox_subs ; set -g __vox_flags --platform --output --push --locked --frozen --project --insecure --json --help -h; set -g __vox_takes --platform --output --push --project
        case 'vox deploy schema'; set -g __vox_subs ; set -g __vox_flags --platform --help -h; set -g __vox_takes 
        case 'vox deploy validate'; set -g __vox_subs ; set -g __vox_flags --manifest --explain --project --json --help -h; set -g __vox_takes --manifest --project
        case 'vox deploy release'; set -g __vox_subs ; set -g __vox_flags --image --push --project --insecure --json --help -h; set -g __vox_takes --image --push --project
        case 'vox deploy releases'; set -g __vox_subs verify repair; set -g __vox_flags --project --json --help -h; set -g __vox_takes --project
        case 'vox deploy releases verify'; set -g __vox_subs ; set -g __vox_flags --project --json --help -h; set -g __vox_takes --project
        case 'vox deploy releases repair'; set -g __vox_subs ; set -g __vox_flags --project --json --help -h; set -g __vox_takes --project
        case 'vox deploy rollback'; set -g __vox_subs ; set -g __vox_flags --project --json --help -h; set -g __vox_takes --project
        case 'vox deploy emit'; set -g __vox_subs ; set -g __vox_flags --target --release --image --manifest --out --push --insecure --strict --project --json --help -h; set -g __vox_takes --target --release --image --manifest --out --push --project
        case 'vox deploy up'; set -g __vox_subs ; set -g __vox_flags --target --release --image --manifest --from --insecure --project --json --help -h; set -g __vox_takes --target --release --image --manifest --from --project
        case 'vox deploy down'; set -g __vox_subs ; set -g __vox_flags --target --release --image --manifest --from --insecure --project --json --help -h; set -g __vox_takes --target --release --image --manifest --from --project
        case 'vox deploy run'; set -g __vox_subs ; set -g __vox_flags --release --image --manifest-hash --name --publish-address --publish --policy --audit --project --insecure --json --help -h; set -g __vox_takes --release --image --manifest-hash --name --publish-address --publish --policy --audit --project
        case 'vox deploy ps'; set -g __vox_subs ; set -g __vox_flags --json --help -h; set -g __vox_takes 
        case 'vox deploy logs'; set -g __vox_subs ; set -g __vox_flags --name --follow -f --help -h; set -g __vox_takes --name
        case 'vox deploy stop'; set -g __vox_subs ; set -g __vox_flags --name --audit --json --help -h; set -g __vox_takes --name --audit
        case 'vox deploy rm'; set -g __vox_subs ; set -g __vox_flags --name --audit --json --help -h; set -g __vox_takes --name --audit
        case 'vox oci'; set -g __vox_subs pull unpack materialize verify cache; set -g __vox_flags --help -h; set -g __vox_takes 
        case 'vox oci pull'; set -g __vox_subs ; set -g __vox_flags --platform --scope --require-digest --audit --insecure --json --help -h; set -g __vox_takes --platform --scope --audit
        case 'vox oci unpack'; set -g __vox_subs ; set -g __vox_flags --platform --policy --scope --audit --insecure --json --help -h; set -g __vox_takes --platform --policy --scope --audit
        case 'vox oci materialize'; set -g __vox_subs ; set -g __vox_flags --format --output --size --platform --policy --scope --audit --insecure --json --help -h; set -g __vox_takes --format --output --size --platform --policy --scope --audit
        case 'vox oci verify'; set -g __vox_subs ; set -g __vox_flags --platform --scope --audit --json --help -h; set -g __vox_takes --platform --scope --audit
        case 'vox oci cache'; set -g __vox_subs ls verify gc; set -g __vox_flags --help -h; set -g __vox_takes 
        case 'vox oci cache ls'; set -g __vox_subs ; set -g __vox_flags --scope --json --help -h; set -g __vox_takes --scope
        case 'vox oci cache verify'; set -g __vox_subs ; set -g __vox_flags --scope --audit --json --help -h; set -g __vox_takes --scope --audit
        case 'vox oci cache gc'; set -g __vox_subs ; set -g __vox_flags --scope --audit --json --help -h; set -g __vox_takes --scope --audit
        case 'vox microvm'; set -g __vox_subs run initramfs; set -g __vox_flags --help -h; set -g __vox_takes 
        case 'vox microvm run'; set -g __vox_subs ; set -g __vox_flags --manifest --project --platform --policy --scope --boot-timeout --audit --insecure --json --help -h; set -g __vox_takes --manifest --project --platform --policy --scope --boot-timeout --audit
        case 'vox microvm initramfs'; set -g __vox_subs ; set -g __vox_flags --output --help -h; set -g __vox_takes --output
        case 'vox self'; set -g __vox_subs uninstall; set -g __vox_flags --help -h; set -g __vox_takes 
        case 'vox self uninstall'; set -g __vox_subs ; set -g __vox_flags --install-dir --json --help -h; set -g __vox_takes --install-dir
        case 'vox ci'; set -g __vox_subs release-build checksums sign verify image-policy pm-provenance command-compliance; set -g __vox_flags --help -h; set -g __vox_takes 
        case 'vox ci release-build'; set -g __vox_subs ; set -g __vox_flags --target --version --out-dir --package --trusted-key --no-smoke --json --help -h; set -g __vox_takes --target --version --out-dir --package --trusted-key
        case 'vox ci checksums'; set -g __vox_subs ; set -g __vox_flags --json --help -h; set -g __vox_takes 
        case 'vox ci sign'; set -g __vox_subs ; set -g __vox_flags --key --tag --repo --help -h; set -g __vox_takes --key --tag --repo
        case 'vox ci verify'; set -g __vox_subs ; set -g __vox_flags --tag --repo --trusted-key --attestation --json --help -h; set -g __vox_takes --tag --repo --trusted-key --attestation
        case 'vox ci image-policy'; set -g __vox_subs ; set -g __vox_flags --project --insecure --json --help -h; set -g __vox_takes --project
        case 'vox ci pm-provenance'; set -g __vox_subs ; set -g __vox_flags --root --strict --json --help -h; set -g __vox_takes --root
        case 'vox ci command-compliance'; set -g __vox_subs ; set -g __vox_flags --fix --json --help -h; set -g __vox_takes 
        case 'vox completions'; set -g __vox_subs ; set -g __vox_flags --help -h; set -g __vox_takes 
        case 'vox-bootstrap'; set -g __vox_subs plan; set -g __vox_flags --install --version -V --install-dir --provider --base-url --repo --github-api-url --allow-prerelease --source-only --repo-root --no-fallback --no-modify-path --trusted-key --mirror-key --json --help -h; set -g __vox_takes --version -V --install-dir --provider --base-url --repo --github-api-url --repo-root --trusted-key --mirror-key
        case 'vox-bootstrap plan'; set -g __vox_subs ; set -g __vox_flags --version -V --install-dir --provider --base-url --repo --github-api-url --allow-prerelease --source-only --repo-root --no-fallback --no-modify-path --trusted-key --mirror-key --json --human --help -h; set -g __vox_takes --version -V --install-dir --provider --base-url --repo --github-api-url --repo-root --trusted-key --mirror-key
        case '*'; set -g __vox_subs; set -g __vox_flags; set -g __vox_takes
    end
end
function __vox_values
    switch $argv[1]
        case 'vox upgrade --channel'; printf '%s\n' stable next
        case 'vox upgrade --provider'; printf '%s\n' github http
        case 'vox upgrade --source'; printf '%s\n' release repo
        case 'vox mirror sync --provider'; printf '%s\n' github http
        case 'vox deploy emit --target'; printf '%s\n' compose kubernetes quadlet systemd firecracker
        case 'vox deploy emit --release'; printf '%s\n' seq latest
        case 'vox deploy up --target'; printf '%s\n' compose kubernetes podman
        case 'vox deploy up --release'; printf '%s\n' seq latest
        case 'vox deploy down --target'; printf '%s\n' compose kubernetes podman
        case 'vox deploy down --release'; printf '%s\n' seq latest
        case 'vox deploy run --release'; printf '%s\n' seq latest
        case 'vox oci materialize --size'; printf '%s\n' auto bytes
        case 'vox ci release-build --package'; printf '%s\n' vox bootstrap both
        case 'vox-bootstrap --provider'; printf '%s\n' github http
        case 'vox-bootstrap plan --provider'; printf '%s\n' github http
    end
end
function __vox_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l cmd (string replace -r '.*/' '' -- $tokens[1])
    set -l skip 0
    __vox_command $cmd
    for word in $tokens[2..-1]
        if test $skip = 1; set skip 0; continue; end
        if contains -- $word $__vox_takes; set skip 1; continue; end
        if contains -- $word $__vox_subs; set cmd "$cmd $word"; __vox_command $cmd; end
    end
    if test (count $tokens) -gt 1; and contains -- $tokens[-1] $__vox_takes
        set -l values (__vox_values "$cmd $tokens[-1]")
        if test (count $values) -gt 0; printf '%s\n' $values; else; __fish_complete_path $cur; end
    else if string match -q -- '-*' $cur
        printf '%s\n' $__vox_flags
    else if test (count $__vox_subs) -gt 0
        printf '%s\n' $__vox_subs
    else
        __fish_complete_path $cur
    end
end
complete -c vox -f -a '(__vox_complete)'
complete -c vox-bootstrap -f -a '(__vox_complete)'
