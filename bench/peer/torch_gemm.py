"""PyTorch's GEMM rate for bench/engine.ts's peak: the best of n x n x n products, in fp32 and, with
"bf16": true, in bfloat16 (for the peak that mixed-precision training is measured against).

Prints one JSON line: {"gflops": x} (plus "bf16_gflops": y).
Usage: python3 torch_gemm.py '{"threads": 2, "bf16": false}'
"""
import json
import sys
import time

import torch

cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg["threads"])


def peak(dtype):
    best = 0.0
    for n, iters in ((1024, 10), (2048, 3)):
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        a @ b
        t = time.perf_counter()
        for _ in range(iters):
            a @ b
        best = max(best, 2 * n**3 * iters / (time.perf_counter() - t) / 1e9)
    return best


result = {"gflops": peak(torch.float32)}
if cfg.get("bf16"):
    result["bf16_gflops"] = peak(torch.bfloat16)
print(json.dumps(result))
