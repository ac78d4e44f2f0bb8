import assert from "node:assert/strict";
import { test } from "node:test";
import Ajv2020 from "ajv/dist/2020.js";
import { EVERY_FIELD } from "./emit_test.ts";
import { emitDescriptors } from "./mod.ts";

const IMAGE = `registry.example/team/app@sha256:${"ab".repeat(32)}`;

/**
 * The part of Firecracker's documented API schema a config file uses: FullVmConfiguration's boot-source, drives,
 * machine-config and network-interfaces, with the definitions BootSource, Drive (virtio-block), MachineConfiguration
 * and NetworkInterface, restated from firecracker-microvm/firecracker src/firecracker/swagger/firecracker.yaml
 * (required fields, types, enums, the 1..32 vCPU range its machine-config description states). Firecracker's
 * serde structs deny unknown fields, hence additionalProperties: false.
 */
const FIRECRACKER_CONFIG_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  additionalProperties: false,
  properties: {
    "boot-source": { $ref: "#/$defs/BootSource" },
    drives: { type: "array", items: { $ref: "#/$defs/Drive" } },
    "machine-config": { $ref: "#/$defs/MachineConfiguration" },
    "network-interfaces": { type: "array", items: { $ref: "#/$defs/NetworkInterface" } },
    balloon: { type: "object" },
    "cpu-config": { type: "object" },
    logger: { type: "object" },
    metrics: { type: "object" },
    "mmds-config": { type: "object" },
    vsock: { type: "object" },
    entropy: { type: "object" },
  },
  required: ["boot-source", "machine-config"],
  $defs: {
    BootSource: {
      type: "object",
      additionalProperties: false,
      required: ["kernel_image_path"],
      properties: { boot_args: { type: "string" }, initrd_path: { type: "string" }, kernel_image_path: { type: "string" } },
    },
    Drive: {
      type: "object",
      additionalProperties: false,
      required: ["drive_id", "is_root_device", "path_on_host", "is_read_only"],
      properties: {
        drive_id: { type: "string" },
        partuuid: { type: "string" },
        is_root_device: { type: "boolean" },
        cache_type: { enum: ["Unsafe", "Writeback"] },
        is_read_only: { type: "boolean" },
        path_on_host: { type: "string" },
        rate_limiter: { type: "object" },
        io_engine: { enum: ["Sync", "Async"] },
      },
    },
    MachineConfiguration: {
      type: "object",
      additionalProperties: false,
      required: ["mem_size_mib", "vcpu_count"],
      properties: {
        cpu_template: { enum: ["C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None"] },
        smt: { type: "boolean" },
        mem_size_mib: { type: "integer", minimum: 1 },
        track_dirty_pages: { type: "boolean" },
        huge_pages: { enum: ["None", "2M"] },
        vcpu_count: { type: "integer", minimum: 1, maximum: 32 },
      },
    },
    NetworkInterface: {
      type: "object",
      additionalProperties: false,
      required: ["host_dev_name", "iface_id"],
      properties: { guest_mac: { type: "string" }, host_dev_name: { type: "string" }, iface_id: { type: "string" }, rx_rate_limiter: { type: "object" }, tx_rate_limiter: { type: "object" } },
    },
  },
} as const;

const validate = new Ajv2020({ strict: true, allErrors: true }).compile(FIRECRACKER_CONFIG_SCHEMA);

function config(manifest = EVERY_FIELD) {
  const { files } = emitDescriptors("firecracker", { image: IMAGE, manifest });
  return { files, json: JSON.parse(files.find((f) => f.path.endsWith(".firecracker.json"))!.content) as Record<string, unknown> & { drives: Array<Record<string, unknown>>; "machine-config": Record<string, unknown>; "boot-source": { boot_args: string } } };
}

test('emitDescriptors("firecracker") writes a config Firecracker\'s API schema accepts: the disk read-only, the VM shaped by the manifest', () => {
  const { files, json } = config();
  assert.deepEqual(files.map((f) => f.path), ["fieldtest.firecracker.json", "fieldtest.run.sh"]);
  assert.ok(validate({ ...json }), JSON.stringify(validate.errors));
  assert.deepEqual(json.drives, [{ drive_id: "rootfs", path_on_host: "fieldtest.rootfs.ext4", is_root_device: true, is_read_only: true }]);
  assert.deepEqual(json["machine-config"], { vcpu_count: 1, mem_size_mib: 768 + 96, smt: false });
  const args: string = json["boot-source"].boot_args;
  assert.ok(args.length < 2048, "the kernel's command line limit");
  assert.match(args, /^console=ttyS0 .*reboot=k pci=off /);
  assert.equal(Buffer.from(/vox\.run=(\S+)/.exec(args)![1]!, "base64").toString(), files[1]!.content.split("\n").slice(1).join("\n"), "the sidecar is the script the boot args carry");
});

test("the schema check is a real check: an unknown key, a wrong type and too many vCPUs are refused", () => {
  const { json } = config();
  assert.equal(validate({ ...json, drives: [{ ...json.drives[0], readonly: true }] }), false);
  assert.equal(validate({ ...json, "machine-config": { ...json["machine-config"], mem_size_mib: "864" } }), false);
  assert.equal(validate({ ...json, "machine-config": { ...json["machine-config"], vcpu_count: 33 } }), false);
  const big = config({ ...EVERY_FIELD, resources: { ...EVERY_FIELD.resources, cpu_millicores: 64_000 } }).json;
  assert.ok(validate(big), "the emitter caps vCPUs at Firecracker's 32");
});

test('emitDescriptors("firecracker") refuses a manifest that leaves the command to the image: the boot args are all the guest knows', () => {
  assert.throws(() => config({ ...EVERY_FIELD, process: { ...EVERY_FIELD.process, entrypoint: null, cmd: null } }), /command is the image's own/);
});
