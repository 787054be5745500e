/**
 * Writes docs/report.png, the README's picture of a report: the demo's real report
 * (runs/demo/report.html, made by `lethe demo`) in headless Chromium, from the top of the page to
 * the end of the trade-off chart.
 * Run: npx lethe demo && node --import tsx test/report/docs-screenshot.ts
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM, openReport } from "./browser.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const html = join(root, "runs", "demo", "report.html");
if (!existsSync(html)) throw new Error(`${html} is missing: run \`npx lethe demo\` first`);
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
