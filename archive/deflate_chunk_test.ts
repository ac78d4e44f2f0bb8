import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { constants, inflateRawSync } from "node:zlib";
import { CHUNK_SIZE, deflateChunk } from "./deflate_chunk.js";

const root = join(import.meta.dirname, "..");

function sample(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[i] = i % 64 < 40 ? 97 + ((i >> 9) % 26) : state >>> 24;
  }
  return out;
}

test("scripts/build-deflate-wasm.sh rebuilds, from the vendored libdeflate and its patch, exactly the committed module", () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-deflate-wasm-"));
  try {
    const rebuilt = join(dir, "vox_deflate_wasm.js");
    execFileSync(join(root, "scripts", "build-deflate-wasm.sh"), [rebuilt], { stdio: "pipe" });
    assert.ok(readFileSync(rebuilt).equals(readFileSync(join(root, "archive", "libdeflate", "vox_deflate_wasm.js"))), "archive/libdeflate/vox_deflate_wasm.js is not what the sources build: run scripts/build-deflate-wasm.sh");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("deflateChunk() of a chunk that is not final ends in a sync flush: byte-aligned, non-final, readable alone", () => {
  const data = sample(CHUNK_SIZE, 7);
  const { deflated, crc } = deflateChunk({ data, final: false, level: 6 });
  assert.deepEqual([...deflated.subarray(-4)], [0, 0, 0xff, 0xff]);
  assert.ok(inflateRawSync(deflated, { finishFlush: constants.Z_SYNC_FLUSH }).equals(data));
  // Not final: zlib, asked to finish the stream, finds it unfinished.
  assert.throws(() => inflateRawSync(deflated), /unexpected end of file/);
  assert.equal(crc, deflateChunk({ data, final: true, level: 6 }).crc);
});

test("deflateChunk() gives a chunk the same bytes whatever was compressed before it on the thread, and levels 6 and 9 both read back", () => {
  const first = sample(CHUNK_SIZE, 1);
  const second = sample(CHUNK_SIZE - 1000, 2);
  const alone = deflateChunk({ data: second, final: true, level: 6 }).deflated;
  deflateChunk({ data: first, final: false, level: 6 });
  const afterAnother = deflateChunk({ data: second, final: true, level: 6 }).deflated;
  assert.ok(Buffer.from(afterAnother).equals(alone));
  const nine = deflateChunk({ data: second, final: true, level: 9 }).deflated;
  assert.ok(!Buffer.from(nine).equals(alone), "level 9 is its own compressor");
  assert.ok(inflateRawSync(nine).equals(second) && inflateRawSync(alone).equals(second));
});

test("deflateChunk() refuses a chunk over CHUNK_SIZE and an empty chunk that is not final", () => {
  assert.throws(() => deflateChunk({ data: new Uint8Array(CHUNK_SIZE + 1), final: true, level: 6 }), /at most 1048576 bytes, not 1048577/);
  assert.throws(() => deflateChunk({ data: new Uint8Array(0), final: false, level: 6 }), /only the final chunk may be empty/);
  assert.equal(inflateRawSync(deflateChunk({ data: new Uint8Array(0), final: true, level: 6 }).deflated).length, 0);
});
