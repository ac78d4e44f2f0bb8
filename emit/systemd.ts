// The systemd target: one `<name>.service` whose ExecStart runs `podman run` in the foreground, for hosts whose
// Podman has no Quadlet generator (before 4.4). Every option is on the command line, so it runs as written.

import type { PlatformManifest } from "../platform/types.ts";
import { podmanSettings, systemdWord } from "./_podman.ts";
import type { EmittedFile } from "./mod.ts";

/** Where Debian, Fedora and the Podman packages put podman; systemd needs an absolute path. */
export const PODMAN = "/usr/bin/podman";

/** The `podman run` argv the unit's ExecStart holds (without the executable). */
export function podmanRunArgs(image: string, manifest: PlatformManifest): string[] {
  const options = podmanSettings(manifest).flatMap((s) => (s.value === undefined ? [s.flag] : [`${s.flag}=${s.value}`]));
  return ["run", "--rm", "--replace", ...options, image, ...(manifest.process.cmd ?? [])];
}

export function systemdFiles(image: string, manifest: PlatformManifest): EmittedFile[] {
  const exec = (argv: string[]) => [PODMAN, ...argv].map(systemdWord).join(" ");
  const unit = [
    "[Unit]",
    `Description=${manifest.name} (${manifest.schema}, emitted by vox)`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    "Restart=on-failure",
    `ExecStart=${exec(podmanRunArgs(image, manifest))}`,
    `ExecStop=${exec(["stop", "--ignore", "--time=10", manifest.name])}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
  return [{ path: `${manifest.name}.service`, content: unit }];
}
