// Launching Debian's Chromium through playwright-core, with the flags this
// kind of machine needs (no sandbox as root, no background networking: the
// network is closed and Chromium's own connections would be refused).

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';

// Playwright starts Chromium with a new, empty profile of its own.
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}
