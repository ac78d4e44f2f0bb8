import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { tableCrc32 } from "./crc32.js";
import { CHUNK_SIZE, crc32, crc32Combine, DeflatePool, extractSingleExecutable, gzipDeterministic, tarBytes, writeExecutableArchive } from "./mod.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const data = bytes("#!/bin/sh\necho vox\n".repeat(1000));
const tmp = () => mkdtempSync(join(tmpdir(), "vox-archive-test-"));

/** 3.5 chunks of half-compressible bytes (a counter's text beside xorshift noise): every chunk boundary case but the empty one. */
function largeInput(): Uint8Array {
  const out = new Uint8Array(CHUNK_SIZE * 3 + (CHUNK_SIZE >> 1));
  let state = 0x9e3779b9;
  for (let i = 0; i < out.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = i % 64 < 32 ? 48 + ((i >> 6) % 10) : state & 0xff;
  }
  return out;
}

async function withPool<T>(workers: number, run: (pool: DeflatePool) => Promise<T>): Promise<T> {
  const pool = new DeflatePool(workers);
  try {
    return await run(pool);
  } finally {
    await pool.close();
  }
}

test("zlib's crc32 and the table loop that stands in for it agree, chained or not", () => {
  const random = new Uint8Array(300_000).map((_, i) => (i * 2654435761) >>> 24);
  assert.equal(tableCrc32(random), crc32(random));
  assert.equal(tableCrc32(random.subarray(7), tableCrc32(random.subarray(0, 7))), crc32(random));
  assert.equal(tableCrc32(new Uint8Array(0), 0xdeadbeef), 0xdeadbeef);
  assert.equal(crc32(new Uint8Array(0), 0xdeadbeef), 0xdeadbeef);
});

test("crc32() matches the standard check value, and crc32Combine() joins two runs' CRCs", () => {
  assert.equal(crc32(bytes("123456789")), 0xcbf43926);
  assert.equal(crc32(bytes("6789"), crc32(bytes("12345"))), 0xcbf43926);
  assert.equal(crc32Combine(crc32(bytes("12345")), crc32(bytes("6789")), 4), 0xcbf43926);
  const large = largeInput();
  assert.equal(crc32Combine(crc32(large.subarray(0, 1000)), crc32(large.subarray(1000)), large.length - 1000), crc32(large));
  assert.equal(crc32Combine(0x12345678, 0, 0), 0x12345678);
});

test("gzipDeterministic() joins chunks into streams zlib and GNU gzip accept, whatever the data and wherever the chunks end", () => {
  const dir = tmp();
  const sample = new Uint8Array(CHUNK_SIZE * 3.5);
  let state = 12345;
  for (let i = 0; i < sample.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    sample[i] = i % 100 < 50 ? 97 + (Math.floor(i / 100) % 26) : state >>> 24;
  }
  const cases: Record<string, Uint8Array> = {
    // A tar of this sample was a layer GNU gzip once rejected (a sync flush written at the wrong bit offset).
    "a tar with a 3.5 MiB file": tarBytes([{ name: "data", type: "directory", mode: 0o755, mtime: 0 }, { name: "data/sample.bin", type: "file", mode: 0o644, mtime: 0, data: sample }]),
    "zeros": new Uint8Array(CHUNK_SIZE * 3 + 5),
    "two whole chunks": largeInput().subarray(0, CHUNK_SIZE * 2),
    "one chunk and a byte": largeInput().subarray(0, CHUNK_SIZE + 1),
    "less than a window": largeInput().subarray(0, 40_000),
    "nothing": new Uint8Array(0),
    "repeated text": bytes("the quick brown fox\n".repeat(200_000)),
  };
  for (const [label, input] of Object.entries(cases)) {
    const gz = gzipDeterministic(input);
    assert.ok(gunzipSync(gz).equals(input), `${label}: zlib reads back the input`);
    writeFileSync(join(dir, "case.gz"), gz);
    execFileSync("gzip", ["-t", join(dir, "case.gz")]);
  }
});

test("writeExecutableArchive('tar.gz') gives the same bytes with 1, 2 and 4 workers, equal to gzipDeterministic(tarBytes()), that GNU tar and gzip accept", async () => {
  const dir = tmp();
  const input = largeInput();
  writeFileSync(join(dir, "vox"), input, { mode: 0o700 });
  const archives: Buffer[] = [];
  for (const workers of [1, 2, 4]) {
    const target = join(dir, `vox-${workers}.tar.gz`);
    const written = await withPool(workers, (pool) => writeExecutableArchive("tar.gz", { source: join(dir, "vox"), name: "vox", mtime: 1_700_000_000 }, target, pool));
    const archive = readFileSync(target);
    assert.equal(written.size, archive.length);
    assert.equal(written.sha256, execFileSync("sha256sum", [target], { encoding: "utf8" }).split(" ")[0]);
    assert.equal(statSync(target).mode & 0o777, 0o644);
    archives.push(archive);
  }
  assert.ok(archives[1]!.equals(archives[0]!) && archives[2]!.equals(archives[0]!), "1, 2 and 4 workers wrote the same bytes");
  assert.ok(archives[0]!.equals(gzipDeterministic(tarBytes([{ name: "vox", type: "file", mode: 0o755, mtime: 1_700_000_000, data: input }], { uname: "root", gname: "root" }))));
  assert.deepEqual(readdirSync(dir).filter((name) => name.includes(".tmp-")), [], "nothing left beside the targets");
  const target = join(dir, "vox-1.tar.gz");
  execFileSync("gzip", ["-t", target]);
  assert.match(execFileSync("tar", ["--utc", "-tvzf", target], { encoding: "utf8" }), new RegExp(`^-rwxr-xr-x root/root\\s+${input.length} 2023-11-14 22:13 vox\\n$`));
  assert.match(execFileSync("tar", ["--numeric-owner", "-tvzf", target], { encoding: "utf8" }), /^-rwxr-xr-x 0\/0 /);
  const out = join(dir, "out");
  execFileSync("mkdir", [out]);
  execFileSync("tar", ["-xzf", target, "-C", out]);
  assert.ok(readFileSync(join(out, "vox")).equals(input));
  assert.equal(statSync(join(out, "vox")).mode & 0o777, 0o755);
  const extracted = await extractSingleExecutable(target, { format: "tar.gz", entryName: "vox", maxBytes: 64 << 20, destination: join(dir, "installed") });
  assert.equal(extracted.size, input.length);
});

test("writeExecutableArchive() output changes when the content or the timestamp changes", async () => {
  const dir = tmp();
  writeFileSync(join(dir, "a"), data);
  const flipped = new Uint8Array(data);
  flipped[10]! ^= 1;
  writeFileSync(join(dir, "b"), flipped);
  const sums = await withPool(1, async (pool) => [
    (await writeExecutableArchive("tar.gz", { source: join(dir, "a"), name: "vox", mtime: 1 }, join(dir, "a1.tar.gz"), pool)).sha256,
    (await writeExecutableArchive("tar.gz", { source: join(dir, "b"), name: "vox", mtime: 1 }, join(dir, "b1.tar.gz"), pool)).sha256,
    (await writeExecutableArchive("tar.gz", { source: join(dir, "a"), name: "vox", mtime: 2 }, join(dir, "a2.tar.gz"), pool)).sha256,
  ]);
  assert.equal(new Set(sums).size, 3);
});

test("tarBytes() writes pax records for long names that GNU tar reads back", () => {
  const long = `${"d".repeat(120)}/${"f".repeat(120)}`;
  const dir = tmp();
  writeFileSync(join(dir, "long.tar"), tarBytes([{ name: long, type: "file", mode: 0o644, mtime: 0, data }]));
  assert.equal(execFileSync("tar", ["-tf", join(dir, "long.tar")], { encoding: "utf8" }), `${long}\n`);
});

test("tarBytes() refuses names that leave the archive", () => {
  for (const name of ["/etc/passwd", "../x", "a/../../x", ""]) {
    assert.throws(() => tarBytes([{ name, type: "file", mode: 0o644, mtime: 0 }]), /Cannot write tar entry/);
  }
});

test("writeExecutableArchive('zip') is the same with 1, 2 and 4 workers whatever the time zone; unzip and the install extractor read a 0755 Unix entry", async () => {
  const dir = tmp();
  const input = largeInput();
  writeFileSync(join(dir, "vox.exe"), input);
  const original = process.env.TZ;
  const archives: Buffer[] = [];
  try {
    for (const [workers, zone] of [[1, "Pacific/Kiritimati"], [2, "America/Adak"], [4, "UTC"]] as const) {
      process.env.TZ = zone;
      const target = join(dir, `vox-${workers}.zip`);
      await withPool(workers, (pool) => writeExecutableArchive("zip", { source: join(dir, "vox.exe"), name: "vox.exe", mtime: 1_700_000_000 }, target, pool));
      archives.push(readFileSync(target));
    }
  } finally {
    process.env.TZ = original;
  }
  assert.ok(archives[1]!.equals(archives[0]!) && archives[2]!.equals(archives[0]!));
  const target = join(dir, "vox-1.zip");
  const info = execFileSync("unzip", ["-Z", target], { encoding: "utf8" });
  assert.match(info, /number of entries: 1/);
  assert.match(info, new RegExp(`-rwxr-xr-x .* unx\\s+${input.length} .* 23-Nov-14 22:13 vox\\.exe`));
  assert.ok(execFileSync("unzip", ["-p", target, "vox.exe"], { maxBuffer: 64 << 20 }).equals(input));
  execFileSync("unzip", ["-tq", target]);
  const extracted = await extractSingleExecutable(target, { format: "zip", entryName: "vox.exe", maxBytes: 64 << 20, destination: join(dir, "installed.exe") });
  assert.equal(extracted.size, input.length);
  assert.equal(extracted.mode, 0o755);
});

test("writeExecutableArchive() of an empty file is a valid archive, and a missing source leaves nothing behind", async () => {
  const dir = tmp();
  writeFileSync(join(dir, "empty"), "");
  await withPool(2, async (pool) => {
    await writeExecutableArchive("tar.gz", { source: join(dir, "empty"), name: "vox", mtime: 0 }, join(dir, "empty.tar.gz"), pool);
    await writeExecutableArchive("zip", { source: join(dir, "empty"), name: "vox.exe", mtime: 0 }, join(dir, "empty.zip"), pool);
    await assert.rejects(writeExecutableArchive("tar.gz", { source: join(dir, "missing"), name: "vox", mtime: 0 }, join(dir, "missing.tar.gz"), pool), /ENOENT/);
  });
  assert.match(execFileSync("tar", ["-tvzf", join(dir, "empty.tar.gz")], { encoding: "utf8" }), /^-rwxr-xr-x root\/root\s+0 /);
  execFileSync("unzip", ["-tq", join(dir, "empty.zip")]);
  assert.deepEqual(readdirSync(dir).sort(), ["empty", "empty.tar.gz", "empty.zip"]);
});
