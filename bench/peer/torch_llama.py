"""PyTorch reference for bench/engine.ts: the same Llama model and batch, CPU, eager mode.

Prints one JSON line: {"train_tok_s": n, "infer_tok_s": n}, plus "train_bf16_tok_s" with "bf16": true
(training under torch.autocast to bfloat16, PyTorch's mixed precision, beside lethe's precision bf16).
Usage: python3 torch_llama.py '{"n_vocab":..,"n_embd":..,"n_layer":..,"n_head":..,"n_ff":..,"B":4,"T":256,"steps":5,"threads":2,"bf16":false}'
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, pos, base=10000.0):
    # x: (B, H, T, hd); rotates pairs (2i, 2i+1) as llama.cpp's NORM mode does.
    hd = x.shape[-1]
    inv = base ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    ang = pos[:, None].float() * inv[None, :]
    cos, sin = ang.cos(), ang.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.flatten(-2)


class Block(nn.Module):
    def __init__(self, c, h, ff):
        super().__init__()
        self.h = h
        self.attn_norm, self.ffn_norm = RMSNorm(c), RMSNorm(c)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(c, c, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(c, ff, bias=False), nn.Linear(c, ff, bias=False)
        self.down = nn.Linear(ff, c, bias=False)

    def forward(self, x, pos):
        B, T, C = x.shape
        h = self.attn_norm(x)
        q, k, v = (w(h).view(B, T, self.h, C // self.h).transpose(1, 2) for w in (self.wq, self.wk, self.wv))
        q, k = rope(q, pos), rope(k, pos)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(C // self.h)
        att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf")).softmax(-1)
        x = x + self.wo((att @ v).transpose(1, 2).reshape(B, T, C))
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.emb = nn.Embedding(cfg["n_vocab"], cfg["n_embd"])
        self.blocks = nn.ModuleList(Block(cfg["n_embd"], cfg["n_head"], cfg["n_ff"]) for _ in range(cfg["n_layer"]))
        self.norm = RMSNorm(cfg["n_embd"])
        self.out = nn.Linear(cfg["n_embd"], cfg["n_vocab"], bias=False)

    def forward(self, idx):
        pos = torch.arange(idx.shape[1])
        x = self.emb(idx)
        for b in self.blocks:
            x = b(x, pos)
        return self.out(self.norm(x))


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    model = Llama(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    B, T = cfg["B"], cfg["T"]
    x = torch.randint(0, cfg["n_vocab"], (B, T))
    y = torch.randint(0, cfg["n_vocab"], (B, T))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).view(-1, cfg["n_vocab"]).float(), y.view(-1))
        loss.backward()
        opt.step()

    def train_rate():
        step()  # warm-up
        t0 = time.perf_counter()
        for _ in range(cfg["steps"]):
            step()
        return B * T * cfg["steps"] / (time.perf_counter() - t0)

    train = train_rate()
    result = {"train_tok_s": train}
    if cfg.get("bf16"):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            result["train_bf16_tok_s"] = train_rate()

    with torch.no_grad():
        model(x)
        t0 = time.perf_counter()
        for _ in range(cfg["steps"]):
            model(x)
        infer = B * T * cfg["steps"] / (time.perf_counter() - t0)
    result["infer_tok_s"] = infer
    print(json.dumps(result))


if __name__ == "__main__":
    main()
