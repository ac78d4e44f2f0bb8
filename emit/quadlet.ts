// The Quadlet target: `<name>.container` plus one `<app>-<volume>.volume` per persistent volume, for Podman's
// systemd generator (Quadlet keys as of Podman 4.6; a `.volume` is pulled in by the `Volume=` naming it).

import type { PlatformManifest } from "../platform/types.ts";
import { volumeName } from "./_common.ts";
import { podmanSettings, systemdWord } from "./_podman.ts";
import type { EmittedFile } from "./mod.ts";

export function quadletFiles(image: string, manifest: PlatformManifest): EmittedFile[] {
  const lines = podmanSettings(manifest).map((s) => {
    if (s.key) return `${s.key}=${keyValue(s.key, s.keyValue ?? s.value ?? "")}`;
    return `PodmanArgs=${systemdWord(s.value === undefined ? s.flag : `${s.flag}=${s.value}`)}`;
  });
  const exec = manifest.process.cmd ? [`Exec=${manifest.process.cmd.map(systemdWord).join(" ")}`] : [];
  const container = [
    "[Unit]",
    `Description=${manifest.name} (${manifest.schema}, emitted by vox)`,
    "",
    "[Container]",
    `Image=${image}`,
    ...lines,
    ...exec,
    "",
    "[Service]",
    "Restart=on-failure",
    "",
    "[Install]",
    "WantedBy=multi-user.target default.target",
    "",
  ].join("\n");
  const volumes = manifest.volumes.filter((v) => v.persistence === "persistent").map((v) => ({
    path: `${volumeName(manifest, v.name)}.volume`,
    content: ["[Unit]", `Description=volume ${v.name} of ${manifest.name} (emitted by vox)`, "", "[Volume]", `VolumeName=${volumeName(manifest, v.name)}`, `Label=app.kubernetes.io/name=${manifest.name}`, ""].join("\n"),
  }));
  return [{ path: `${manifest.name}.container`, content: container }, ...volumes];
}

/**
 * Quadlet unquotes `Environment=` like systemd does (so a value with spaces must be quoted); the other keys
 * used here take the rest of the line as it is, and Quadlet quotes it again when it writes ExecStart.
 */
function keyValue(key: string, value: string): string {
  return key === "Environment" ? systemdWord(value) : value;
}
