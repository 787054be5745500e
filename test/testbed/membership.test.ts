// PrivLeak's members and non-members come from the same documents and the same distribution, so
// that a model which saw neither (the gold model) cannot tell them apart: its MIA AUC sits near 0.5.
import assert from "node:assert/strict";
import { test } from "node:test";

import { rocAuc } from "../../src/eval/metrics/auc.js";
import { membershipFromDocuments, membershipFromTails } from "../../src/testbed/membership.js";
import { generateSyntheticTestbed } from "../../src/testbed/synthetic/index.js";
import { SYNTHETIC_SAGA, holdOutTail } from "../../src/testbed/testbeds.js";
import { SeededRandom } from "../../src/util/random.js";

/** A document in its own style: its own vocabulary of words of one length, hard-wrapped into paragraphs. */
function styledDocument(seed: number, wordLength: number, paragraphs: number): string {
  const rng = new SeededRandom(seed);
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const vocabulary = Array.from({ length: 40 }, () => Array.from({ length: wordLength }, () => letters[rng.nextUint32() % 26]).join(""));
  const paragraph = () => {
    const words = Array.from({ length: 30 + (rng.nextUint32() % 30) }, () => vocabulary[rng.nextUint32() % vocabulary.length]);
    return words.map((w, i) => (i > 0 && i % 10 === 0 ? `\n${w}` : w)).join(" ");
  };
  return Array.from({ length: paragraphs }, paragraph).join("\n\n") + "\n";
}

const meanWordLength = (passage: string) => {
  const words = passage.split(/\s+/);
  return words.reduce((n, w) => n + w.length, 0) / words.length;
};

test("tail samples: as many members as non-members per document, cut from adjacent text of that document", () => {
  // Three documents of different styles and very different lengths.
  const docs = [styledDocument(1, 3, 400), styledDocument(2, 6, 120), styledDocument(3, 9, 900)].map((d) => holdOutTail(d, 0.03));
  const { members, nonMembers } = membershipFromTails(docs, { passages: 60, words: 20 });
  assert.equal(members.length, nonMembers.length);
  const origin = (passage: string, part: "train" | "heldOut") => docs.findIndex((d) => d[part].includes(passage));
  const perDoc = (passages: string[], part: "train" | "heldOut") => [0, 1, 2].map((i) => passages.filter((p) => origin(p, part) === i).length);
  // Every member lies in some document's trained text, every non-member in its held-out tail, in equal numbers per document.
  assert.ok(members.every((p) => origin(p, "train") >= 0) && nonMembers.every((p) => origin(p, "heldOut") >= 0));
  assert.deepEqual(perDoc(members, "train"), perDoc(nonMembers, "heldOut"));
  assert.ok(perDoc(members, "train").every((n) => n > 0), "each document contributes");
  // Members come from the end of the trained text, the stretch next to the tail.
  for (const p of members) {
    const d = docs[origin(p, "train")]!;
    assert.ok(d.train.lastIndexOf(p) >= d.train.length - 1.2 * d.heldOut.length, "a member comes from the end of the trained text");
  }
  // Passages keep the text's own line breaks, as the model trained on them.
  assert.ok(members.some((p) => p.includes("\n")) && nonMembers.some((p) => p.includes("\n")));
  // Word length differs by document, so an unbalanced mixture of documents would separate the samples.
  const auc = rocAuc(members.map(meanWordLength), nonMembers.map(meanWordLength));
  assert.ok(Math.abs(auc - 0.5) < 0.1, `AUC of a per-document statistic is ${auc}`);
});

test("tail samples: a document whose tail holds no whole passage gives none", () => {
  const { members, nonMembers } = membershipFromTails([{ train: "a b c d e f g h", heldOut: "x y" }], { words: 3 });
  assert.deepEqual({ members, nonMembers }, { members: [], nonMembers: [] });
});

/** Mean log-probability of a passage's words under add-one unigram counts of `reference`. */
function unigramScorer(reference: readonly string[]): (passage: string) => number {
  const counts = new Map<string, number>();
  let total = 0;
  for (const doc of reference) for (const w of doc.toLowerCase().match(/\p{L}+/gu) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1), total++;
  return (passage) => {
    const words = passage.toLowerCase().match(/\p{L}+/gu) ?? [];
    return words.reduce((s, w) => s + Math.log(((counts.get(w) ?? 0) + 1) / (total + counts.size + 1)), 0) / words.length;
  };
}

test("synthetic samples: the retold universe is the training distribution, the held-out characters are not", () => {
  const t = generateSyntheticTestbed(SYNTHETIC_SAGA);
  const { members, nonMembers } = membershipFromDocuments(t.universe, t.heldOut.retold);
  assert.ok(members.length >= 200 && nonMembers.length >= 80, `${members.length} members, ${nonMembers.length} non-members`);
  const memberSet = new Set(members);
  assert.ok(nonMembers.every((p) => !memberSet.has(p)), "no non-member is a passage the model trained on");
  // The retold text names only who and what the training text names.
  const names = (text: string) => text.match(/\p{Lu}\p{L}*/gu) ?? [];
  const trainedNames = new Set(names(t.universe.join(" ")));
  const unseen = (passages: string[]) => passages.filter((p) => names(p).some((w) => !trainedNames.has(w))).length;
  assert.equal(unseen(nonMembers), 0);
  // The held-out universe documents, PrivLeak's non-members before, are about characters the
  // training text never names: no model could take them for members.
  assert.ok(unseen(membershipFromDocuments(t.universe, t.heldOut.universe).nonMembers) > 0);
  // A scorer that never read the universe, as the gold model never did, cannot tell members from the retold non-members.
  const gold = unigramScorer(t.generic);
  const auc = rocAuc(nonMembers.map(gold), members.map(gold));
  assert.ok(Math.abs(auc - 0.5) < 0.1, `retold AUC ${auc}`);
});
