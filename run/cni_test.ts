import assert from "node:assert/strict";
import { test } from "node:test";
import { instanceAddress, networkConfigList } from "./cni.ts";
import { publishMappings } from "./deploy.ts";
import { validatePlatformManifest } from "../platform/mod.ts";

test("networkConfigList() chains bridge (host-local, default route, NAT) and portmap under the state directory's network name", () => {
  const list = networkConfigList({ name: "vox-1a2b3c4d", bridge: "vox1a2b3c4d", subnet: "10.170.9.0/24", ipamDir: "/s/run/cni/ipam" });
  assert.equal(list.name, "vox-1a2b3c4d");
  assert.deepEqual(list.plugins.map((p) => p.type), ["bridge", "portmap"]);
  assert.deepEqual(list.plugins[0].ipam, { type: "host-local", ranges: [[{ subnet: "10.170.9.0/24" }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: "/s/run/cni/ipam" });
  assert.deepEqual(list.plugins[1].capabilities, { portMappings: true });
});

test("instanceAddress() reads the first IP of a bridge result, and refuses a result without one", () => {
  assert.equal(instanceAddress({ cniVersion: "1.0.0", ips: [{ address: "10.170.9.2/24" }] }), "10.170.9.2");
  assert.throws(() => instanceAddress({ cniVersion: "1.0.0" }), { code: "E_RUN_CNI" });
});

test("publishMappings() publishes public ports only: the asked host port, else the workload's earlier one, else the same number", () => {
  const result = validatePlatformManifest('schema = "vox.platform/v1"\nname = "a"\n[[ports]]\nport = 8080\nexposure = "public"\n[[ports]]\nport = 9090\n[[ports]]\nport = 8443\nexposure = "public"', { source: "m", defaultName: "a" });
  if (!result.ok) throw new Error("invalid");
  const earlier = [{ hostIP: "0.0.0.0", hostPort: 18443, containerPort: 8443, protocol: "tcp" as const }];
  assert.deepEqual(publishMappings(result.manifest, earlier, { hostPorts: new Map([[8080, 18080]]) }), [
    { hostIP: "127.0.0.1", hostPort: 18080, containerPort: 8080, protocol: "tcp" },
    { hostIP: "0.0.0.0", hostPort: 18443, containerPort: 8443, protocol: "tcp" },
  ]);
});
