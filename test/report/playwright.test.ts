// The report renders in headless Chromium: the table and every chart drawn, nothing fetched, no
// console errors, untrusted text inert, and a screenshot that is a real picture.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { writeReport } from "../../src/report/index.js";
import { CHROMIUM, openReport } from "./browser.js";
import { ozEval, pretrainHistory, unlearnLosses } from "./fixture.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("report-browser");

async function makeReport(): Promise<string> {
  writeFileSync(join(dir, "eval.json"), JSON.stringify(ozEval({ hostile: true })));
  writeFileSync(join(dir, "losses.json"), JSON.stringify(unlearnLosses()));
  mkdirSync(join(dir, "gold.gguf.run"), { recursive: true });
  writeFileSync(join(dir, "gold.gguf.run", "history.json"), JSON.stringify(pretrainHistory()));
  const out = join(dir, "report.html");
  await writeReport([join(dir, "eval.json"), join(dir, "losses.json"), join(dir, "gold.gguf.run")], out);
  return out;
}

/** PNG width and height from its IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

for (const colorScheme of ["light", "dark"] as const) {
  test(`the report renders in headless Chromium (${colorScheme})`, { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is missing: install Debian's chromium to run the browser test` }, async () => {
    const opened = await openReport(await makeReport(), { colorScheme });
    assert.ok(opened);
    const { browser, page, consoleErrors, requests } = opened;
    try {
      assert.deepEqual(consoleErrors, []);
      assert.deepEqual(requests, [], "the report fetches nothing");

      const canvases = await page.evaluate(() =>
        [...document.querySelectorAll("canvas")].map((c) => {
          const { data } = c.getContext("2d")!.getImageData(0, 0, c.width, c.height);
          let painted = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
          return { id: c.id, width: c.width, height: c.height, painted: painted / (c.width * c.height) };
        }),
      );
      assert.deepEqual(
        canvases.map((c) => c.id),
        ["chart-familiarity", "chart-tradeoff", "chart-tradeoff-perplexity", "chart-loss-0", "chart-loss-1"],
      );
      for (const c of canvases) {
        assert.ok(c.width > 200 && c.height > 100, `${c.id} has a size`);
        assert.ok(c.painted > 0.01, `${c.id} is drawn (${(c.painted * 100).toFixed(2)}% of pixels painted)`);
      }
      assert.equal(await page.getAttribute("html", "data-charts"), "5");

      const rows = await page.locator("#metrics-table tbody tr").count();
      assert.ok(rows > 25, `metrics table has ${rows} rows`);
      const headers = await page.locator("#metrics-table thead th").allInnerTexts();
      assert.deepEqual(
        headers.map((h) => h.split("\n")[0]!.trim()),
        ["metric", "oz-base", "oz-whp", "oz-whp-alpha0.5", "oz-whp-alpha5", "oz-gold"],
      );
      assert.match(await page.locator("#verdict").innerText(), /Familiarity of oz-whp: 9\.4%, down from 58\.3%/);
      assert.match(await page.locator("#verdict-perplexity").innerText(), /of oz-whp: 24\.9 vs base 24\.1 \(×1\.03\) and gold 24\.6 \(×1\.01\), up 3\.3% on the base model, within the 5% tolerance\.$/);
      assert.equal(await page.locator("#next-token .col").count(), 12);
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, "a completion's markup does not run");
      assert.match(await page.locator("#completions-table").innerText(), /<\/script><img src=x onerror=/);

      const shot = join(dir, `report-${colorScheme}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      const png = readFileSync(shot);
      const size = pngSize(png);
      assert.equal(size.width, 1200);
      assert.ok(size.height > 2000, `full page is ${size.height} px tall`);
      assert.ok(png.length > 100_000, `screenshot has ${png.length} bytes`);
    } finally {
      await browser.close();
    }
  });
}
