#!/usr/bin/env python3
"""Edits a copy of an OCI image layout the way a broken or hostile builder would, re-hashing whatever the edit
touches (config -> manifest -> index -> index.json) so that only the check under test can notice. Written in Python,
not with vox's own code, so the tests do not grade vox's reader with vox's writer.

usage: craft_layout.py <layout> <tag> <case>
"""
import hashlib, json, os, sys

layout, tag, case = sys.argv[1], sys.argv[2], sys.argv[3]
blobs = os.path.join(layout, "blobs", "sha256")

def read(digest):
    with open(os.path.join(blobs, digest.split(":")[1]), "rb") as f:
        return f.read()

def store(data):
    hexd = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, hexd), "wb") as f:
        f.write(data)
    return "sha256:" + hexd, len(data)

index_json = json.load(open(os.path.join(layout, "index.json")))
top_entry = next(m for m in index_json["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
index = json.loads(read(top_entry["digest"]))
amd64 = next(m for m in index["manifests"] if m["platform"]["architecture"] == "amd64")
manifest = json.loads(read(amd64["digest"]))
config = json.loads(read(manifest["config"]["digest"]))
layer = manifest["layers"][0]

if case == "duplicate-platform":
    for m in index["manifests"]:
        m["platform"] = {"os": "linux", "architecture": "amd64"}
elif case == "diff-id-count":
    config["rootfs"]["diff_ids"].append(config["rootfs"]["diff_ids"][0])
elif case == "wrong-diff-id":
    config["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64
elif case == "media-type-mismatch":
    manifest["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
elif case == "wrong-size":
    layer["size"] += 1
elif case == "flipped-byte":
    path = os.path.join(blobs, layer["digest"].split(":")[1])
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    os.chmod(path, 0o644)
    open(path, "wb").write(bytes(data))
elif case == "missing-blob":
    os.remove(os.path.join(blobs, layer["digest"].split(":")[1]))
else:
    sys.exit("unknown case " + case)

def canonical(value):
    return json.dumps(value, separators=(",", ":")).encode()

manifest["config"]["digest"], manifest["config"]["size"] = store(canonical(config))
amd64["digest"], amd64["size"] = store(canonical(manifest))
top_entry["digest"], top_entry["size"] = store(canonical(index))
json.dump(index_json, open(os.path.join(layout, "index.json"), "w"))
print(top_entry["digest"])
