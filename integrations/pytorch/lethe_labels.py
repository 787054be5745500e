"""Read a lethe WHP labels export (`lethe labels export RUN --out DIR`) as PyTorch tensors.

An export is a directory with `manifest.json` and safetensors shards per split ("forget", and
"retain" when the run's fine-tune mixed retain text); docs/labels-export.md is the format. Each
shard holds

    input_ids      I32 [N]       the tokens of its blocks, concatenated
    block_offsets  I64 [B + 1]   block b is input_ids[block_offsets[b]:block_offsets[b + 1]]
    block_index    I64 [B]       each block's index in the run's own order
    target_ids     I32 [N, K]    the K targets of the prediction made at each position; -1 masked
    target_weights F32 [N, K]    their weights; 0 masks

`LabelsDataset` is a torch Dataset of blocks, sorted by `block_index`; `collate` pads a list of
blocks to the longest with weight 0. The `safetensors` package is used when it is installed; without
it the format is read here with the standard library and `torch.frombuffer`.

    from lethe_labels import load_export, LabelsDataset, collate
    export = load_export("labels-dir")
    forget = LabelsDataset(export, "forget")
    batch = collate([forget[0], forget[1]])   # tokens [2, T], targets [2, T, K], weights [2, T, K]
"""
import json
import os
import struct

import torch

try:  # the fast path, when the package is there
    from safetensors.torch import load_file as _st_load_file
except ImportError:  # pragma: no cover - depends on the machine
    _st_load_file = None

FORMAT = "lethe-whp-labels"

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}


def read_safetensors(path):
    """{name: tensor} of a safetensors file: u64 header length, JSON header, raw little-endian data."""
    with open(path, "rb") as f:
        data = bytearray(f.read())  # writable, so torch.frombuffer does not warn
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = memoryview(data)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        shape = info["shape"]
        count = 1
        for d in shape:
            count *= d
        itemsize = torch.empty((), dtype=dtype).element_size()
        if not 0 <= start <= end <= len(body) or end - start != count * itemsize:
            raise ValueError(f"{path}: tensor {name} has bad data_offsets {start}..{end}")
        if count == 0:
            out[name] = torch.empty(shape, dtype=dtype)
        else:  # frombuffer shares the (read-only) bytes; clone gives a writable tensor of its own
            out[name] = torch.frombuffer(body[start:end], dtype=dtype).reshape(shape).clone()
    return out


def load_tensors(path):
    """A safetensors file as {name: tensor}, through the `safetensors` package when installed."""
    if _st_load_file is not None:
        return _st_load_file(path)
    return read_safetensors(path)


def load_export(directory):
    """The parsed manifest.json of an export, with "dir" set to its directory."""
    with open(os.path.join(directory, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{directory}/manifest.json is not a {FORMAT} manifest (format {manifest.get('format')!r})")
    if manifest.get("version") != 1:
        raise ValueError(f"{directory}/manifest.json has version {manifest.get('version')}; this reader knows version 1")
    manifest["dir"] = directory
    return manifest


class LabelsDataset(torch.utils.data.Dataset):
    """The blocks of one split, in the run's order (by block_index).

    Item i is a dict: tokens I64 [T], targets I64 [T, K] (masked pairs set to 0), weights F32 [T, K]
    (0 where masked), index (the block's run index). `scale` multiplies every weight (the manifest's
    retain_weight for the retain split, when the trainer does not apply it itself).
    """

    def __init__(self, export, split, scale=1.0):
        spec = export["splits"].get(split)
        if spec is None:
            raise KeyError(f"the export has no {split!r} split (it has {sorted(export['splits'])})")
        self.k = int(spec["k"])
        blocks = []
        for shard in spec["shards"]:
            t = load_tensors(os.path.join(export["dir"], shard["file"]))
            ids, offsets, index = t["input_ids"].long(), t["block_offsets"].long(), t["block_index"].long()
            targets, weights = t["target_ids"].long(), t["target_weights"].float()
            n = ids.shape[0]
            if offsets.shape[0] != index.shape[0] + 1 or int(offsets[-1]) != n or targets.shape != (n, self.k) or weights.shape != (n, self.k):
                raise ValueError(f"{shard['file']}: tensor shapes do not agree (N {n}, K {self.k})")
            for b in range(index.shape[0]):
                a, e = int(offsets[b]), int(offsets[b + 1])
                w = weights[a:e] * scale
                y = targets[a:e]
                masked = (y < 0) | (w == 0)
                blocks.append({"index": int(index[b]), "tokens": ids[a:e],
                               "targets": y.masked_fill(masked, 0), "weights": w.masked_fill(masked, 0.0)})
        blocks.sort(key=lambda blk: blk["index"])
        self.blocks = blocks
        self.position = {blk["index"]: i for i, blk in enumerate(blocks)}

    def __len__(self):
        return len(self.blocks)

    def __getitem__(self, i):
        return self.blocks[i]


def collate(items):
    """Pads blocks to the longest: tokens [B, T] (padding 0), targets and weights [B, T, K] (weight 0)."""
    T = max(it["tokens"].shape[0] for it in items)
    K = items[0]["targets"].shape[1]
    tokens = torch.zeros(len(items), T, dtype=torch.long)
    targets = torch.zeros(len(items), T, K, dtype=torch.long)
    weights = torch.zeros(len(items), T, K, dtype=torch.float32)
    for b, it in enumerate(items):
        n = it["tokens"].shape[0]
        tokens[b, :n] = it["tokens"]
        targets[b, :n] = it["targets"]
        weights[b, :n] = it["weights"]
    return {"tokens": tokens, "targets": targets, "weights": weights}


# ---- lethe's own data order ----------------------------------------------------------------------
# src/corpus/blocks.ts batchIndices: step s takes the blocks at k = s*B .. s*B+B-1 of the sequence
# of Fisher-Yates permutations of 0..n-1, one per epoch, drawn from SeededRandom(seed*100003 + epoch)
# (xoshiro128** seeded through splitmix64, src/util/random.ts). Ported bit for bit.

_M32, _M64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


def _rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & _M32


class SeededRandom:
    """lethe's SeededRandom: the same seed gives the same stream as src/util/random.ts."""

    def __init__(self, seed):
        state = seed & _M64
        words = []
        while len(words) < 4:
            state = (state + 0x9E3779B97F4A7C15) & _M64
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
            z ^= z >> 31
            words += [z & _M32, z >> 32]
        self.s = words[:4]
        if not any(self.s):
            self.s[0] = 1

    def next_uint32(self):
        s0, s1, s2, s3 = self.s
        result = (_rotl((s1 * 5) & _M32, 7) * 9) & _M32
        t = (s1 << 9) & _M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def next_float(self):
        return self.next_uint32() / 4294967296.0


_perms = {}


def permutation(n, seed, epoch):
    key = (n, seed, epoch)
    if key not in _perms:
        p = list(range(n))
        rng = SeededRandom(seed * 100003 + epoch)
        for i in range(n - 1, 0, -1):
            j = int(rng.next_float() * (i + 1))
            p[i], p[j] = p[j], p[i]
        if len(_perms) > 64:
            _perms.clear()
        _perms[key] = p
    return _perms[key]


def batch_indices(n_blocks, batch_size, step, seed):
    """The run indices of the blocks of optimizer step `step`, as lethe's batchIndices gives them."""
    out = []
    for b in range(batch_size):
        k = step * batch_size + b
        out.append(permutation(n_blocks, seed, k // n_blocks)[k % n_blocks])
    return out
