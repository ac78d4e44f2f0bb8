import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { type TarHeader, TarFormatError, TarReader } from "./_tar.ts";

/** A tar written by Python's tarfile (never by vox): `body` is Python run with `tf` open on the output. */
function pythonTar(format: "GNU" | "PAX", body: string): Buffer {
  const script = `import io, sys, tarfile\nout = io.BytesIO()\nwith tarfile.open(fileobj=out, mode="w", format=tarfile.${format}_FORMAT) as tf:\n${body.replace(/^/gm, "    ")}\nsys.stdout.buffer.write(out.getvalue())`;
  return execFileSync("python3", ["-c", script]);
}

async function readAll(bytes: Uint8Array, chunk = 1000): Promise<Array<TarHeader & { data: string }>> {
  async function* source() {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  }
  const tar = new TarReader(source()[Symbol.asyncIterator](), { maxMetadata: 1 << 16 });
  const entries = [];
  for (let header = await tar.next(); header; header = await tar.next()) {
    let data = "";
    for await (const part of tar.body()) data += Buffer.from(part).toString("latin1");
    entries.push({ ...header, data });
  }
  return entries;
}

test("TarReader reads GNU base-256 ids, long names and long link names", async () => {
  const long = `${"d".repeat(120)}/file`;
  const [file, link] = await readAll(
    pythonTar("GNU", `t = tarfile.TarInfo(${JSON.stringify(long)}); t.size = 3; t.uid = 2**24; t.gid = 7; t.mode = 0o4755\ntf.addfile(t, io.BytesIO(b"abc"))\nl = tarfile.TarInfo("l"); l.type = tarfile.SYMTYPE; l.linkname = ${JSON.stringify(`/${"t".repeat(150)}`)}\ntf.addfile(l)`),
  );
  assert.deepEqual([file!.name, file!.type, file!.uid, file!.gid, file!.mode, file!.data], [long, "file", 2 ** 24, 7, 0o4755, "abc"]);
  assert.deepEqual([link!.type, link!.linkname], ["symlink", `/${"t".repeat(150)}`]);
});

test("TarReader applies PAX records: path, fractional mtime, size, xattrs", async () => {
  const [entry] = await readAll(pythonTar("PAX", `t = tarfile.TarInfo("short"); t.size = 2; t.pax_headers = {"path": "from/pax", "mtime": "1700000000.5", "SCHILY.xattr.user.k": "v"}\ntf.addfile(t, io.BytesIO(b"hi"))`));
  assert.equal(entry!.name, "from/pax");
  assert.equal(entry!.mtime, 1700000000.5);
  assert.equal(entry!.xattrs.get("user.k")?.toString(), "v");
  assert.equal(entry!.data, "hi");
});

test("TarReader refuses a corrupt header checksum and an archive cut inside a file", async () => {
  const bytes = pythonTar("PAX", `t = tarfile.TarInfo("f"); t.size = 600\ntf.addfile(t, io.BytesIO(bytes(600)))`);
  const corrupt = Buffer.from(bytes);
  corrupt[0] = corrupt[0]! ^ 0x20;
  await assert.rejects(readAll(corrupt), (error: unknown) => error instanceof TarFormatError && /checksum/.test(error.message));
  await assert.rejects(readAll(bytes.subarray(0, 800)), (error: unknown) => error instanceof TarFormatError && /ends inside a file/.test(error.message));
});
