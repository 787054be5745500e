/**
 * Writes docs/report.png, the README's picture of a report: the hand-written Oz fixture rendered
 * in headless Chromium, from the top of the page to the end of the trade-off chart.
 * Run: node --import tsx test/report/docs-screenshot.ts
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeReport } from "../../src/report/index.js";
import { CHROMIUM, openReport } from "./browser.js";
import { ozEval, pretrainHistory, unlearnLosses } from "./fixture.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = mkdtempSync(join(tmpdir(), "lethe-docs-shot-"));
try {
  writeFileSync(join(dir, "eval.json"), JSON.stringify(ozEval()));
  writeFileSync(join(dir, "losses.json"), JSON.stringify(unlearnLosses()));
  mkdirSync(join(dir, "gold.gguf.run"));
  writeFileSync(join(dir, "gold.gguf.run", "history.json"), JSON.stringify(pretrainHistory()));
  const html = join(dir, "report.html");
  await writeReport([join(dir, "eval.json"), join(dir, "losses.json"), join(dir, "gold.gguf.run")], html, { generator: "lethe" });
  const opened = await openReport(html, { width: 1100 });
  if (!opened) throw new Error(`${CHROMIUM} is missing`);
  try {
    const box = await opened.page.locator("#tradeoff").boundingBox();
    const out = join(root, "docs", "report.png");
    mkdirSync(dirname(out), { recursive: true });
    await opened.page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: 1100, height: Math.ceil(box!.y + box!.height + 24) } });
    console.log(`wrote ${out}`);
  } finally {
    await opened.browser.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
