// OCI image layouts written by Python's tarfile, gzip and hashlib (never by vox), with correct digests and
// diff_ids so that only the unpack policy can stop them; plus the hostile corpus drawn from the peers' breakout tests.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Entry {
  name: string;
  type?: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  text?: string;
  /** Generated content of this many bytes (seeded pseudo-random, or zeros). */
  size?: number;
  zeros?: boolean;
  pax?: Record<string, string>;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
}

export interface LayerSpec {
  entries: Entry[];
  compression?: "gzip" | "none";
  format?: "pax" | "gnu";
}

export interface ImageSpec {
  layers: LayerSpec[];
  config?: { User?: string; Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; WorkingDir?: string; Labels?: Record<string, string> };
  /** Damage applied after the digests are computed (or a wrong value written into the documents). */
  tamper?: "flip-byte" | "wrong-diff-id" | "wrong-size" | "missing-blob";
}

const WRITER = String.raw`
import gzip, hashlib, json, os, random, sys, tarfile
spec = json.load(sys.stdin)
out = spec["layout"]
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)

class Hashing:
    def __init__(self, inner): self.inner, self.h, self.n = inner, hashlib.sha256(), 0
    def write(self, b):
        self.h.update(b); self.n += len(b); self.inner.write(b); return len(b)
    def flush(self): pass
    def close(self): pass

class Content:
    """Seeded pseudo-random bytes (as incompressible as real binaries), or zeros."""
    def __init__(self, size, zeros): self.left, self.zeros, self.rng = size, zeros, random.Random(size)
    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n) if self.zeros else self.rng.randbytes(n)

def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f: f.write(data)
    return "sha256:" + d, len(data)

TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}
layers, diff_ids = [], []
for layer in spec["layers"]:
    tmp = os.path.join(out, "layer.tmp")
    gz = layer.get("compression", "gzip") == "gzip"
    with open(tmp, "wb") as raw:
        stored = Hashing(raw)
        sink = gzip.GzipFile(fileobj=stored, mode="wb", mtime=0, compresslevel=6) if gz else stored
        diff = Hashing(sink)
        fmt = tarfile.GNU_FORMAT if layer.get("format") == "gnu" else tarfile.PAX_FORMAT
        with tarfile.open(fileobj=diff, mode="w|", format=fmt) as tf:
            for e in layer["entries"]:
                ti = tarfile.TarInfo(e["name"])
                ti.type = TYPES[e.get("type", "file")]
                ti.mode = e.get("mode", 0o755 if ti.type == tarfile.DIRTYPE else 0o644)
                ti.uid, ti.gid = e.get("uid", 0), e.get("gid", 0)
                ti.mtime = e.get("mtime", 1700000000)
                ti.linkname = e.get("linkname", "")
                ti.devmajor, ti.devminor = e.get("devmajor", 0), e.get("devminor", 0)
                ti.pax_headers = e.get("pax", {})
                if ti.type == tarfile.REGTYPE:
                    if "text" in e:
                        data = e["text"].encode()
                        ti.size = len(data)
                        import io
                        tf.addfile(ti, io.BytesIO(data))
                    else:
                        ti.size = e.get("size", 0)
                        tf.addfile(ti, Content(ti.size, e.get("zeros", False)))
                else:
                    tf.addfile(ti)
        if gz: sink.close()
    digest = "sha256:" + stored.h.hexdigest()
    os.replace(tmp, os.path.join(blobs, digest[7:]))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else ""), "digest": digest, "size": stored.n})
    diff_ids.append("sha256:" + diff.h.hexdigest())

tamper = spec.get("tamper")
if tamper == "wrong-diff-id": diff_ids[-1] = "sha256:" + hashlib.sha256(b"not this layer").hexdigest()
if tamper == "wrong-size": layers[-1]["size"] += 1
config = {"architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z", "config": spec.get("config", {}), "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": [{"created_by": "python tarfile"} for _ in layers]}
cdigest, csize = put(json.dumps(config).encode())
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": csize}, "layers": layers}
mdigest, msize = put(json.dumps(manifest).encode())
index_path = os.path.join(out, "index.json")
index = json.load(open(index_path)) if os.path.exists(index_path) else {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
index["manifests"] = [m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != spec["tag"]]
index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest, "size": msize, "platform": {"architecture": "amd64", "os": "linux"}, "annotations": {"org.opencontainers.image.ref.name": spec["tag"]}})
json.dump(index, open(index_path, "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
last = os.path.join(blobs, layers[-1]["digest"][7:]) if layers else None
if tamper == "flip-byte":
    with open(last, "r+b") as f:
        f.seek(layers[-1]["size"] // 2); b = f.read(1); f.seek(layers[-1]["size"] // 2); f.write(bytes([b[0] ^ 0xff]))
if tamper == "missing-blob": os.remove(last)
print(mdigest)
`;

/** Writes `spec` into the layout `dir` under `tag` with Python; returns the manifest digest. */
export function writeLayout(dir: string, tag: string, spec: ImageSpec): string {
  return execFileSync("python3", ["-c", WRITER], { input: JSON.stringify({ ...spec, layout: dir, tag }), encoding: "utf8", maxBuffer: 1 << 20 }).trim();
}

/** Every path under `dir` with its type, mode, owner, link target and content hash: what "unchanged" means. */
export function snapshot(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (path: string, relative: string) => {
    const stat = lstatSync(path);
    const type = stat.isSymbolicLink() ? "symlink" : stat.isDirectory() ? "dir" : stat.isFile() ? "file" : stat.isFIFO() ? "fifo" : stat.isCharacterDevice() ? "char" : stat.isBlockDevice() ? "block" : "other";
    const what = type === "symlink" ? readlinkSync(path) : type === "file" ? createHash("sha256").update(readFileSync(path)).digest("hex") : type === "char" || type === "block" ? String(stat.rdev) : "";
    result[relative || "."] = `${type} ${type === "symlink" ? "" : (stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid} ${what}`;
    if (type === "dir") for (const name of readdirSync(path).sort()) walk(join(path, name), relative ? `${relative}/${name}` : name);
  };
  walk(dir, "");
  return result;
}

/** Enough `../` to climb out of any bundle the tests make, then into `target` (absolute). */
export function climbTo(target: string): string {
  return `${"../".repeat(24)}${target.replace(/^\//, "")}`;
}

export interface HostileCase {
  name: string;
  /** Where the attack comes from: the peer test or CVE it reproduces. */
  from: string;
  image: (sentinel: string) => ImageSpec;
  /** Refused (with this rule named), or contained (unpacked, with the attack landing inside the rootfs). */
  expect: { refused: string } | { contained: (rootfs: string, sentinel: string) => void };
  /** A policy file's text, when the case needs one. */
  policy?: string;
}

const file = (name: string, text = "x\n"): Entry => ({ name, text });

/**
 * The hostile corpus. Each case names what it reproduces; the sentinel is a directory outside the bundle whose
 * snapshot must not change.
 */
export const HOSTILE_CASES: HostileCase[] = [
  { name: "dot-dot name", from: "containerd archive/tar_test.go TestBreakouts 'DotDot'; moby pkg/archive TestUntarInvalidFilenames", image: (s) => ({ layers: [{ entries: [file(climbTo(`${s}/pwned`))] }] }), expect: { refused: "dot-dot" } },
  { name: "absolute name", from: "containerd TestBreakouts 'AbsolutePath'; moby TestUntarHardlinkToSymlink family", image: (s) => ({ layers: [{ entries: [file(`${s}/pwned`)] }] }), expect: { refused: "absolute-path" } },
  { name: "PAX path escape", from: "moby pkg/archive TestUntarInvalidFilenames (PAX path)", image: (s) => ({ layers: [{ entries: [{ name: "innocent", text: "x", pax: { path: climbTo(`${s}/pwned`) } }] }] }), expect: { refused: "dot-dot" } },
  { name: "GNU long name escape", from: "moby pkg/archive TestUntarInvalidFilenames (GNU long name)", image: (s) => ({ layers: [{ format: "gnu", entries: [file(`${climbTo(s)}/${"a".repeat(120)}`)] }] }), expect: { refused: "dot-dot" } },
  {
    name: "write through an absolute symlink in the same layer",
    from: "CVE-2014-9356 (Docker); containerd TestBreakouts 'SymlinkAbsolute'",
    image: (s) => ({ layers: [{ entries: [{ name: "escape", type: "symlink", linkname: s }, file("escape/pwned")] }] }),
    expect: { contained: (rootfs, s) => void readFileSync(join(rootfs, s, "pwned")) },
  },
  {
    name: "write through a relative symlink that climbs out",
    from: "containerd TestBreakouts 'SymlinkParentDirectory'; moby TestUntarInvalidSymlink",
    image: (s) => ({ layers: [{ entries: [{ name: "escape", type: "symlink", linkname: climbTo(s) }, file("escape/pwned")] }] }),
    expect: { contained: (rootfs, s) => void readFileSync(join(rootfs, s, "pwned")) },
  },
  {
    name: "write through a symlink planted by a lower layer",
    from: "CVE-2021-29136 (umoci); umoci oci/layer TestUnpackEntrySymlinkParent",
    image: (s) => ({ layers: [{ entries: [{ name: "etc", type: "dir" }, { name: "etc/conf", type: "symlink", linkname: s }] }, { entries: [file("etc/conf/pwned")] }] }),
    expect: { contained: (rootfs, s) => void readFileSync(join(rootfs, s, "pwned")) },
  },
  { name: "rootfs replaced by a symlink", from: "CVE-2021-29136 (umoci: a malicious '.' entry)", image: (s) => ({ layers: [{ entries: [{ name: ".", type: "symlink", linkname: s }, file("pwned")] }] }), expect: { refused: "root-type" } },
  { name: "hard link to an absolute outside path", from: "containerd TestBreakouts 'HardlinkAbsolute'; CVE-2014-9356", image: (s) => ({ layers: [{ entries: [{ name: "h", type: "hardlink", linkname: `${s}/secret` }] }] }), expect: { refused: "absolute-path" } },
  { name: "hard link climbing out", from: "containerd TestBreakouts 'HardlinkParentDirectory'; moby TestUntarInvalidHardlink", image: (s) => ({ layers: [{ entries: [{ name: "h", type: "hardlink", linkname: climbTo(`${s}/secret`) }] }] }), expect: { refused: "dot-dot" } },
  {
    name: "hard link through a symlinked directory",
    from: "containerd TestBreakouts 'HardlinkSymlinkBeforeCreateTarget'",
    image: (s) => ({ layers: [{ entries: [{ name: "esc", type: "symlink", linkname: s }, { name: "h", type: "hardlink", linkname: "esc/secret" }] }] }),
    expect: { refused: "parent" },
  },
  { name: "hard link before its target", from: "umoci oci/layer TestUnpackHardlink (ordering)", image: () => ({ layers: [{ entries: [{ name: "h", type: "hardlink", linkname: "later" }, file("later")] }] }), expect: { refused: "hardlink" } },
  { name: "symlink loop", from: "containerd TestBreakouts 'SymlinkLoop'", image: () => ({ layers: [{ entries: [{ name: "a", type: "symlink", linkname: "b" }, { name: "b", type: "symlink", linkname: "a" }, file("a/x")] }] }), expect: { refused: "symlink-loop" } },
  { name: "self-referencing symlink", from: "moby pkg/archive TestUntarInvalidSymlink (loop)", image: () => ({ layers: [{ entries: [{ name: "loop", type: "symlink", linkname: "loop/" }, file("loop/x")] }] }), expect: { refused: "symlink-loop" } },
  { name: "whiteout climbing out", from: "containerd archive TestApplyWhiteout (path outside root)", image: (s) => ({ layers: [{ entries: [file(`${climbTo(s)}/../.wh.secret`)] }] }), expect: { refused: "dot-dot" } },
  { name: "whiteout of '..'", from: "umoci oci/layer whiteout tests ('.wh..')", image: () => ({ layers: [{ entries: [{ name: "d", type: "dir" }, file("d/.wh..")] }] }), expect: { refused: "whiteout" } },
  {
    name: "whiteout through a lower-layer symlink",
    from: "containerd TestBreakouts 'WhiteoutSymlink'",
    image: (s) => ({ layers: [{ entries: [{ name: "esc", type: "symlink", linkname: s }] }, { entries: [file("esc/.wh.secret")] }] }),
    expect: { contained: () => {} },
  },
  {
    name: "opaque whiteout through a lower-layer symlink",
    from: "containerd TestBreakouts 'OpaqueWhiteoutSymlink'",
    image: (s) => ({ layers: [{ entries: [{ name: "esc", type: "symlink", linkname: climbTo(s) }] }, { entries: [file("esc/.wh..wh..opq")] }] }),
    expect: { contained: () => {} },
  },
  {
    name: "chmod through a symlink",
    from: "CVE-2021-32760 (containerd: chmod of a symlink's target)",
    image: (s) => ({ layers: [{ entries: [{ name: "s", type: "symlink", linkname: `${s}/secret`, mode: 0o777 }] }, { entries: [{ name: "s", type: "dir", mode: 0o777 }, { name: "t", type: "symlink", linkname: `${s}/secret`, mode: 0o777 }] }] }),
    expect: { contained: (rootfs) => assertMode(join(rootfs, "s"), 0o777) },
  },
  { name: "character device", from: "moby pkg/archive TestUntarDevice; umoci TestUnpackEntryDevice", image: () => ({ layers: [{ entries: [{ name: "dev/mem", type: "char", devmajor: 1, devminor: 1, mode: 0o666 }] }] }), expect: { refused: "devices" } },
  { name: "FIFO", from: "umoci oci/layer TestUnpackEntryFifo", image: () => ({ layers: [{ entries: [{ name: "pipe", type: "fifo" }] }] }), expect: { refused: "devices" } },
  {
    name: "setuid root shell",
    from: "moby pkg/archive TestTarWithOptions (setuid) / policy",
    image: () => ({ layers: [{ entries: [{ name: "bin", type: "dir" }, { name: "bin/su", text: "#!/bin/sh\n", mode: 0o4755 }] }] }),
    expect: { contained: (rootfs) => assertMode(join(rootfs, "bin/su"), 0o755) },
  },
  { name: "setuid under setuid = \"refuse\"", from: "policy", policy: 'setuid = "refuse"\n', image: () => ({ layers: [{ entries: [{ name: "su", text: "x", mode: 0o6755 }] }] }), expect: { refused: "setuid" } },
  {
    name: "file capability xattr",
    from: "umoci oci/layer xattr tests (security.capability)",
    image: () => ({ layers: [{ entries: [{ name: "ping", text: "x", mode: 0o755, pax: { "SCHILY.xattr.security.capability": "\u0001\u0000\u0000\u0002\u0000\u0020\u0000\u0000" } }] }] }),
    expect: { contained: () => {} },
  },
  { name: "gzip bomb", from: "zip-bomb family (42.zip); limits", image: () => ({ layers: [{ entries: [{ name: "zeros", size: 256 << 20, zeros: true }] }] }), expect: { refused: "limits.compression_ratio" } },
  { name: "declared size over file_size", from: "limits", policy: "[limits]\nfile_size = \"1 MiB\"\n", image: () => ({ layers: [{ entries: [{ name: "big", size: 2 << 20 }] }] }), expect: { refused: "limits.file_size" } },
  { name: "too many entries", from: "limits", policy: "[limits]\nentries = 10\n", image: () => ({ layers: [{ entries: Array.from({ length: 20 }, (_, i) => file(`f${i}`)) }] }), expect: { refused: "limits.entries" } },
  { name: "too deep", from: "limits", policy: "[limits]\ndepth = 8\n", image: () => ({ layers: [{ entries: [file(`${"d/".repeat(12)}x`)] }] }), expect: { refused: "limits.depth" } },
  { name: "too long a path", from: "limits", policy: "[limits]\npath_length = 200\n", image: () => ({ layers: [{ entries: [file(`${"n".repeat(150)}/${"m".repeat(100)}`)] }] }), expect: { refused: "limits.path_length" } },
];

/**
 * Sets up one case in `dir`: a sentinel directory outside the bundle (with a secret), the layout (tag `t`) aimed at
 * it, and the policy file when the case has one; the test compares `snapshotBefore` with the sentinel at the end.
 */
export function stageCase(dir: string, hostile: HostileCase): { sentinel: string; layout: string; bundle: string; policyFile: string | undefined; snapshotBefore: Record<string, string> } {
  const sentinel = join(dir, "sentinel");
  mkdirSync(sentinel, { recursive: true });
  writeFileSync(join(sentinel, "secret"), "do not touch\n", { mode: 0o600 });
  writeFileSync(join(sentinel, "keep"), "keep\n");
  const snapshotBefore = snapshot(sentinel);
  writeLayout(join(dir, "layout"), "t", hostile.image(sentinel));
  const policyFile = hostile.policy === undefined ? undefined : join(dir, "policy.toml");
  if (policyFile) writeFileSync(policyFile, hostile.policy!);
  return { sentinel, layout: join(dir, "layout"), bundle: join(dir, "bundle"), policyFile, snapshotBefore };
}

function assertMode(path: string, mode: number): void {
  const actual = lstatSync(path).mode & 0o7777;
  if (actual !== mode) throw new Error(`${path} has mode ${actual.toString(8)}, expected ${mode.toString(8)}`);
}

/**
 * A PulledImage read straight from a layout with plain fs and JSON, for unit tests of the applier (the CLI tests go
 * through the real pull). Each blob is checked against its digest as it streams, as the pull side promises.
 */
export function layoutImage(layout: string, tag: string): import("../../oci/pull/mod.ts").PulledImage {
  const blob = (digest: string) => join(layout, "blobs", "sha256", digest.slice("sha256:".length));
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  const entry = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag)!;
  const manifest = JSON.parse(readFileSync(blob(entry.digest), "utf8")) as { config: { digest: string }; layers: Array<{ digest: string; mediaType: string; size: number }> };
  const config = JSON.parse(readFileSync(blob(manifest.config.digest), "utf8"));
  return {
    reference: `oci:${layout}:${tag}`,
    resolvedDigest: entry.digest,
    manifestDigest: entry.digest,
    platform: { os: "linux", architecture: "amd64" },
    config,
    configDigest: manifest.config.digest,
    scope: null,
    mutable: true,
    layers: manifest.layers.map((layer, i) => ({
      ...layer,
      diffId: config.rootfs.diff_ids[i],
      async open() {
        const bytes = readFileSync(blob(layer.digest));
        if (`sha256:${createHash("sha256").update(bytes).digest("hex")}` !== layer.digest) throw new Error(`blob ${layer.digest} is corrupt`);
        return new Blob([bytes]).stream();
      },
    })),
  };
}
