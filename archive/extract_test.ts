import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { extractSingleExecutable, gzipDeterministic, tarBytes } from "./mod.ts";

const payload = new TextEncoder().encode("ELF-ish payload\n".repeat(64));
/** A release archive of `payload` as vox writes it (the writer's own tests prove the streamed one is these bytes). */
const packed = () => gzipDeterministic(tarBytes([{ name: "vox", type: "file", mode: 0o755, mtime: 0, data: payload }], { uname: "root", gname: "root" }));

/** Hostile archives come from Python's tarfile/zipfile: an independent writer that can express anything. */
function python(script: string, cwd: string): void {
  execFileSync("python3", ["-c", script], { cwd });
}

function fresh() {
  const dir = mkdtempSync(join(tmpdir(), "vox-extract-test-"));
  writeFileSync(join(dir, "payload"), payload);
  return dir;
}

async function refusal(archive: string, format: "tar.gz" | "zip", expected: RegExp, options: { entryName?: string; maxBytes?: number } = {}) {
  const out = mkdtempSync(join(tmpdir(), "vox-extract-out-"));
  await assert.rejects(
    extractSingleExecutable(archive, { format, entryName: options.entryName ?? "vox", maxBytes: options.maxBytes ?? 1 << 20, destination: join(out, "vox") }),
    (error: Error & { code?: string }) => error.code === "E_ARCHIVE_REFUSED" && expected.test(error.message),
  );
  assert.deepEqual(readdirSync(out), [], "a refused archive leaves nothing behind, not even a temp file");
}

const TAR_CASES: Array<[string, string, RegExp]> = [
  ["second entry", "t.add('payload', 'vox'); t.add('payload', 'extra')", /second entry 'extra'/],
  ["parent escape", "t.add('payload', '../vox')", /'\.\.\/vox' would escape/],
  ["absolute name", "i = tarfile.TarInfo('/usr/bin/vox'); i.size = 4; t.addfile(i, io.BytesIO(b'boom'))", /absolute path/],
  ["symlink", "i = tarfile.TarInfo('vox'); i.type = tarfile.SYMTYPE; i.linkname = '/bin/sh'; t.addfile(i)", /is a symbolic link/],
  ["hardlink", "i = tarfile.TarInfo('vox'); i.type = tarfile.LNKTYPE; i.linkname = 'other'; t.addfile(i)", /is a hard link/],
  ["device node", "i = tarfile.TarInfo('vox'); i.type = tarfile.CHRTYPE; i.devmajor = 1; i.devminor = 3; t.addfile(i)", /is a character device/],
  ["directory", "i = tarfile.TarInfo('vox'); i.type = tarfile.DIRTYPE; t.addfile(i)", /is a directory/],
  ["prefixed name", "t.add('payload', 'bin/vox')", /'bin\/vox' is not the expected 'vox'/],
  ["empty archive", "pass", /holds no entries/],
];

for (const [label, body, expected] of TAR_CASES) {
  test(`extractSingleExecutable() refuses a tar.gz with a ${label}`, async () => {
    const dir = fresh();
    python(`import io, tarfile\nwith tarfile.open('a.tar.gz', 'w:gz', format=tarfile.GNU_FORMAT) as t:\n  ${body}`, dir);
    await refusal(join(dir, "a.tar.gz"), "tar.gz", expected);
  });
}

test("extractSingleExecutable() refuses an entry over the size cap before writing it", async () => {
  const dir = fresh();
  writeFileSync(join(dir, "a.tar.gz"), packed());
  await refusal(join(dir, "a.tar.gz"), "tar.gz", /over the 100-byte cap/, { maxBytes: 100 });
});

test("extractSingleExecutable() refuses truncated and corrupt gzip streams", async () => {
  const dir = fresh();
  const good = packed();
  writeFileSync(join(dir, "short.tar.gz"), good.subarray(0, good.length - 40));
  await refusal(join(dir, "short.tar.gz"), "tar.gz", /corrupt|truncated/);
  const flipped = new Uint8Array(good);
  flipped[flipped.length - 6]! ^= 0xff;
  writeFileSync(join(dir, "flipped.tar.gz"), flipped);
  await refusal(join(dir, "flipped.tar.gz"), "tar.gz", /corrupt/);
  writeFileSync(join(dir, "plain.tar.gz"), "not gzip at all");
  await refusal(join(dir, "plain.tar.gz"), "tar.gz", /corrupt/);
});

test("extractSingleExecutable() refuses a tar header whose checksum is wrong", async () => {
  const dir = fresh();
  const tar = new Uint8Array(execFileSync("tar", ["--owner=0", "--group=0", "--transform=s/payload/vox/", "-cf", "-", "payload"], { cwd: dir }));
  tar[0]! ^= 0x20;
  writeFileSync(join(dir, "a.tar.gz"), gzipSync(tar));
  await refusal(join(dir, "a.tar.gz"), "tar.gz", /checksum does not match/);
});

test("extractSingleExecutable() extracts GNU tar's own archive of one file, with its sha256 and mode", async () => {
  const dir = fresh();
  execFileSync("tar", ["--owner=0", "--group=0", "--mode=0755", "--transform=s/payload/vox/", "-czf", "a.tar.gz", "payload"], { cwd: dir });
  const out = mkdtempSync(join(tmpdir(), "vox-extract-out-"));
  const entry = await extractSingleExecutable(join(dir, "a.tar.gz"), { format: "tar.gz", entryName: "vox", maxBytes: 1 << 20, destination: join(out, "vox") });
  assert.equal(entry.size, payload.length);
  assert.equal(entry.mode, 0o755);
  assert.equal(entry.sha256, execFileSync("sha256sum", [join(dir, "payload")], { encoding: "utf8" }).slice(0, 64));
  assert.deepEqual(new Uint8Array(readFileSync(join(out, "vox"))), payload);
  assert.deepEqual(readdirSync(out), ["vox"]);
});

const ZIP_CASES: Array<[string, string, RegExp]> = [
  ["second entry", "z.write('payload', 'vox.exe'); z.write('payload', 'other.dll')", /holds 2 entries/],
  ["parent escape", "z.write('payload', '../vox.exe')", /would escape/],
  ["symlink", "i = zipfile.ZipInfo('vox.exe'); i.create_system = 3; i.external_attr = (0o120777 << 16); z.writestr(i, 'C:/Windows/notepad.exe')", /symbolic link/],
  ["bzip2 entry", "z.write('payload', 'vox.exe', compress_type=zipfile.ZIP_BZIP2)", /compression method 12/],
];

for (const [label, body, expected] of ZIP_CASES) {
  test(`extractSingleExecutable() refuses a zip with a ${label}`, async () => {
    const dir = fresh();
    python(`import zipfile\nwith zipfile.ZipFile('a.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n  ${body}`, dir);
    await refusal(join(dir, "a.zip"), "zip", expected, { entryName: "vox.exe" });
  });
}

test("extractSingleExecutable() refuses a zip whose data fails its CRC", async () => {
  const dir = fresh();
  python("import zipfile\nwith zipfile.ZipFile('a.zip', 'w', zipfile.ZIP_STORED) as z:\n  z.write('payload', 'vox.exe')", dir);
  const bytes = new Uint8Array(readFileSync(join(dir, "a.zip")));
  bytes[30 + "vox.exe".length + 5]! ^= 1;
  writeFileSync(join(dir, "a.zip"), bytes);
  await refusal(join(dir, "a.zip"), "zip", /CRC-32/, { entryName: "vox.exe" });
});

test("extractSingleExecutable() refuses a zip entry that inflates past its declared size with a verification error", async () => {
  const dir = fresh();
  // Several MB, so the inflater is still reading when the cap is hit (where a shared descriptor used to be closed twice).
  python("import os, zipfile\nwith zipfile.ZipFile('a.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n  z.writestr('vox.exe', os.urandom(4 << 20))", dir);
  const bytes = new Uint8Array(readFileSync(join(dir, "a.zip")));
  const central = Buffer.from(bytes).lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  new DataView(bytes.buffer).setUint32(central + 24, 16, true); // declared uncompressed size: 16 bytes
  writeFileSync(join(dir, "a.zip"), bytes);
  await refusal(join(dir, "a.zip"), "zip", /inflates past its declared 16 bytes/, { entryName: "vox.exe" });
});

test("extractSingleExecutable() extracts a zip written by Python's zipfile", async () => {
  const dir = fresh();
  python("import zipfile\nwith zipfile.ZipFile('a.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n  z.write('payload', 'vox.exe')", dir);
  const out = mkdtempSync(join(tmpdir(), "vox-extract-out-"));
  const entry = await extractSingleExecutable(join(dir, "a.zip"), { format: "zip", entryName: "vox.exe", maxBytes: 1 << 20, destination: join(out, "vox.exe") });
  assert.equal(entry.size, payload.length);
  assert.deepEqual(new Uint8Array(readFileSync(join(out, "vox.exe"))), payload);
});

test("extractSingleExecutable() leaves an existing destination untouched when it refuses", async () => {
  const dir = fresh();
  python("import tarfile\nwith tarfile.open('a.tar.gz', 'w:gz') as t:\n  t.add('payload', 'vox'); t.add('payload', 'extra')", dir);
  writeFileSync(join(dir, "installed"), "old vox\n");
  await assert.rejects(extractSingleExecutable(join(dir, "a.tar.gz"), { format: "tar.gz", entryName: "vox", maxBytes: 1 << 20, destination: join(dir, "installed") }));
  assert.equal(readFileSync(join(dir, "installed"), "utf8"), "old vox\n");
  assert.ok(!existsSync(join(dir, "vox")));
});
