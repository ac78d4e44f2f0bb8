import assert from "node:assert/strict";
import { test } from "node:test";
import { memoryAuditSink } from "../audit/mod.ts";
import { fixedClock } from "../io/mod.ts";
import { type BootOptions, bootMicrovm, qemuArgv, tscKhzFromCpuinfo, type VmLauncher } from "./qemu.ts";

const OPTIONS: BootOptions = { kernel: "/k/vmlinux", initramfs: "/k/initrd", disk: "/d/a,b.ext4", shape: { vcpus: 2, memMib: 160 }, process: { args: ["/app/bin/hello"], env: [], cwd: "/", uid: 0, gid: 0, readOnlyRoot: true }, accel: "tcg", tscKhz: 2100000, bootTimeoutMs: 50 };

/** A VMM that prints `console` (with the nonce filled in) and exits with `code`. */
function fakeVmm(console: string, code = 0): VmLauncher {
  return {
    launch: (_argv, onOutput) => {
      for (const piece of console.match(/[\s\S]{1,7}/g) ?? []) onOutput(piece);
      return { exited: Promise.resolve({ code, signal: null }), kill: () => {} };
    },
  };
}

async function boot(console: string, options: Partial<BootOptions> = {}, launcher = fakeVmm(console)) {
  const out: string[] = [];
  const audit = memoryAuditSink(fixedClock(new Date(0)));
  let t = 0;
  const run = bootMicrovm({ ...OPTIONS, ...options }, { launcher, audit, output: (text) => out.push(text), nonce: () => "N0", now: () => (t += 1000), image: { reference: "r", digest: "sha256:d", scope: null } });
  return { run, out, audit };
}

test("bootMicrovm() passes the entrypoint's output through and returns its status from the guest's exit line", async () => {
  const { run, out, audit } = await boot("[    1.0] kernel noise\nvox-guest N0 start\nhello\npartial vox-guest N1 exit 0\nvox-guest N0 exit 7\n");
  assert.deepEqual(await run, { status: 7, bootMs: 1000 });
  assert.equal(out.join(""), "hello\npartial vox-guest N1 exit 0\n", "only the nonce of this boot counts");
  assert.deepEqual(audit.events.map((e) => [e.kind, e.outcome]), [["launch", "ok"], ["stop", "ok"]]);
});

test("bootMicrovm() reports a VM that ends without an exit line (a kernel panic) as exit 125 with the console's tail", async () => {
  const { run, audit } = await boot("Kernel panic - not syncing: VFS: Unable to mount root fs\n");
  await assert.rejects(run, (error: { exitCode: number; hint: string }) => error.exitCode === 125 && /Kernel panic/.test(error.hint));
  assert.deepEqual(audit.events.map((e) => [e.kind, e.outcome]), [["launch", "ok"], ["stop", "error"]]);
  const guest = await boot("vox-guest N0 error no root disk (/dev/vda)\n");
  await assert.rejects(guest.run, /no root disk/);
});

test("bootMicrovm() kills a VM that does not reach the entrypoint in time", async () => {
  let killed = false;
  let finish = (_: { code: number | null; signal: string | null }) => {};
  const hanging: VmLauncher = { launch: () => ({ exited: new Promise((resolve) => (finish = resolve)), kill: () => ((killed = true), finish({ code: null, signal: "SIGKILL" })) }) };
  const { run } = await boot("", {}, hanging);
  await assert.rejects(run, /did not reach the entrypoint within 50 ms/);
  assert.ok(killed);
});

test("qemuArgv() boots the microvm machine with the disk read-only and the host's TSC rate; tscKhzFromCpuinfo() reads it", () => {
  const argv = qemuArgv(OPTIONS, "N0");
  assert.equal(argv[argv.indexOf("-M") + 1]!.split(",")[0], "microvm");
  assert.equal(argv[argv.indexOf("-drive") + 1], "id=root,file=/d/a,,b.ext4,format=raw,if=none,readonly=on");
  assert.match(argv[argv.indexOf("-append") + 1]!, /tsc_early_khz=2100000 .*vox\.nonce=N0/);
  assert.deepEqual([argv[argv.indexOf("-smp") + 1], argv[argv.indexOf("-m") + 1]], ["2", "160M"]);
  assert.equal(tscKhzFromCpuinfo("processor\t: 0\ncpu MHz\t\t: 2100.000\n"), 2100000);
  assert.equal(tscKhzFromCpuinfo("processor\t: 0\n"), undefined);
});
