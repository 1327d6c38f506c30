/**
 * Headless Chromium for the admin page tests: Debian's package (scripts/test.sh installs it), driven
 * by playwright-core with a throwaway profile and no background traffic of its own.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
/** Appended to a browser test's name: why it is skipped, when it is. */
export const chromiumSkipReason = hasChromium
  ? ''
  : ` (skipped: ${CHROMIUM} is missing and scripts/test.sh could not install Debian's chromium)`;

/** A fresh browser `height` pixels tall; close() ends it and removes its profile. */
export async function launchChromium(
  height: number,
): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'deckhand-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
