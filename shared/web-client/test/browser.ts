import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium';

/** Without the background-networking flags Chromium dials out, and a closed network refuses it. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where the screenshots go (gitignored). */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../../test-artifacts/browser-client/', import.meta.url));

export interface UserBrowser {
  name: string;
  page: Page;
  /** The page's console output, page errors and failed requests, for the report of a failure. */
  log: string[];
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile of its own: one person at one computer. */
export async function openBrowser(name: string): Promise<UserBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (the browser test needs Debian's Chromium)`);
  const profile = mkdtempSync(join(tmpdir(), `chat-browser-${name}-`));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport: { width: 1100, height: 700 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const log: string[] = [];
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (err) => log.push(`page error: ${err.message}`));
  page.on('requestfailed', (r) => log.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  return {
    name,
    page,
    log,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

let shot = 0;

/** Saves a numbered screenshot of `who`'s page under ARTIFACTS_DIR and returns its path. */
export async function screenshot(who: UserBrowser, step: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${String(++shot).padStart(2, '0')}-${step}-${who.name}.png`);
  await who.page.screenshot({ path, fullPage: true });
  return path;
}
