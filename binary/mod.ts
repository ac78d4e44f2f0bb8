// Recognises executables from their first bytes: ELF, Mach-O or PE, the CPU, and for ELF the interpreter's libc.
// Owns only parsing; release smoke checks and host triple detection build on it.
import { nativeFileHead } from "../runtime/mod.ts";

/** How an executable is recognised: container format, CPU and (Linux) the ELF interpreter's libc. */
export interface ExecutableFormat {
  kind: "elf" | "macho" | "pe";
  cpu: "x86_64" | "aarch64";
  libc?: "gnu" | "musl";
}

export interface SniffedExecutable extends ExecutableFormat {
  /** ELF PT_INTERP, e.g. `/lib64/ld-linux-x86-64.so.2`; absent for static or non-ELF executables. */
  interpreter?: string;
}

/** How much of a file `readExecutableFormat` reads: headers and PT_INTERP sit in the first page in practice. */
const HEAD_BYTES = 64 * 1024;

const ELF_MACHINES: Record<number, ExecutableFormat["cpu"]> = { 0x3e: "x86_64", 0xb7: "aarch64" };
const MACHO_CPUS: Record<number, ExecutableFormat["cpu"]> = { 0x01000007: "x86_64", 0x0100000c: "aarch64" };
const PE_MACHINES: Record<number, ExecutableFormat["cpu"]> = { 0x8664: "x86_64", 0xaa64: "aarch64" };

/**
 * Identifies a 64-bit little-endian executable from its leading bytes; undefined when it is none we ship.
 *
 * @example
 * ```ts
 * sniffExecutable(await readHead("/usr/bin/env")); // { kind: "elf", cpu: "x86_64", libc: "gnu", interpreter: "/lib64/ld-linux-x86-64.so.2" }
 * ```
 */
export function sniffExecutable(head: Uint8Array): SniffedExecutable | undefined {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length < 64) return undefined;
  if (view.getUint32(0, false) === 0x7f454c46) return sniffElf(head, view);
  if (view.getUint32(0, true) === 0xfeedfacf) {
    const cpu = MACHO_CPUS[view.getUint32(4, true)];
    return cpu ? { kind: "macho", cpu } : undefined;
  }
  if (head[0] === 0x4d && head[1] === 0x5a) {
    const peOffset = view.getUint32(0x3c, true);
    if (peOffset + 6 > head.length || view.getUint32(peOffset, false) !== 0x50450000) return undefined;
    const cpu = PE_MACHINES[view.getUint16(peOffset + 4, true)];
    return cpu ? { kind: "pe", cpu } : undefined;
  }
  return undefined;
}

function sniffElf(head: Uint8Array, view: DataView): SniffedExecutable | undefined {
  const is64LittleEndian = head[4] === 2 && head[5] === 1;
  const cpu = is64LittleEndian ? ELF_MACHINES[view.getUint16(18, true)] : undefined;
  if (!cpu) return undefined;
  const interpreter = elfInterpreter(head, view);
  const libc = interpreter === undefined ? undefined : interpreter.includes("ld-musl") ? "musl" : "gnu";
  return { kind: "elf", cpu, ...(libc ? { libc } : {}), ...(interpreter ? { interpreter } : {}) };
}

function elfInterpreter(head: Uint8Array, view: DataView): string | undefined {
  const phoff = Number(view.getBigUint64(32, true));
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 40 > head.length) return undefined;
    if (view.getUint32(at, true) !== 3 /* PT_INTERP */) continue;
    const offset = Number(view.getBigUint64(at + 8, true));
    const size = Number(view.getBigUint64(at + 32, true));
    if (offset + size > head.length || size === 0) return undefined;
    return new TextDecoder().decode(head.subarray(offset, offset + size)).replace(/\0+$/, "");
  }
  return undefined;
}

/** Reads the first bytes of `path` (through Bun.file under Bun, see runtime/) and sniffs them. */
export async function readExecutableFormat(path: string): Promise<SniffedExecutable | undefined> {
  const head = await nativeFileHead(path, HEAD_BYTES);
  if (head) return sniffExecutable(head);
  const { open } = await import("node:fs/promises");
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    return sniffExecutable(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** Whether a sniffed executable is what a target expects (same container, CPU and, where set, libc). */
export function matchesFormat(actual: SniffedExecutable | undefined, expected: ExecutableFormat): boolean {
  return actual !== undefined && actual.kind === expected.kind && actual.cpu === expected.cpu && (expected.libc === undefined || actual.libc === expected.libc);
}

/** Human description, e.g. `ELF x86_64 (musl)`. */
export function describeFormat(format: ExecutableFormat | undefined): string {
  if (!format) return "not a recognised executable";
  const kind = { elf: "ELF", macho: "Mach-O", pe: "PE" }[format.kind];
  return `${kind} ${format.cpu}${format.libc ? ` (${format.libc})` : ""}`;
}
