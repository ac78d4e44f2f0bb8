import assert from "node:assert/strict";
import { test } from "node:test";
import { describeFormat, matchesFormat, readExecutableFormat, sniffExecutable } from "./mod.ts";

/** A minimal ELF64 little-endian header with one PT_INTERP program header pointing at `interpreter`. */
function elf(machine: number, interpreter?: string): Uint8Array {
  const bytes = new Uint8Array(256);
  const view = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  view.setUint16(18, machine, true);
  view.setBigUint64(32, 64n, true);
  view.setUint16(54, 56, true);
  view.setUint16(56, interpreter ? 1 : 0, true);
  if (interpreter) {
    view.setUint32(64, 3, true);
    view.setBigUint64(64 + 8, 160n, true);
    view.setBigUint64(64 + 32, BigInt(interpreter.length + 1), true);
    bytes.set(new TextEncoder().encode(interpreter), 160);
  }
  return bytes;
}

function macho(cputype: number): Uint8Array {
  const bytes = new Uint8Array(64);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0xfeedfacf, true);
  view.setUint32(4, cputype, true);
  return bytes;
}

function pe(machine: number): Uint8Array {
  const bytes = new Uint8Array(256);
  const view = new DataView(bytes.buffer);
  bytes.set([0x4d, 0x5a]);
  view.setUint32(0x3c, 0x80, true);
  view.setUint32(0x80, 0x50450000, false);
  view.setUint16(0x84, machine, true);
  return bytes;
}

test("sniffExecutable() reads CPU and libc from ELF headers and PT_INTERP", () => {
  assert.deepEqual(sniffExecutable(elf(0x3e, "/lib64/ld-linux-x86-64.so.2")), { kind: "elf", cpu: "x86_64", libc: "gnu", interpreter: "/lib64/ld-linux-x86-64.so.2" });
  assert.deepEqual(sniffExecutable(elf(0xb7, "/lib/ld-musl-aarch64.so.1")), { kind: "elf", cpu: "aarch64", libc: "musl", interpreter: "/lib/ld-musl-aarch64.so.1" });
  assert.deepEqual(sniffExecutable(elf(0x3e)), { kind: "elf", cpu: "x86_64" });
  assert.equal(sniffExecutable(elf(0x28)), undefined, "32-bit ARM is not a target");
});

test("sniffExecutable() recognises Mach-O and PE for both CPUs", () => {
  assert.deepEqual(sniffExecutable(macho(0x01000007)), { kind: "macho", cpu: "x86_64" });
  assert.deepEqual(sniffExecutable(macho(0x0100000c)), { kind: "macho", cpu: "aarch64" });
  assert.deepEqual(sniffExecutable(pe(0x8664)), { kind: "pe", cpu: "x86_64" });
  assert.deepEqual(sniffExecutable(pe(0xaa64)), { kind: "pe", cpu: "aarch64" });
});

test("sniffExecutable() returns undefined for text, truncated and unknown files", () => {
  assert.equal(sniffExecutable(new TextEncoder().encode("#!/bin/sh\necho hi\n".padEnd(80))), undefined);
  assert.equal(sniffExecutable(elf(0x3e).subarray(0, 20)), undefined);
  const badPe = pe(0x8664);
  new DataView(badPe.buffer).setUint32(0x3c, 0xfff0, true);
  assert.equal(sniffExecutable(badPe), undefined);
});

test("matchesFormat() requires kind, CPU and, where the target names one, libc", () => {
  const musl = sniffExecutable(elf(0x3e, "/lib/ld-musl-x86_64.so.1"));
  assert.ok(matchesFormat(musl, { kind: "elf", cpu: "x86_64", libc: "musl" }));
  assert.ok(!matchesFormat(musl, { kind: "elf", cpu: "x86_64", libc: "gnu" }));
  assert.ok(!matchesFormat(musl, { kind: "elf", cpu: "aarch64" }));
  assert.ok(!matchesFormat(undefined, { kind: "pe", cpu: "x86_64" }));
  assert.equal(describeFormat(musl), "ELF x86_64 (musl)");
});

test("readExecutableFormat() identifies the running Node binary as a glibc ELF for this CPU", async () => {
  const format = await readExecutableFormat(process.execPath);
  assert.equal(format?.kind, "elf");
  assert.equal(format?.cpu, process.arch === "arm64" ? "aarch64" : "x86_64");
  assert.equal(format?.libc, "gnu");
});
