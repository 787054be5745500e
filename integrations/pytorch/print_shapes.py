"""Prints what a `lethe labels export` folder holds, with nothing but the standard library.

    python3 print_shapes.py whp-labels/

A safetensors file is an 8-byte little-endian header length, a JSON header (dtype, shape and byte
range of each tensor) and the raw data, so the shapes come from the headers alone.
"""
import json
import os
import struct
import sys


def header(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(length))


def main(folder):
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    print(f"{manifest['format']} v{manifest['version']}, tokenizer {manifest['tokenizer']['sha256'][:12]} ({manifest['tokenizer']['n_vocab']} tokens)")
    for name, split in manifest["splits"].items():
        print(f"{name}: {split['blocks']} blocks, {split['positions']} positions, K = {split['k']}")
        for shard in split["shards"]:
            tensors = {k: v for k, v in header(os.path.join(folder, shard["file"])).items() if k != "__metadata__"}
            shapes = ", ".join(f"{k} {v['dtype']} {v['shape']}" for k, v in tensors.items())
            print(f"  {shard['file']}: {shapes}")
    schedule = json.load(open(os.path.join(folder, manifest["schedule"])))
    print(f"schedule: {len(schedule['forget'])} steps of {len(schedule['forget'][0])} forget blocks")


if __name__ == "__main__":
    main(sys.argv[1])
