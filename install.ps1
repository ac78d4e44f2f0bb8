# vox installer for Windows: irm https://github.com/vox-foundation/vox/releases/latest/download/install.ps1 | iex
# Downloads vox-bootstrap for this machine over https, checks the minisign signature of checksums.txt when
# minisign is installed, checks vox-bootstrap against checksums.txt, and runs `vox-bootstrap --install`, which
# verifies and installs vox itself (signature, checksum, single entry). Arguments are passed through.
# Environment: VOX_VERSION (tag, e.g. v1.2.3), VOX_UPGRADE_BASE_URL (mirror), VOX_UPGRADE_REPO, VOX_INSTALL_DIR,
# and VOX_INSECURE_HTTP_MIRROR (the one plain-http mirror base you accept; minisign is then required).
# The whole body is one function called on the last line, so a truncated download runs nothing.

function Install-Vox {
  param([Parameter(ValueFromRemainingArguments = $true)] [string[]] $Rest)
  $ErrorActionPreference = 'Stop'
  Set-StrictMode -Version Latest
  $repoBase = 'https://github.com/vox-foundation/vox/releases'
  $repo = if ($env:VOX_UPGRADE_REPO) { $env:VOX_UPGRADE_REPO } else { 'vox-foundation/vox' }
  $base = if ($env:VOX_UPGRADE_BASE_URL) { $env:VOX_UPGRADE_BASE_URL.TrimEnd('/') } else { $repoBase }
  # minisign public keys releases may be signed with; `vox ci release-build` writes this line (policy keys + --trusted-key).
  $trustedKeys = @('RWSWAtKX4VdLFOv+Fk4OoXPOvF2D6ab57Z1tgEh/9JK+VgF5dBJNkNE+')
  $minisign = Get-Command minisign -ErrorAction SilentlyContinue

  # https only, redirects included; plain http only for the one mirror the user names, and only with minisign.
  $insecureMirror = if ($env:VOX_INSECURE_HTTP_MIRROR) { $env:VOX_INSECURE_HTTP_MIRROR.TrimEnd('/') } else { '' }
  $allowHttp = $false
  if ($base -like 'http://*') {
    if ($insecureMirror -ne $base) { throw "vox-install: refusing the plain-http base ${base}: anyone on the path could swap what it serves. Use https, or set VOX_INSECURE_HTTP_MIRROR=$base to accept exactly this mirror" }
    if (-not $minisign) { throw "vox-install: a plain-http mirror needs minisign to verify signatures; install it (e.g. scoop install minisign)" }
    $allowHttp = $true
  } elseif ($base -notlike 'https://*') {
    throw "vox-install: VOX_UPGRADE_BASE_URL must be an https:// URL, got '$base'"
  }
  function Get-VoxFile([string] $Uri, [string] $OutFile) {
    $response = Invoke-WebRequest -Uri $Uri -OutFile $OutFile -PassThru -UseBasicParsing
    # Windows PowerShell follows a redirect to http; refuse the file when the last hop was not https.
    $final = if ($response.BaseResponse.PSObject.Properties['ResponseUri']) { $response.BaseResponse.ResponseUri } else { $response.BaseResponse.RequestMessage.RequestUri }
    if ($final.Scheme -ne 'https' -and -not $allowHttp) { Remove-Item -Force $OutFile; throw "vox-install: $Uri redirected to $final, which is not https; refusing it" }
  }
  # Verifies checksums.txt with minisign against the embedded keys; returns the tag its trusted comment names and the key.
  function Confirm-VoxSignature([string] $File, [string] $Uri, [string] $ExpectedTag) {
    Get-VoxFile "$Uri.minisig" "$File.minisig"
    $comment = $null
    $signer = $null
    foreach ($key in $trustedKeys) {
      $out = & $minisign.Source -V -Q -P $key -m $File -x "$File.minisig" 2>$null
      if ($LASTEXITCODE -eq 0) { $comment = "$out"; $signer = "key $key"; break }
    }
    if ($null -eq $comment) { throw "vox-install: the signature of $Uri does not verify with minisign against the trusted keys; refusing to run anything from it" }
    $fields = @{}
    foreach ($part in $comment.Split("`t")) {
      if ($part.IndexOf(':') -le 0) { continue }
      $name, $value = $part.Split(':', 2)
      if ($fields.ContainsKey($name)) { throw "vox-install: the trusted comment of $Uri repeats '$name'" }
      $fields[$name] = $value
    }
    if ($fields['file'] -ne 'checksums.txt') { throw "vox-install: $Uri was signed for file '$($fields['file'])', expected 'checksums.txt'" }
    if ($fields['repo'] -ne $repo) { throw "vox-install: $Uri was signed for repo '$($fields['repo'])', expected '$repo'" }
    if ($ExpectedTag -and $fields['tag'] -ne $ExpectedTag) { throw "vox-install: $Uri was signed for tag '$($fields['tag'])', expected '$ExpectedTag'" }
    if ($fields['tag'] -notmatch '^v[0-9][0-9A-Za-z.+-]*$' -or $fields['version'] -ne $fields['tag'].Substring(1)) { throw "vox-install: $Uri was signed for tag '$($fields['tag'])' and version '$($fields['version'])', which do not match" }
    return @{ Tag = $fields['tag']; Signer = $signer }
  }

  # The triple table mirrors policy/targets.ts (tests/policy_agreement.test.ts checks it).
  $arch = [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString()
  $triple = switch ($arch) {
    'X64' { 'x86_64-pc-windows-msvc' }
    'Arm64' { 'aarch64-pc-windows-msvc' }
    default { throw "vox-install: unsupported CPU '$arch'; vox ships x86_64 and aarch64 builds" }
  }

  $tmp = Join-Path ([System.IO.Path]::GetTempPath()) ("vox-install-" + [System.Guid]::NewGuid())
  New-Item -ItemType Directory -Path $tmp | Out-Null
  try {
    $tag = $env:VOX_VERSION
    if ($tag) {
      $url = "$base/download/$tag/checksums.txt"
    } elseif ($minisign) {
      # "latest" from a signed source only: the tag in the trusted comment of latest/download/checksums.txt.
      $url = "$base/latest/download/checksums.txt"
    } elseif ($base -eq $repoBase) {
      # No verifier: GitHub's releases/latest redirect names the tag, as vox-bootstrap reads it too.
      $response = Invoke-WebRequest -Uri "$base/latest" -MaximumRedirection 0 -ErrorAction SilentlyContinue -UseBasicParsing
      $tag = ($response.Headers.Location -replace '.*/releases/tag/', '')
      if (-not $tag) { throw "vox-install: could not tell the latest release from $base; set VOX_VERSION=v<semver>" }
      $url = "$base/download/$tag/checksums.txt"
    } else {
      throw "vox-install: cannot tell which release is latest without verifying a signature: install minisign, or set VOX_VERSION=v<semver>"
    }
    if ($tag -and $tag -notmatch '^v[0-9][0-9A-Za-z.+-]*$') { throw "vox-install: VOX_VERSION must look like v1.2.3, got '$tag'" }
    Get-VoxFile $url "$tmp/checksums.txt"
    if ($minisign) {
      $signed = Confirm-VoxSignature "$tmp/checksums.txt" $url $tag
      if (-not $tag) { Write-Host "vox-install: latest release is $($signed.Tag) (from the signed checksums.txt of $base/latest/download/)" }
      $tag = $signed.Tag
      $guarantee = "checksums.txt of ${tag}: signature verified by minisign ($($signed.Signer)); vox-bootstrap matches its sha256"
    } else {
      $guarantee = "no signature verifier on this host (minisign): vox-bootstrap is checked only by sha256 against an unsigned checksums.txt fetched over https; vox-bootstrap then verifies the signature itself"
    }

    $archive = "vox-bootstrap-$tag-$triple.zip"
    Write-Host "vox-install: installing vox $tag for $triple from $base"
    Get-VoxFile "$base/download/$tag/$archive" "$tmp/$archive"

    $line = Get-Content "$tmp/checksums.txt" | Where-Object { $_ -match "^([0-9a-f]{64}) [ *]$([regex]::Escape($archive))$" } | Select-Object -First 1
    if (-not $line) { throw "vox-install: checksums.txt for $tag does not list $archive" }
    $expected = $line.Substring(0, 64)
    $actual = (Get-FileHash -Algorithm SHA256 -Path "$tmp/$archive").Hash.ToLowerInvariant()
    if ($actual -ne $expected) { throw "vox-install: $archive sha256 is $actual, checksums.txt says $expected; refusing to run it" }
    Write-Host "vox-install: $guarantee"

    Add-Type -AssemblyName System.IO.Compression.FileSystem
    $zip = [System.IO.Compression.ZipFile]::OpenRead("$tmp/$archive")
    try {
      $names = @($zip.Entries | ForEach-Object { $_.FullName })
      if ($names.Count -ne 1 -or $names[0] -ne 'vox-bootstrap.exe') { throw "vox-install: $archive must hold exactly one entry 'vox-bootstrap.exe'; refusing it" }
    } finally { $zip.Dispose() }
    Expand-Archive -Path "$tmp/$archive" -DestinationPath "$tmp/bin"

    $installArgs = @('--install')
    if ($env:VOX_VERSION) { $installArgs += @('--version', $tag) }
    & "$tmp/bin/vox-bootstrap.exe" @installArgs @Rest
    if ($LASTEXITCODE -ne 0) { throw "vox-install: vox-bootstrap exited with $LASTEXITCODE" }
  } finally {
    Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue
  }
}

Install-Vox @args
