import assert from "node:assert/strict";
import { test } from "node:test";
import { type PlatformManifest, validatePlatformManifest } from "../platform/mod.ts";
import { runtimeSpec } from "./runtime_config.ts";

function manifest(text: string): PlatformManifest {
  const result = validatePlatformManifest(`schema = "vox.platform/v1"\nname = "app"\n${text}`, { source: "vox.platform.toml", defaultName: "app" });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.manifest;
}

const image = { architecture: "amd64", os: "linux", config: { Entrypoint: ["/bin/app"], Cmd: ["--serve"], Env: ["PATH=/bin", "MODE=image"], WorkingDir: "/srv", User: "app" }, rootfs: { type: "layers" as const, diff_ids: [] } };
const options = { netnsPath: "/var/run/netns/voxtag-app-1", cgroupsPath: "/vox/app-1", binds: [], passwd: "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n", group: "root:x:0:\napp:x:1000:\n" };

test("runtimeSpec() keeps the image's process unless the manifest overrides it, resolving the image's user as runc does", () => {
  const spec = runtimeSpec(image, manifest(""), options);
  assert.deepEqual(spec.process.args, ["/bin/app", "--serve"]);
  assert.equal(spec.process.cwd, "/srv");
  assert.deepEqual(spec.process.user, { uid: 1000, gid: 1000 });
  assert.ok(spec.process.env.includes("MODE=image") && spec.process.env.includes("HOME=/home/app"));
  assert.equal(spec.process.terminal, false);
});

test("runtimeSpec() applies entrypoint (dropping the image's CMD), env, workdir and run_as_user from the manifest", () => {
  const spec = runtimeSpec(image, manifest('[process]\nentrypoint = ["/bin/other"]\nenv = { MODE = "manifest" }\nworkdir = "/data"\n[security]\nrun_as_user = 4242'), options);
  assert.deepEqual(spec.process.args, ["/bin/other"]);
  assert.ok(spec.process.env.includes("MODE=manifest") && !spec.process.env.includes("MODE=image"));
  assert.equal(spec.process.cwd, "/data");
  assert.deepEqual(spec.process.user, { uid: 4242, gid: 4242 }, "a uid the image does not list gets its own number as group, never root's");
});

test("runtimeSpec() turns resources into cgroup limits and confines the process", () => {
  const spec = runtimeSpec(image, manifest('[resources]\ncpu = "250m"\nmemory_limit = "64Mi"\nmemory_request = "32Mi"\nephemeral_storage = "16Mi"\n[security]\nread_only_root_fs = true'), options);
  assert.deepEqual(spec.linux.resources.memory, { limit: 64 << 20, reservation: 32 << 20, swap: 64 << 20 });
  assert.deepEqual(spec.linux.resources.cpu, { shares: 256, quota: 25_000, period: 100_000 });
  assert.deepEqual(spec.linux.resources.pids, { limit: 512 });
  assert.equal(spec.root.readonly, true);
  assert.deepEqual(spec.mounts.find((m) => m.destination === "/tmp")?.options, ["nosuid", "nodev", "mode=1777", `size=${16 << 20}`]);
  assert.equal(spec.process.noNewPrivileges, true);
  assert.deepEqual((spec.process.capabilities as { bounding: string[] }).bounding, []);
  assert.deepEqual(spec.linux.namespaces.find((n) => n.type === "network"), { type: "network", path: "/var/run/netns/voxtag-app-1" });
  assert.equal(spec.linux.cgroupsPath, "/vox/app-1");
  assert.ok(spec.linux.maskedPaths.includes("/proc/keys"));
});

test("runtimeSpec() grants NET_BIND_SERVICE only for a declared port below 1024, and binds secrets and volumes as given", () => {
  const spec = runtimeSpec(image, manifest("[[ports]]\nport = 80"), { ...options, binds: [{ source: "/host/s", destination: "/run/secrets/db", readOnly: true }] });
  assert.deepEqual((spec.process.capabilities as { ambient: string[] }).ambient, ["CAP_NET_BIND_SERVICE"]);
  assert.deepEqual(spec.mounts.find((m) => m.destination === "/run/secrets/db"), { destination: "/run/secrets/db", type: "bind", source: "/host/s", options: ["rbind", "nosuid", "nodev", "ro"] });
});

test("runtimeSpec() refuses an image and manifest that say nothing to run", () => {
  assert.throws(() => runtimeSpec({ ...image, config: {} }, manifest(""), options), { code: "E_RUN_CONFIG" });
});
