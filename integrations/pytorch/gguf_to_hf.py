"""Convert a lethe/llama.cpp Llama GGUF (F32 or F16 tensors) into a Hugging Face checkpoint directory.

    python3 gguf_to_hf.py base.gguf hf-base/

writes hf-base/config.json (LlamaForCausalLM) and hf-base/model.safetensors (F32, HF tensor names),
which `transformers.LlamaForCausalLM.from_pretrained` and train.py load. No tokenizer files are
written: lethe's exports already hold token ids.

Two layout facts matter:
- GGUF lists a tensor's dims innermost first (ne[0] is the row length), so a [ne0, ne1] matrix is
  the row-major torch tensor of shape (ne1, ne0), which is already nn.Linear's (out, in).
- llama.cpp's "normal" RoPE rotates adjacent pairs (2i, 2i+1) of each head, HF's Llama rotates the
  halves (i, i + head_dim/2) (rotate_half). llama.cpp's convert_hf_to_gguf.py permutes the rows of Q
  and K so that the same weights give the same model; this undoes that permutation.

The module also holds the few helpers the trainer shares: a stdlib GGUF reader, a safetensors
writer and `save_hf_checkpoint`.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

# ---- GGUF (v2/v3) ----------------------------------------------------------------------------------

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# ggml types this reader converts (the trainer works in F32 anyway)
_GGML = {0: ("F32", np.float32, 4), 1: ("F16", np.float16, 2)}
_GGML_BF16 = 30


class _Reader:
    def __init__(self, data, path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, fmt):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ValueError(f"{self.path}: truncated at byte {self.pos}")
        (v,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return v

    def string(self):
        n = self.take("<Q")
        if self.pos + n > len(self.data):
            raise ValueError(f"{self.path}: a string runs past the end of the file")
        s = bytes(self.data[self.pos:self.pos + n]).decode("utf-8")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype, n = self.take("<I"), self.take("<Q")
            return [self.value(itype) for _ in range(n)]
        if vtype not in _SCALARS:
            raise ValueError(f"{self.path}: unknown metadata value type {vtype}")
        return self.take(_SCALARS[vtype])


def read_gguf(path):
    """(metadata dict, {name: float32 torch tensor in torch's (ne[n-1], ..., ne[0]) shape})."""
    with open(path, "rb") as f:
        data = memoryview(f.read())
    r = _Reader(data, path)
    if bytes(data[:4]) != b"GGUF":
        raise ValueError(f"{path} is not a GGUF file")
    r.pos = 4
    version = r.take("<I")
    if version not in (2, 3):
        raise ValueError(f"{path}: GGUF version {version}; this reader knows 2 and 3")
    n_tensors, n_kv = r.take("<Q"), r.take("<Q")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.take("<Q") for _ in range(r.take("<I"))]
        infos.append((name, dims, r.take("<I"), r.take("<Q")))
    align = int(meta.get("general.alignment", 32))
    start = (r.pos + align - 1) // align * align
    tensors = {}
    for name, dims, gtype, offset in infos:
        count = int(np.prod(dims)) if dims else 1
        a = start + offset
        if gtype in _GGML:
            _, dtype, size = _GGML[gtype]
            if a + count * size > len(data):
                raise ValueError(f"{path}: tensor {name} runs past the end of the file")
            arr = np.frombuffer(data, dtype=dtype, count=count, offset=a).astype(np.float32)
        elif gtype == _GGML_BF16:
            raw = np.frombuffer(data, dtype=np.uint16, count=count, offset=a).astype(np.uint32) << 16
            arr = raw.view(np.float32)
        else:
            raise ValueError(f"{path}: tensor {name} has ggml type {gtype}; convert F32, F16 or BF16 models "
                             "(dequantize a quantized one first, e.g. llama-quantize --allow-requantize ... F16)")
        tensors[name] = torch.from_numpy(arr.copy()).reshape(list(reversed(dims)))
    return meta, tensors


# ---- safetensors and HF checkpoints -------------------------------------------------------------------

_ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32"}


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} as safetensors (sorted names, 8-byte aligned header), via a temp file."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def save_hf_checkpoint(out, config, state_dict):
    """config.json + model.safetensors (F32) in `out`; a tied lm_head is left out, as HF does."""
    os.makedirs(out, exist_ok=True)
    sd = {k: v.float() for k, v in state_dict.items()}
    if config.get("tie_word_embeddings"):
        sd.pop("lm_head.weight", None)
    write_safetensors(os.path.join(out, "model.safetensors"), sd, {"format": "pt"})
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


# ---- GGUF -> HF -----------------------------------------------------------------------------------------

def unpermute_rope(w, n_head):
    """Inverse of convert_hf_to_gguf's permute(w, n_head): adjacent RoPE pairs back to halves."""
    out_dim = w.shape[0]
    hd = out_dim // n_head
    return w.reshape(n_head, hd // 2, 2, *w.shape[1:]).transpose(1, 2).reshape(w.shape)


def permute_rope(w, n_head):
    """convert_hf_to_gguf's permute: HF halves to llama.cpp's adjacent pairs."""
    hd = w.shape[0] // n_head
    return w.reshape(n_head, 2, hd // 2, *w.shape[1:]).transpose(1, 2).reshape(w.shape)


_PER_LAYER = {
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}


def _f32(x):
    """The shortest decimal of a GGUF float32 (1e-05, not 9.99999974737875e-06)."""
    return float(str(np.float32(x)))


def gguf_to_hf(meta, tensors):
    """(config dict, HF state dict) of a Llama GGUF's metadata and tensors."""
    arch = meta.get("general.architecture")
    if arch != "llama":
        raise ValueError(f'the model is a "{arch}" model; this converter handles "llama"')

    def key(k, default=None):
        v = meta.get(f"llama.{k}", default)
        if v is None:
            raise ValueError(f"the model has no llama.{k} metadata")
        return v

    n_embd, n_layer, n_head = key("embedding_length"), key("block_count"), key("attention.head_count")
    n_head_kv = key("attention.head_count_kv", n_head)
    head_dim = n_embd // n_head
    if key("attention.key_length", head_dim) != head_dim or key("rope.dimension_count", head_dim) != head_dim:
        raise ValueError("attention.key_length / rope.dimension_count other than n_embd / n_head are not supported")
    if "rope_freqs.weight" in tensors or meta.get("llama.rope.scaling.type", "none") not in ("none",):
        raise ValueError("RoPE scaling (rope_freqs.weight, llama.rope.scaling.*) is not supported")
    embd = tensors["token_embd.weight"]
    tied = "output.weight" not in tensors
    sd = {"model.embed_tokens.weight": embd, "model.norm.weight": tensors["output_norm.weight"]}
    sd["lm_head.weight"] = embd if tied else tensors["output.weight"]
    for n in range(n_layer):
        for g, h in _PER_LAYER.items():
            name = f"blk.{n}.{g}.weight"
            if name not in tensors:
                raise ValueError(f"the model has no tensor {name}")
            w = tensors[name]
            if g == "attn_q":
                w = unpermute_rope(w, n_head)
            elif g == "attn_k":
                w = unpermute_rope(w, n_head_kv)
            sd[f"model.layers.{n}.{h}.weight"] = w
    known = {"token_embd.weight", "output.weight", "output_norm.weight"} | {f"blk.{n}.{g}.weight" for n in range(n_layer) for g in _PER_LAYER}
    extra = sorted(set(tensors) - known)
    if extra:
        raise ValueError(f"tensors outside the plain Llama graph are not supported: {', '.join(extra[:5])}")
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": int(embd.shape[0]),
        "hidden_size": int(n_embd),
        "intermediate_size": int(key("feed_forward_length")),
        "num_hidden_layers": int(n_layer),
        "num_attention_heads": int(n_head),
        "num_key_value_heads": int(n_head_kv),
        "head_dim": int(head_dim),
        "max_position_embeddings": int(key("context_length")),
        "rms_norm_eps": _f32(key("attention.layer_norm_rms_epsilon")),
        "rope_theta": _f32(key("rope.freq_base", 10000.0)),
        "rope_scaling": None,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": tied,
        "torch_dtype": "float32",
        "initializer_range": 0.02,
        "use_cache": True,
    }
    if "tokenizer.ggml.bos_token_id" in meta:
        config["bos_token_id"] = int(meta["tokenizer.ggml.bos_token_id"])
    if "tokenizer.ggml.eos_token_id" in meta:
        config["eos_token_id"] = int(meta["tokenizer.ggml.eos_token_id"])
    return config, sd


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("gguf", help="a Llama GGUF with F32, F16 or BF16 tensors")
    p.add_argument("out", help="the HF checkpoint directory to write")
    a = p.parse_args(argv)
    try:
        config, sd = gguf_to_hf(*read_gguf(a.gguf))
    except (ValueError, KeyError) as e:
        print(f"gguf_to_hf: {a.gguf}: {e}", file=sys.stderr)
        return 1
    save_hf_checkpoint(a.out, config, sd)
    print(json.dumps({"out": a.out, "tensors": len(sd), "tied": config["tie_word_embeddings"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
