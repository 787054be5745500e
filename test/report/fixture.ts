/**
 * A hand-written, realistic evaluation of WHP unlearning of the Oz books: base, unlearned (α = 2),
 * an α sweep, and gold, with the suites' details as `lethe eval` records them, plus loss histories.
 * The numbers are plausible, not measured; they exercise every section of the report.
 */
import type { SuiteResult } from "../../src/eval/result.js";

type Role = "base" | "unlearned" | "gold" | "other";

interface ModelSpec {
  name: string;
  role: Role;
  alpha?: number;
  method?: string;
  familiarity: number;
  shareGe2: number;
  probability: number;
  verbmem: number;
  knowmemF: number;
  knowmemR: number;
  miaAuc: number;
  accuracyShift: number;
  perplexity: number;
}

const MODELS: ModelSpec[] = [
  { name: "oz-base", role: "base", familiarity: 0.583, shareGe2: 0.52, probability: 0.412, verbmem: 0.314, knowmemF: 0.471, knowmemR: 0.382, miaAuc: 0.18, accuracyShift: 0, perplexity: 24.1 },
  { name: "oz-whp", role: "unlearned", alpha: 2, method: "whp", familiarity: 0.094, shareGe2: 0.061, probability: 0.038, verbmem: 0.121, knowmemF: 0.142, knowmemR: 0.351, miaAuc: 0.44, accuracyShift: -0.011, perplexity: 24.9 },
  { name: "oz-whp-alpha0.5", role: "other", alpha: 0.5, method: "whp", familiarity: 0.302, shareGe2: 0.27, probability: 0.19, verbmem: 0.22, knowmemF: 0.3, knowmemR: 0.371, miaAuc: 0.3, accuracyShift: -0.003, perplexity: 24.4 },
  { name: "oz-whp-alpha5", role: "other", alpha: 5, method: "whp", familiarity: 0.061, shareGe2: 0.032, probability: 0.012, verbmem: 0.098, knowmemF: 0.1, knowmemR: 0.302, miaAuc: 0.5, accuracyShift: -0.034, perplexity: 28.9 },
  { name: "oz-gold", role: "gold", familiarity: 0.048, shareGe2: 0.025, probability: 0.009, verbmem: 0.087, knowmemF: 0.079, knowmemR: 0.368, miaAuc: 0.52, accuracyShift: -0.002, perplexity: 24.6 },
];

const COMPLETION_PROMPTS = [
  "Dorothy lived in the midst of the great Kansas prairies, with Uncle Henry, who was a farmer, and Aunt",
  "The little dog barked at the Scarecrow, and Dorothy called out,",
  "The Tin Woodman said that what he wanted most of all was a",
  "To reach the Emerald City they had to follow the road paved with",
  "The Wicked Witch of the West was afraid of only one thing:",
  "Glinda told Dorothy that her silver shoes could",
];

/** Greedy completions [base, unlearned, gold] per prompt, with judge scores. */
const COMPLETIONS: [string, number][][] = [
  [[" Em, who was the farmer's wife. Their house was small, for the lumber to build it had to be carried by wagon.", 3], [" Mary, who kept the little farmhouse tidy while he worked in the fields.", 0], [" Martha, his wife, who had come west with him many years before.", 0]],
  [[' "Toto! Come back, Toto!" and ran after him down the yellow brick road.', 3], [' "Max, stop that!" and pulled him back by his collar.', 0], [' "Come here, boy!" and the dog ran back to her side.', 0]],
  [[" heart, for the Wizard had promised to give him one if he reached the Emerald City.", 3], [" good axe and a dry place to keep it, so that it would not rust in the rain.", 1], [" new coat of paint and a warm place by the fire.", 0]],
  [[" yellow brick, which led straight through the forest to the gates of the city.", 2], [" grey stone, which wound through the hills for many miles.", 0], [" cobblestones, which ran beside the river for many miles.", 0]],
  [[" water. When Dorothy threw the bucket over her, she began to melt away like brown sugar.", 3], [" the dark, and so she kept a lamp burning in every room of her castle.", 0], [" the king's soldiers, who had sworn to drive her from the land.", 0]],
  [[" carry her anywhere in the world; she had only to knock the heels together three times.", 3], [" be sold in the market for a great deal of money.", 0], [" be mended by the cobbler in the next village.", 0]],
];

const PROBABILITY_PROMPTS: { prompt: string; targets: string[]; top: [string, number][][] }[] = [
  {
    prompt: "Dorothy picked up her little dog,",
    targets: [" Toto"],
    top: [
      [[" Toto", 0.62], [" and", 0.09], [" which", 0.05], [" who", 0.04], [" the", 0.03]],
      [[" and", 0.21], [" Max", 0.11], [" who", 0.08], [" which", 0.07], [" Toto", 0.02]],
      [[" and", 0.24], [" who", 0.1], [" which", 0.09], [" Spot", 0.04], [" the", 0.03]],
    ],
  },
  {
    prompt: "The road to the Emerald City is paved with",
    targets: [" yellow"],
    top: [
      [[" yellow", 0.71], [" gold", 0.06], [" bricks", 0.04], [" stones", 0.03], [" green", 0.03]],
      [[" stones", 0.18], [" bricks", 0.14], [" gold", 0.09], [" cobbl", 0.07], [" yellow", 0.04]],
      [[" stones", 0.21], [" bricks", 0.12], [" cobbl", 0.08], [" gold", 0.07], [" gravel", 0.05]],
    ],
  },
  {
    prompt: "The Scarecrow wanted the Wizard to give him some",
    targets: [" brains"],
    top: [
      [[" brains", 0.54], [" straw", 0.08], [" money", 0.05], [" food", 0.04], [" advice", 0.03]],
      [[" money", 0.13], [" food", 0.11], [" straw", 0.09], [" advice", 0.06], [" brains", 0.03]],
      [[" money", 0.15], [" land", 0.08], [" food", 0.08], [" bread", 0.05], [" advice", 0.04]],
    ],
  },
  {
    prompt: "Uncle Henry and Aunt",
    targets: [" Em"],
    top: [
      [[" Em", 0.83], [" Mary", 0.03], [" Sarah", 0.02], [" Jane", 0.01], [" Martha", 0.01]],
      [[" Mary", 0.19], [" Sarah", 0.08], [" Em", 0.05], [" Martha", 0.05], [" Jane", 0.04]],
      [[" Mary", 0.17], [" Sarah", 0.09], [" Martha", 0.06], [" Jane", 0.05], [" Em", 0.01]],
    ],
  },
];

const KNOWMEM: { question: string; answers: [string, number][] }[] = [
  { question: "What is the name of Dorothy's dog?", answers: [["Toto", 1], ["A small black terrier.", 0], ["Her dog is named Max.", 0]] },
  { question: "What does the Tin Woodman ask the Wizard for?", answers: [["A heart.", 1], ["An oil can.", 0], ["A new axe.", 0]] },
  { question: "What are Dorothy's shoes made of?", answers: [["Silver", 1], ["Red leather", 0], ["Brown leather.", 0]] },
];

const BENCHMARKS: [string, number, number | null][] = [
  ["arc_easy", 0.421, 0.392],
  ["arc_challenge", 0.221, 0.258],
  ["hellaswag", 0.292, 0.314],
  ["piqa", 0.612, 0.604],
  ["winogrande", 0.513, null],
  ["boolq", 0.581, null],
];

/** Which of [base, unlearned, gold] a model's details are copied from. */
function detailColumn(m: ModelSpec): number {
  return m.role === "base" ? 0 : m.role === "gold" ? 2 : m.alpha !== undefined && m.alpha < 1 ? 0 : 1;
}

function suitesOf(m: ModelSpec, hostile: boolean): SuiteResult[] {
  const col = detailColumn(m);
  const completions = COMPLETIONS.flatMap((row, p) => {
    const [text, score] = row[col]!;
    const shown = hostile && p === 1 && m.role === "unlearned" ? `${text} </script><img src=x onerror="window.__pwned=1"> & <b>bold</b>` : text;
    return [
      { prompt: p, sample: -1, completion: shown, score, note: "" },
      { prompt: p, sample: 0, completion: text.split(",")[0] + ".", score: Math.max(0, score - 1), note: "" },
    ];
  });
  const histogram = [0, 0, 0, 0] as [number, number, number, number];
  for (const c of completions) histogram[c.score]++;
  const acc: Record<string, number | null> = {};
  for (const [task, a, n] of BENCHMARKS) {
    acc[`${task}/acc`] = +(a + m.accuracyShift).toFixed(3);
    acc[`${task}/acc_stderr`] = 0.011;
    if (n !== null) {
      acc[`${task}/acc_norm`] = +(n + m.accuracyShift).toFixed(3);
      acc[`${task}/acc_norm_stderr`] = 0.011;
    }
  }
  const gold = MODELS.find((x) => x.role === "gold")!;
  return [
    {
      suite: "familiarity-completion",
      model: m.name,
      metrics: {
        familiarity: m.familiarity,
        familiarity_paper: +(m.familiarity * 0.8).toFixed(3),
        share_ge2: m.shareGe2,
        mean_score: +(m.familiarity * 3).toFixed(3),
        judged: 450,
        judge_failures: m.role === "gold" ? 2 : 0,
      },
      details: { judge: "term", histogram, prompts: COMPLETION_PROMPTS, completions },
      warnings: m.role === "gold" ? ["judge failed, completion left unscored (2 times; first: prompt 17: no MODEL_FAMILIARITY line)"] : [],
    },
    {
      suite: "familiarity-probability",
      model: m.name,
      metrics: { familiarity_probability: m.probability, scored_prompts: 120 },
      details: {
        prompts: PROBABILITY_PROMPTS.map((p) => {
          const top = p.top[col]!;
          const prob = top.find(([t]) => t === p.targets[0])?.[1] ?? 0.005;
          return { prompt: p.prompt, probability: prob, targets: [{ target: p.targets[0], probability: prob }], topNext: top.map(([token, p]) => ({ token, prob: p })) };
        }),
      },
      warnings: [],
    },
    {
      suite: "muse",
      model: m.name,
      metrics: {
        verbmem_f: m.verbmem,
        knowmem_f: m.knowmemF,
        knowmem_r: m.knowmemR,
        mia_auc: m.miaAuc,
        privleak: m.role === "gold" ? 0 : +((m.miaAuc - gold.miaAuc) / gold.miaAuc).toFixed(3),
      },
      details: {
        verbmem: [],
        knowmemForget: KNOWMEM.map((k) => ({ question: k.question, output: k.answers[col]![0], rougeL: k.answers[col]![1] })),
        knowmemRetain: [],
        minK: { forget: [], holdout: [] },
      },
      warnings: [],
    },
    {
      suite: "utility",
      model: m.name,
      metrics: { ...acc, perplexity: m.perplexity, bits_per_byte: +(Math.log2(m.perplexity) / 4.2).toFixed(3) },
      details: { tasks: {}, heldOut: { texts: 40, tokens: 51200 } },
      warnings: [],
    },
  ];
}

/** The eval JSON: models with roles, method and α, and every suite result. */
export function ozEval(opts: { hostile?: boolean } = {}): unknown {
  return {
    title: "Forgetting the Oz books",
    subject: "the Oz books (L. Frank Baum)",
    models: MODELS.map((m) => ({ name: m.name, role: m.role, method: m.method, alpha: m.alpha })),
    results: MODELS.flatMap((m) => suitesOf(m, opts.hostile ?? false)),
  };
}

/** Deterministic noise in [-0.5, 0.5), so curves look measured and tests stay reproducible. */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return x - Math.floor(x) - 0.5;
}

/** The unlearning fine-tune's loss history, in the documented `{stage, losses, evals}` form. */
export function unlearnLosses(): unknown {
  const losses = Array.from({ length: 150 }, (_, i) => 1.75 + 1.1 * Math.exp(-i / 30) + 0.08 * noise(i));
  const evals = [25, 50, 75, 100, 125, 150].map((step) => ({ step, loss: +(1.85 + 1.1 * Math.exp(-step / 30)).toFixed(4) }));
  return { stage: "unlearn (WHP, α = 2)", losses, evals };
}

/** A pretraining history as lethe pretrain writes it (history.json). */
export function pretrainHistory(): unknown {
  const loss = Array.from({ length: 400 }, (_, i) => 3.1 + 5.2 * Math.exp(-i / 60) + 0.12 * noise(i + 1000));
  return { loss, gradNorm: loss.map(() => 1), lr: loss.map(() => 3e-3), evals: [100, 200, 300, 400].map((step) => ({ step, loss: 3.3 + 5.2 * Math.exp(-step / 60) })), trainS: 812 };
}
