import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { bootArgs, guestProcess, guestRunScript, machineShape } from "./guest.ts";

const IMAGE = { entrypoint: ["/app/bin/hello"], cmd: ["--loud"], env: ["PATH=/bin", "GREETING=hi"], cwd: "/app", uid: 0, gid: 0 };
const manifest = (process: Partial<{ entrypoint: string[] | null; cmd: string[] | null; env: Record<string, string>; workdir: string | null }>, security = { read_only_root_fs: false, run_as_user: null as number | null }) => ({
  process: { entrypoint: null, cmd: null, env: {}, workdir: null, ...process },
  security,
});

test("guestProcess() applies the manifest's overrides as the runc backend does", () => {
  assert.deepEqual(guestProcess(IMAGE).args, ["/app/bin/hello", "--loud"]);
  assert.deepEqual(guestProcess(IMAGE, manifest({ cmd: ["--quiet"] })).args, ["/app/bin/hello", "--quiet"]);
  assert.deepEqual(guestProcess(IMAGE, manifest({ entrypoint: ["/bin/sh"] })).args, ["/bin/sh"], "a new entrypoint drops the image's cmd");
  const merged = guestProcess(IMAGE, manifest({ env: { GREETING: "hey", EXTRA: "1" }, workdir: "/srv" }, { read_only_root_fs: true, run_as_user: 65534 }));
  assert.deepEqual(merged.env, ["PATH=/bin", "GREETING=hey", "EXTRA=1"]);
  assert.deepEqual([merged.cwd, merged.uid, merged.gid, merged.readOnlyRoot], ["/srv", 65534, 0, true]);
});

test("guestRunScript() quotes every word: sh sets exactly the argv it was given, whatever the bytes", () => {
  const hostile = ["/bin/x", "it's", "$(reboot)", "`id`", "a b\nc", "\\", "\"", ""];
  const script = guestRunScript({ args: hostile, env: ["A=1;reboot"], cwd: "/w d", uid: 1, gid: 2, readOnlyRoot: false });
  const out = execFileSync("sh", ["-c", `${script}\nprintf '%s\\0' "$@"`], { encoding: "utf8" });
  assert.deepEqual(out.split("\0").slice(0, -1), ["A=1;reboot", "/bin/nsenter", "-r/newroot", "-w/newroot/w d", "-S", "1", "-G", "2", "-F", "--", ...hostile]);
  assert.throws(() => guestRunScript({ args: [], env: [], cwd: "/", uid: 0, gid: 0, readOnlyRoot: false }), /without a command/);
});

test("bootArgs() carries the run script in base64 and refuses a command line over the kernel's limit", () => {
  const process = guestProcess(IMAGE);
  const line = bootArgs(process, { nonce: "n1", halt: "reboot" });
  const encoded = /vox\.run=(\S+)/.exec(line)![1]!;
  assert.equal(Buffer.from(encoded, "base64").toString(), guestRunScript(process));
  assert.match(line, /vox\.halt=reboot/);
  assert.throws(() => bootArgs({ ...process, env: [`BIG=${"x".repeat(2000)}`] }, { nonce: "n", halt: "poweroff" }), /over the kernel's 2047/);
});

test("machineShape() rounds the CPU request up to whole vCPUs and adds the guest kernel's memory to the cap", () => {
  assert.deepEqual(machineShape({ resources: { cpu_millicores: 50, memory_limit_bytes: 32 * 2 ** 20 } }), { vcpus: 1, memMib: 128 });
  assert.deepEqual(machineShape({ resources: { cpu_millicores: 2500, memory_limit_bytes: 2 ** 30 + 1 } }), { vcpus: 3, memMib: 1025 + 96 });
  assert.equal(machineShape({ resources: { cpu_millicores: 64_000, memory_limit_bytes: 1 } }).vcpus, 32);
});
