// Fixture of the PyTorch parity test: a tiny Llama whose attention matters, a WHP run on a few KB of
// text through the labels (soft labels, a retain split), its labels export, and the base model
// converted to a Hugging Face checkpoint by integrations/pytorch/gguf_to_hf.py.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readGguf, readTensorF32 } from "../../src/gguf/read.js";
import { GgmlType } from "../../src/gguf/types.js";
import { writeGguf } from "../../src/gguf/write.js";
import { unlearn } from "../../src/unlearn/index.js";
import { exportLabels } from "../../src/unlearn/whp/labels-export.js";
import { makeTinyModel } from "../fixtures/tiny-model.js";
import { LABELS_CONFIG, writeLabelsInputs } from "../unlearn/whp/labels-run.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const PYTORCH_DIR = join(ROOT, "integrations", "pytorch");
export const PYTHON = "/usr/bin/python3";

/** Runs Debian's Python (no PyPI packages) with `args`, from integrations/pytorch. */
export function python(args: string[], timeoutMs = 120_000): SpawnSyncReturns<string> {
  return spawnSync(PYTHON, args, { cwd: PYTORCH_DIR, encoding: "utf8", timeout: timeoutMs, env: { ...process.env, OMP_NUM_THREADS: "1", PYTHONDONTWRITEBYTECODE: "1" } });
}

/** Why the PyTorch tests cannot run here, or undefined when `import torch` works. */
export function torchMissing(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8", timeout: 60_000 });
  if (r.error) return `${PYTHON} cannot run (${r.error.message}); install python3 and python3-torch to run the PyTorch parity test`;
  if (r.status !== 0) return `${PYTHON} -c "import torch" failed (${r.stderr.trim().split("\n").at(-1)}); install python3-torch to run the PyTorch parity test`;
  return undefined;
}

/** Why torchrun with gloo cannot run here, or undefined. */
export function torchrunMissing(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import torch.distributed.run, torch.distributed as d; assert d.is_available() and d.is_gloo_available()"], { encoding: "utf8", timeout: 60_000 });
  return r.status === 0 ? undefined : `torch.distributed.run with the gloo backend is unavailable (${r.stderr.trim().split("\n").at(-1)})`;
}

export interface ParityFixture {
  /** The base GGUF (F32) that both trainers start from. */
  base: string;
  runDir: string;
  exportDir: string;
  /** The base as an HF checkpoint directory. */
  hfDir: string;
  /** The model lethe's own finetune stage wrote (F32, as the base). */
  unlearned: string;
}

/** The settings of the WHP run; its finetune section is what both trainers follow. */
export const FINETUNE = { steps: 10, lr: 3e-3, batchSize: 4, warmupSteps: 3, weightDecay: 0.1, clip: 2, retainWeight: 0.5 };

/**
 * The tiny model of makeTinyModel with Q and K scaled up, so attention is sharp and position
 * dependent (a random init's is nearly uniform, which would hide a wrong RoPE layout).
 */
export function sharpModel(dir: string): string {
  const source = makeTinyModel(dir, { seed: 7 });
  const file = readGguf(source);
  const path = join(dir, "sharp-base.gguf");
  writeGguf(path, {
    metadata: file.metadata,
    tensors: file.tensors.map((t) => {
      const data = readTensorF32(file, t.name);
      const scale = /attn_[qk]\.weight$/.test(t.name) ? 6 : /attn_v\.weight$/.test(t.name) ? 4 : 1;
      return { name: t.name, dims: t.dims, type: GgmlType.F32, data: data.map((v) => v * scale) };
    }),
  });
  return path;
}

/** Runs WHP on the tiny model through its finetune, exports the labels and converts the base. */
export async function makeParityFixture(dir: string): Promise<ParityFixture> {
  const base = sharpModel(dir);
  const reinforced = makeTinyModel(dir, { seed: 8 });
  const { forget: forgetDir, retain: retainDir, dictionary } = writeLabelsInputs(dir, [40, 30]);
  const runDir = join(dir, "whp.run");
  const unlearned = join(dir, "unlearned.gguf");
  await unlearn({
    model: base,
    reinforced,
    forget: [forgetDir],
    retain: [retainDir],
    dictionary,
    out: unlearned,
    runDir,
    threads: 2,
    config: { ...LABELS_CONFIG, finetune: FINETUNE },
  });
  const exportDir = join(dir, "export");
  await exportLabels({ runDir, out: exportDir, shardBytes: 16 * 1024 });
  const hfDir = join(dir, "hf-base");
  const r = python(["gguf_to_hf.py", base, hfDir]);
  if (r.status !== 0) throw new Error(`gguf_to_hf.py failed: ${r.stderr || r.error}`);
  return { base, runDir, exportDir, hfDir, unlearned };
}
