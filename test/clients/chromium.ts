import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BrowserContext, chromium, Page } from 'playwright-core';

/** Debian's Chromium; browsers are never downloaded (.ci/run installs this one when missing). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Chromium's own connections would be refused by the closed network anyway.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Nothing but loopback resolves, so a library that reached for its vendor's CDN fails at once.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

/**
 * Browser tests run wherever Chromium is installed, and always in CI, where a missing Chromium
 * makes them fail rather than pass unseen. Elsewhere they are skipped, saying why.
 */
export function describeInChromium(name: string, body: () => void): void {
  if (existsSync(CHROMIUM_PATH) || process.env.CI === 'true') {
    describe(name, body);
    return;
  }
  console.warn(`Skipping "${name}": no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)`);
  describe.skip(name, body);
}

export interface TestBrowser {
  page: Page;
  /** Requests the page made to anything but loopback (there must be none). */
  outside: string[];
  /** Uncaught errors of the page. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Headless Chromium with a fresh profile. No request is intercepted: Playwright answers CORS
 * preflights of intercepted requests itself, which would hide what Personae answers.
 */
export async function launchChromium(): Promise<TestBrowser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'personae-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ARGS,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const outside: string[] = [];
    const errors: string[] = [];
    context.on('request', (request) => {
      if (new URL(request.url()).hostname !== '127.0.0.1') outside.push(request.url());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    const opened = context;
    return {
      page,
      outside,
      errors,
      close: async () => {
        await opened.close();
        await rm(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await context?.close();
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
}
