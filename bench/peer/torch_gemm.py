"""PyTorch's fp32 GEMM rate for bench/engine.ts's peak: the best of n x n x n products.

Prints one JSON line: {"gflops": x}.
Usage: python3 torch_gemm.py '{"threads": 2}'
"""
import json
import sys
import time

import torch

cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg["threads"])
best = 0.0
for n, iters in ((1024, 10), (2048, 3)):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(iters):
        a @ b
    best = max(best, 2 * n**3 * iters / (time.perf_counter() - t) / 1e9)
print(json.dumps({"gflops": best}))
