# vox installer for Windows: irm https://github.com/vox-foundation/vox/releases/latest/download/install.ps1 | iex
# Downloads vox-bootstrap for this machine, checks it against checksums.txt, and runs `vox-bootstrap --install`,
# which then verifies and installs vox itself (signature, checksum, single entry). Arguments are passed through.
# Environment: VOX_VERSION (tag, e.g. v1.2.3), VOX_UPGRADE_BASE_URL (mirror), VOX_INSTALL_DIR.
# The whole body is one function called on the last line, so a truncated download runs nothing.

function Install-Vox {
  param([Parameter(ValueFromRemainingArguments = $true)] [string[]] $Rest)
  $ErrorActionPreference = 'Stop'
  Set-StrictMode -Version Latest
  $repoBase = 'https://github.com/vox-foundation/vox/releases'
  $base = if ($env:VOX_UPGRADE_BASE_URL) { $env:VOX_UPGRADE_BASE_URL.TrimEnd('/') } else { $repoBase }

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
    if (-not $tag) {
      if ($base -eq $repoBase) {
        $response = Invoke-WebRequest -Uri "$base/latest" -MaximumRedirection 0 -ErrorAction SilentlyContinue -UseBasicParsing
        $tag = ($response.Headers.Location -replace '.*/releases/tag/', '')
      } else {
        $index = Invoke-RestMethod -Uri "$base/index.json" -UseBasicParsing
        $tag = $index.latest
      }
      if (-not $tag) { throw "vox-install: could not tell the latest release from $base; set VOX_VERSION=v<semver>" }
    }
    if ($tag -notmatch '^v[0-9]') { throw "vox-install: VOX_VERSION must look like v1.2.3, got '$tag'" }

    $archive = "vox-bootstrap-$tag-$triple.zip"
    Write-Host "vox-install: installing vox $tag for $triple from $base"
    Invoke-WebRequest -Uri "$base/download/$tag/checksums.txt" -OutFile "$tmp/checksums.txt" -UseBasicParsing
    Invoke-WebRequest -Uri "$base/download/$tag/$archive" -OutFile "$tmp/$archive" -UseBasicParsing

    $line = Get-Content "$tmp/checksums.txt" | Where-Object { $_ -match "^([0-9a-f]{64}) [ *]$([regex]::Escape($archive))$" } | Select-Object -First 1
    if (-not $line) { throw "vox-install: checksums.txt for $tag does not list $archive" }
    $expected = $line.Substring(0, 64)
    $actual = (Get-FileHash -Algorithm SHA256 -Path "$tmp/$archive").Hash.ToLowerInvariant()
    if ($actual -ne $expected) { throw "vox-install: $archive sha256 is $actual, checksums.txt says $expected; refusing to run it" }

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
