/**
 * Opens a report in Debian's headless Chromium through playwright-core, for the report's browser
 * test and the README screenshot. Returns undefined when Chromium is not installed.
 */
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** What happened while the page loaded. */
export interface OpenedReport {
  browser: Browser;
  page: Page;
  consoleErrors: string[];
  /** Every request the page made other than the report file itself. */
  requests: string[];
}

/** Launches Chromium, opens `file` and waits until the page script has drawn its charts. */
export async function openReport(file: string, opts: { colorScheme?: "light" | "dark"; width?: number } = {}): Promise<OpenedReport | undefined> {
  if (!existsSync(CHROMIUM)) return undefined;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: opts.width ?? 1200, height: 900 }, colorScheme: opts.colorScheme ?? "light" });
    const consoleErrors: string[] = [];
    const requests: string[] = [];
    const url = pathToFileURL(file).href;
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    page.on("request", (r) => {
      if (r.url() !== url) requests.push(r.url());
    });
    await page.goto(url);
    await page.waitForSelector("html[data-charts]", { timeout: 15000 });
    return { browser, page, consoleErrors, requests };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
