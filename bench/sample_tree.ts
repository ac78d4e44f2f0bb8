// The 200 MB packaging sample for `npm run bench`: many small files plus a few large ones, from a fixed seed so
// every run (and every machine) measures the same bytes. Mixed content: text that compresses, noise that does not.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const SMALL_FILES = 6000;
const LARGE_FILES = [
  { name: "assets/model.bin", bytes: 64 << 20, kind: "noise" },
  { name: "assets/corpus.txt", bytes: 64 << 20, kind: "text" },
  { name: "assets/bundle.js", bytes: 44 << 20, kind: "text" },
] as const;

/** xorshift32: a tiny deterministic generator, so the sample is identical on every run. */
function generator(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

const WORDS = "vox deploy build layer image index manifest digest registry platform config lock input hash tar gzip sha256 amd64 arm64 reproducible".split(" ");

function content(bytes: number, kind: "noise" | "text", next: () => number): Uint8Array {
  const out = new Uint8Array(bytes);
  if (kind === "noise") {
    const view = new Uint32Array(out.buffer, 0, Math.floor(bytes / 4));
    for (let i = 0; i < view.length; i++) view[i] = next();
    return out;
  }
  const encoder = new TextEncoder();
  let offset = 0;
  while (offset < bytes) {
    const line = encoder.encode(`${Array.from({ length: 8 }, () => WORDS[next() % WORDS.length]).join(" ")} ${next() % 100000}\n`);
    out.set(line.subarray(0, bytes - offset), offset);
    offset += line.length;
  }
  return out;
}

/** Writes the sample under `dir/tree` with a Vox.toml (scratch base, both platforms) and returns the project dir. */
export function writeSampleProject(dir: string): string {
  const next = generator(20261125);
  const tree = join(dir, "tree");
  for (let i = 0; i < SMALL_FILES; i++) {
    const path = join(tree, "src", `m${i % 60}`, `file${i}.${i % 3 === 0 ? "bin" : "txt"}`);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, content(1024 + (next() % 7168), i % 3 === 0 ? "noise" : "text", next));
  }
  for (const large of LARGE_FILES) {
    mkdirSync(join(tree, large.name, ".."), { recursive: true });
    writeFileSync(join(tree, large.name), content(large.bytes, large.kind, next));
  }
  writeFileSync(
    join(dir, "Vox.toml"),
    ['[package]', 'name = "bench"', 'version = "1.0.0"', "", "[deploy]", 'platforms = ["linux/amd64", "linux/arm64"]', 'base = "scratch"', 'entrypoint = ["/srv/run"]', "", "[[deploy.copy]]", 'from = "tree"', 'to = "/srv"', ""].join("\n"),
  );
  return dir;
}
