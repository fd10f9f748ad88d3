// Headless Chromium for the tests of the pages tailseal writes (report, verifier page): Debian's
// `chromium` package driven by playwright-core, which never downloads a browser. The binary comes from
// TAILSEAL_TEST_CHROMIUM (.ci/run sets it; set to something that is not a program, it is a failure),
// else `chromium` on PATH; without either the tests skip with the reason.
import { type Browser, chromium } from 'playwright-core';
import { onPath, toolFromEnv } from './tools.js';

export const CHROMIUM_BIN = toolFromEnv('TAILSEAL_TEST_CHROMIUM') ?? onPath('chromium');
export const NO_CHROMIUM =
  "headless Chromium not run: install Debian's chromium package or set TAILSEAL_TEST_CHROMIUM (.ci/run does)";

/**
 * Starts headless Chromium with no network beyond loopback: a page that tried to load anything from
 * the internet would fail its test, not pass by reaching it.
 */
export async function launchChromium(): Promise<Browser> {
  if (CHROMIUM_BIN === undefined) throw new Error(NO_CHROMIUM);
  return chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    // No sandbox: CI runs as root, where Chromium refuses to start with it.
    args: ['--no-sandbox', '--disable-gpu', '--proxy-server=127.0.0.1:9', '--proxy-bypass-list=<-loopback>'],
  });
}
