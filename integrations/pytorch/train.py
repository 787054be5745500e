"""lethe's WHP fine-tune in plain PyTorch: a reference trainer for `lethe labels export` datasets.

    python3 gguf_to_hf.py base.gguf hf-base/
    python3 train.py labels-dir/ --model hf-base/ --out hf-unlearned/ --log losses.jsonl
    torchrun --nproc_per_node 8 train.py labels-dir/ --model hf-base/ --out hf-unlearned/

It trains a Hugging Face Llama checkpoint (transformers' LlamaForCausalLM when installed, else the
small HF-compatible Llama below) towards the exported labels with lethe's loss, learning-rate
schedule and optimizer, so that with the same data order it takes the steps lethe's `finetune` stage
takes (the parity test test/integrations/pytorch-parity.test.ts checks 10 steps to 1e-4):

- loss (docs/labels-export.md): for one optimizer step over forget blocks F and retain blocks R,
      ( sum_F w * -log softmax(z_t)[y] + rho * sum_R w * -log softmax(z_t)[y] ) / ( sum_F |w| + rho * sum_R |w| )
  over every position t and each of its K (y, w) pairs; the normaliser is over the whole step (all
  micro-batches, all ranks), rho is the manifest's retain_weight.
- schedule (src/engine/schedule.ts cosineSchedule, src/unlearn/train-loop.ts): step s (0-based) of
  `steps` with W = min(warmup_steps, steps) warmup steps: lr * (s + 1) / W while s < W, then a half
  cosine from lr down to lr / 10 at s = steps.
- AdamW (native/trainer-core.cc TrainerCore::Update): the global gradient norm over every trained
  tensor, gradients scaled by clip / norm only when norm > clip (clip 0: never); bias-corrected
  moments, eps after the square root, decoupled weight decay on tensors of 2 or more dims only;
  beta1 0.9, beta2 0.95 (lethe's Trainer defaults), eps 1e-8.
- what trains: every tensor (norms included); train_embeddings false freezes the token embedding
  (and with it a tied output head); with --lora-rank only the LoRA pairs train, merged on save.
- a step whose weights are all 0 is skipped (no update), as lethe skips it.

Data order (--order): "lethe" replays lethe's own order (the export's schedule.json when it has one,
else src/corpus/blocks.ts batchIndices with the manifest's seed, ported bit for bit), "sequential"
takes blocks in run order, and "shuffle" (the default) a seeded DistributedSampler.

Under torchrun (WORLD_SIZE > 1) the process group comes from the environment: NCCL and FSDP on CUDA,
gloo and DDP on CPU (torch 1.13's FSDP needs CUDA). Each rank takes its share of every step's blocks
and the normaliser is all-reduced, so the losses equal the single-process ones.
"""
import argparse
import contextlib
import functools
import json
import math
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_to_hf import save_hf_checkpoint  # noqa: E402
from lethe_labels import LabelsDataset, batch_indices, collate, load_export, load_tensors  # noqa: E402

# ---- the model: HF Llama parameter names, rotate_half RoPE ------------------------------------------


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, self.n_head, self.n_kv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.hd = cfg.get("head_dim") or c // self.n_head
        self.q_proj = nn.Linear(c, self.n_head * self.hd, bias=False)
        self.k_proj = nn.Linear(c, self.n_kv * self.hd, bias=False)
        self.v_proj = nn.Linear(c, self.n_kv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.n_head * self.hd, c, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_head, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        r = self.n_head // self.n_kv  # GQA: query head h reads kv head h // r
        k, v = k.repeat_interleave(r, dim=1), v.repeat_interleave(r, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
        y = att.softmax(-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.n_head * self.hd))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, f = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj, self.up_proj, self.down_proj = nn.Linear(c, f, bias=False), nn.Linear(c, f, bias=False), nn.Linear(f, c, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        hd = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
        inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, idx):
        ang = torch.arange(idx.shape[1], dtype=torch.float64, device=idx.device)[:, None] * self.inv_freq[None, :]
        ang = torch.cat((ang, ang), dim=-1)
        cos, sin = ang.cos().float(), ang.sin().float()
        x = self.embed_tokens(idx)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    """A plain Llama with transformers' parameter names; returns logits [B, T, V]."""

    def __init__(self, cfg):
        super().__init__()
        self.config = cfg
        self.model = LlamaModel(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        if cfg.get("tie_word_embeddings"):
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, idx):
        return self.lm_head(self.model(idx))


def load_model(path, builtin=False):
    """(model, config dict) of an HF Llama checkpoint directory, in F32."""
    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    if not builtin:
        try:
            import transformers
        except ImportError:
            transformers = None
        if transformers is not None:
            model = transformers.LlamaForCausalLM.from_pretrained(path, torch_dtype=torch.float32)
            model.config.use_cache = False
            return model, cfg
    model = LlamaForCausalLM(cfg)
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    sd = {}
    for name in files:
        sd.update(load_tensors(os.path.join(path, name)))
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=False)
    missing = [m for m in missing if not (m == "lm_head.weight" and cfg.get("tie_word_embeddings"))]
    if missing or unexpected:
        raise ValueError(f"{path}: missing tensors {missing[:5]}, unexpected {unexpected[:5]}")
    return model, cfg


def logits_of(model, tokens, builtin):
    """Logits [B, T, V] of the built-in model or of transformers' (possibly wrapped in DDP/FSDP)."""
    return model(tokens) if builtin else model(input_ids=tokens, use_cache=False).logits


# ---- LoRA --------------------------------------------------------------------------------------------

LORA_NAMES = {"attn_q": "q_proj", "attn_k": "k_proj", "attn_v": "v_proj", "attn_output": "o_proj",
              "ffn_gate": "gate_proj", "ffn_up": "up_proj", "ffn_down": "down_proj"}


class LoraLinear(nn.Module):
    """W x + (alpha / r) B A x, with A from PEFT's Kaiming-uniform start and B = 0 (lethe's start)."""

    def __init__(self, base, rank, alpha, generator):
        super().__init__()
        self.base, self.scale = base, alpha / rank
        base.weight.requires_grad_(False)
        n_out, n_in = base.weight.shape
        bound = 1.0 / math.sqrt(n_in)
        self.lora_a = nn.Parameter(torch.empty(rank, n_in).uniform_(-bound, bound, generator=generator))
        self.lora_b = nn.Parameter(torch.zeros(n_out, rank))

    def forward(self, x):
        return self.base(x) + (x @ self.lora_a.t() @ self.lora_b.t()) * self.scale


def add_lora(model, rank, alpha, targets, seed):
    names = {LORA_NAMES.get(t, t) for t in targets}
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.requires_grad_(False)
    for module in list(model.modules()):
        for cname, child in list(module.named_children()):
            if cname in names and isinstance(child, nn.Linear):
                setattr(module, cname, LoraLinear(child, rank, alpha, g))


def merge_lora(sd, scale):
    """A state dict with every LoRA pair merged into its weight: W + scale * B A, HF names."""
    out = {}
    for k, v in sd.items():
        if k.endswith(".lora_a") or k.endswith(".lora_b"):
            continue
        if k.endswith(".base.weight"):
            stem = k[: -len(".base.weight")]
            v, k = v + scale * (sd[stem + ".lora_b"] @ sd[stem + ".lora_a"]), stem + ".weight"
        out[k] = v
    return out


# ---- lethe's schedule and optimizer --------------------------------------------------------------------


def cosine_lr(step, lr, warmup, steps):
    """src/engine/schedule.ts cosineSchedule with min lr = lr / 10 (warmup already min(warmup, steps))."""
    min_lr = lr / 10
    if step < warmup:
        return lr * (step + 1) / warmup
    if step >= steps:
        return min_lr
    progress = (step - warmup) / max(1, steps - warmup)
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (lr - min_lr)


class LetheAdamW:
    """native/trainer-core.cc TrainerCore::Update, over the trained tensors."""

    def __init__(self, params, decay, beta1, beta2, eps, sharded=False):
        self.params, self.decay = params, decay
        self.beta1, self.beta2, self.eps, self.sharded = beta1, beta2, eps, sharded
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    @torch.no_grad()
    def grad_norm(self):
        sq = torch.zeros((), dtype=torch.float64, device=self.params[0].device)
        for p in self.params:
            if p.grad is not None:
                sq += p.grad.double().pow(2).sum()
        if self.sharded:  # FSDP: each rank holds a shard of every gradient
            dist.all_reduce(sq)
        return float(torch.sqrt(sq).float())

    @torch.no_grad()
    def update(self, lr, weight_decay, clip, norm):
        f32 = lambda x: float(torch.tensor(x, dtype=torch.float32))  # noqa: E731 - lethe's options are floats
        lr, b1, b2, eps, wd_all = f32(lr), f32(self.beta1), f32(self.beta2), f32(self.eps), f32(weight_decay)
        scale = f32(clip / norm) if clip > 0 and norm > clip else 1.0
        self.t += 1
        bc1, bc2 = f32(1 - f32(b1 ** self.t)), f32(1 - f32(b2 ** self.t))
        for p, m, v, decay in zip(self.params, self.m, self.v, self.decay):
            g = p.grad * scale if p.grad is not None else torch.zeros_like(p)
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).add_(g * g, alpha=1 - b2)
            wd = wd_all if decay else 0.0
            p.sub_(lr * ((m / bc1) / ((v / bc2).sqrt() + eps) + wd * p))


# ---- the data order ---------------------------------------------------------------------------------------


def step_blocks(ds, split, order, step, batch_size, seed, schedule, world, rank, run_blocks):
    """Dataset positions this rank takes for `split` at `step` (the step's blocks rank::world)."""
    n = len(ds)
    if order == "shuffle":  # this rank's own stream of a seeded DistributedSampler, epoch after epoch
        per = batch_size // world
        return [_sampled(n, seed, k // _epoch_len(n, world), world, rank)[k % _epoch_len(n, world)] for k in range(step * per, (step + 1) * per)]
    if order == "lethe" and schedule is not None and step < len(schedule.get(split, [])):
        run = schedule[split][step]
    elif order == "lethe":
        if run_blocks is None:
            raise SystemExit(f"train.py: --order lethe past the export's schedule.json needs the {split} split's block count in the run "
                             f"(manifest splits.{split}.run_blocks); keep the manifest's batch size, seed and steps, or use --order sequential")
        run = batch_indices(run_blocks, batch_size, step, seed)
    else:
        run = [ds.blocks[(step * batch_size + b) % n]["index"] for b in range(batch_size)]
    missing = [i for i in run if i not in ds.position]
    if missing:
        raise SystemExit(f"train.py: step {step} of the {split} split needs run blocks {missing[:5]} that the export does not hold; "
                         "export a schedule.json or use --order sequential")
    return [ds.position[i] for i in run][rank::world]


def _epoch_len(n, world):
    return math.ceil(n / world)


@functools.lru_cache(maxsize=8)
def _sampled(n, seed, epoch, world, rank):
    sampler = torch.utils.data.DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return list(sampler)


def load_schedule(export):
    """The export's per-step block order: schedule.json {"forget": [[run index, ...] per step], "retain": [...]}."""
    spec = export.get("schedule")
    path = os.path.join(export["dir"], spec if isinstance(spec, str) else "schedule.json")
    if isinstance(spec, dict):
        return spec
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return None


# ---- the trainer --------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="lethe's WHP fine-tune on an exported labels dataset (see the module docstring).")
    p.add_argument("export", help="directory written by `lethe labels export`")
    p.add_argument("--model", required=True, help="HF Llama checkpoint directory (gguf_to_hf.py writes one)")
    p.add_argument("--out", help="write the trained model here as an HF checkpoint directory")
    p.add_argument("--log", help="append one JSON line per step: step, loss, lr, grad_norm, skipped")
    p.add_argument("--order", choices=["shuffle", "sequential", "lethe"], default="shuffle")
    for flag, typ in [("steps", int), ("lr", float), ("batch-size", int), ("warmup-steps", int), ("weight-decay", float),
                      ("clip", float), ("retain-weight", float), ("seed", int)]:
        p.add_argument(f"--{flag}", type=typ, help="default: the manifest's finetune section")
    p.add_argument("--beta1", type=float, help="default: the manifest's, else 0.9")
    p.add_argument("--beta2", type=float, help="default: the manifest's, else 0.95 (lethe's Trainer default)")
    p.add_argument("--eps", type=float, help="default: the manifest's, else 1e-8")
    p.add_argument("--train-embeddings", choices=["true", "false"], help="default: the manifest's")
    p.add_argument("--lora-rank", type=int, default=0, help="train LoRA pairs of this rank instead of the weights (merged on save)")
    p.add_argument("--lora-alpha", type=float, help="default 2 x rank")
    p.add_argument("--lora-targets", default=",".join(LORA_NAMES), help="comma-separated: attn_q, ..., ffn_down (or q_proj, ...)")
    p.add_argument("--micro-batch", type=int, default=0, help="blocks per forward pass (gradient accumulation); 0: a split's blocks at once")
    p.add_argument("--builtin-model", action="store_true", help="use the built-in Llama even when transformers is installed")
    p.add_argument("--threads", type=int, help="CPU threads per process")
    return p.parse_args(argv)


def setup_distributed():
    """(world, rank, device, backend or None) from torchrun's environment."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world == 1:
        return world, rank, device, None
    backend = "nccl" if cuda else "gloo"
    dist.init_process_group(backend=backend)
    return world, rank, device, backend


def main(argv=None):
    a = parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    world, rank, device, backend = setup_distributed()
    export = load_export(a.export)
    ft = export.get("finetune", {})

    def setting(name, key, default=None):
        v = getattr(a, name)
        return v if v is not None else ft.get(key, default)

    steps, lr, bs = setting("steps", "steps"), setting("lr", "lr"), setting("batch_size", "batch_size")
    warmup = min(setting("warmup_steps", "warmup_steps", 0), steps)
    wd, clip, rho = setting("weight_decay", "weight_decay", 0.0), setting("clip", "clip", 1.0), setting("retain_weight", "retain_weight", 0.0)
    seed = setting("seed", "seed", 1)
    betas = (setting("beta1", "beta1", 0.9), setting("beta2", "beta2", 0.95), setting("eps", "eps", 1e-8))
    train_embd = (a.train_embeddings == "true") if a.train_embeddings else ft.get("train_embeddings", True)
    if a.order == "shuffle" and bs % world:
        raise SystemExit(f"train.py: --order shuffle needs the batch size ({bs}) divisible by the {world} processes")

    forget = LabelsDataset(export, "forget")
    retain = LabelsDataset(export, "retain") if rho > 0 and "retain" in export["splits"] else None
    # The export's schedule is lethe's order for the manifest's batch size and seed; other settings
    # draw lethe's order afresh (exact for forget; for retain only while the blocks drawn were exported).
    same = (bs, seed) == (ft.get("batch_size"), ft.get("seed"))
    schedule = load_schedule(export) if a.order == "lethe" and same else None
    # How many blocks each split has in the run, for batch_indices: the export holds every forget block
    # but only the retain blocks the fine-tune visits.
    run_blocks = {s: spec.get("run_blocks", spec["blocks"] if s == "forget" else None) for s, spec in export["splits"].items()}

    if a.order == "lethe":  # fail now rather than at the first step past the schedule
        for split, ds in (("forget", forget), ("retain", retain)):
            if ds is not None and run_blocks[split] is None and steps > len((schedule or {}).get(split, [])):
                step_blocks(ds, split, "lethe", steps - 1, bs, seed, None, world, rank, None)

    model, cfg = load_model(a.model, builtin=a.builtin_model)
    builtin = isinstance(model, LlamaForCausalLM)
    if a.lora_rank > 0:
        add_lora(model, a.lora_rank, a.lora_alpha or 2 * a.lora_rank, [t for t in a.lora_targets.split(",") if t], seed)
    elif not train_embd:
        emb = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else model.model.embed_tokens
        emb.weight.requires_grad_(False)  # a tied lm_head is this tensor, so it is frozen too
    model.to(device)
    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p.dim() >= 2 for _, p in trained]  # recorded before FSDP flattens anything
    sharded = False
    if backend == "nccl":
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP  # imported only where it works

        model = FSDP(model, use_orig_params=True, device_id=device)
        sharded = True
        by_name = {n.replace("_fsdp_wrapped_module.", "").replace("_checkpoint_wrapped_module.", ""): p for n, p in model.named_parameters()}
        params = [by_name[n] for n, _ in trained]
    elif backend == "gloo":
        model = nn.parallel.DistributedDataParallel(model)
        params = [p for _, p in trained]
    else:
        params = [p for _, p in trained]
    opt = LetheAdamW(params, decay, *betas, sharded=sharded)

    log = open(a.log, "a", encoding="utf-8") if a.log and rank == 0 else None
    model.train()
    for step in range(steps):
        t0 = time.time()
        parts = [(forget, "forget", 1.0)] + ([(retain, "retain", rho)] if retain is not None else [])
        micro = []
        for ds, split, scale in parts:
            sseed = seed + (1 if split == "retain" else 0)  # lethe draws retain blocks with seed + 1
            pos = step_blocks(ds, split, a.order, step, bs, sseed, schedule, world, rank, run_blocks[split])
            chunk = a.micro_batch or max(1, len(pos))
            for i in range(0, len(pos), chunk):
                micro.append((collate([ds[j] for j in pos[i:i + chunk]]), scale))
        norm = torch.tensor(sum(float(b["weights"].abs().sum()) * s for b, s in micro), dtype=torch.float64, device=device)
        if world > 1:
            dist.all_reduce(norm)
        norm = float(norm)
        rate = cosine_lr(step, lr, warmup, steps)
        if norm == 0:
            record = {"step": step + 1, "loss": 0.0, "lr": rate, "grad_norm": 0.0, "skipped": True}
        else:
            if not micro:  # a rank with no blocks this step still joins the gradient all-reduce
                micro.append((collate([forget[0]]), 0.0))
            local = torch.zeros((), dtype=torch.float64, device=device)
            for i, (b, scale) in enumerate(micro):
                sync = i == len(micro) - 1 or backend is None
                with (contextlib.nullcontext() if sync else model.no_sync()):
                    logp = F.log_softmax(logits_of(model, b["tokens"].to(device), builtin).float(), dim=-1)
                    picked = logp.gather(-1, b["targets"].to(device))
                    nll = -(picked * (b["weights"].to(device) * scale)).sum() / norm
                    # DDP and FSDP average gradients over ranks; the loss is a sum over them.
                    (nll * world).backward()
                local += nll.detach().double()
            if world > 1:
                dist.all_reduce(local)
            gn = opt.grad_norm()
            opt.update(rate, wd, clip, gn)
            for p in params:
                p.grad = None
            record = {"step": step + 1, "loss": float(local), "lr": rate, "grad_norm": gn, "skipped": False}
        record["seconds"] = round(time.time() - t0, 3)
        if rank == 0:
            print(json.dumps(record), flush=True)
            if log:
                log.write(json.dumps(record) + "\n")
                log.flush()

    if a.out:
        if sharded:
            from torch.distributed.fsdp import FullStateDictConfig, StateDictType

            with FSDP.state_dict_type(model, StateDictType.FULL_STATE_DICT, FullStateDictConfig(offload_to_cpu=True, rank0_only=True)):
                sd = model.state_dict()
        else:
            sd = (model.module if backend == "gloo" else model).state_dict()
        if rank == 0:
            if a.lora_rank > 0:
                sd = merge_lora(sd, (a.lora_alpha or 2 * a.lora_rank) / a.lora_rank)
            save_hf_checkpoint(a.out, cfg, {k: v.cpu() for k, v in sd.items()})
    if log:
        log.close()
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()



if __name__ == "__main__":
    main()
