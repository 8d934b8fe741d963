// Browser-test harness: a real Tessera listening on 127.0.0.1 (SQLite in a temp dir),
// driven by Debian's headless Chromium through playwright-core.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import * as OTPAuth from 'otpauth';
import { loadConfig, type Config } from '../../src/config.js';
import { readOutbox, type OutboxEntry } from '../../src/services/dev-outbox.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/runtime.js';
import { STRONG_PASSWORD, skipReason } from './harness.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS_DIR = join(ROOT, 'test-artifacts');

/** Why browser suites skip (Chromium missing), or false. Throws instead when
 * TESSERA_REQUIRE_FULL_SUITE=1. */
export function chromiumSkipReason(): string | false {
  return skipReason(!existsSync(CHROMIUM_PATH), `browser suite skipped: ${CHROMIUM_PATH} does not exist (apt-get install chromium)`);
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** Saves a full-page PNG to test-artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name.replace(/[^A-Za-z0-9_.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true, timeout: 15_000 });
  return path;
}

/** Each browser step waits at most this long: a hung page fails the test, not CI. */
export const STEP_TIMEOUT_IN_MILLISECONDS = 15_000;

/** A fresh browser profile (its own cookies) with the step timeouts set. */
export async function newBrowserContext(
  browser: Browser,
  options: {
    viewport?: { width: number; height: number };
    storageState?: Awaited<ReturnType<BrowserContext['storageState']>>;
    /** Only for injecting test tools (axe) as inline scripts; the app's CSP stays as it is. */
    bypassCSP?: boolean;
  } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1100, height: 860 },
    ...(options.storageState ? { storageState: options.storageState } : {}),
    ...(options.bypassCSP ? { bypassCSP: true } : {}),
  });
  context.setDefaultTimeout(STEP_TIMEOUT_IN_MILLISECONDS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_IN_MILLISECONDS);
  return context;
}

/** A screenshot for README: written to docs/screenshots only with
 * TESSERA_UPDATE_SCREENSHOTS=1 (so a test run leaves the tree clean), else to
 * test-artifacts like any other. */
export async function documentationScreenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  if (process.env.TESSERA_UPDATE_SCREENSHOTS === '1')
    await page.screenshot({ path: join(ROOT, 'docs', 'screenshots', `${name}.png`), fullPage: options.fullPage === true });
  else await screenshot(page, name);
}

/** Fills in the sign-in form (the shared test password) and submits it. */
export async function signInWithPassword(page: Page, baseUrl: string, input: { account?: string; email: string }): Promise<void> {
  await page.goto(`${baseUrl}/sign-in`);
  await page.getByLabel('Account').fill(input.account ?? 'acme');
  await page.getByLabel('Email').fill(input.email);
  await page.getByLabel('Password').fill(STRONG_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForLoadState('domcontentloaded');
}

/** Types the shared test password where a form asks for it to confirm an action. */
export async function confirmWithPasswordIfAsked(form: Locator): Promise<void> {
  const password = form.getByLabel('Your password');
  if ((await password.count()) > 0) await password.fill(STRONG_PASSWORD);
}

/** From Security settings with 2FA off: turns on an authenticator app (typing the key
 * by hand) and stops on the recovery codes page, which shows once. */
export async function enrolAuthenticatorApp(page: Page): Promise<OTPAuth.TOTP> {
  await page.getByRole('link', { name: 'Enable two-factor authentication' }).click();
  const choose = page.getByRole('button', { name: 'Use an authenticator app' });
  await confirmWithPasswordIfAsked(page.locator('form').filter({ has: choose }));
  await choose.click();
  await page.getByText("Can't scan it? Enter the key by hand").click();
  const key = (await page.locator('#secret-key').innerText()).replace(/ /g, '');
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(key) });
  await page.getByLabel('6-digit code from the app').fill(totp.generate());
  await page.getByRole('button', { name: 'Verify and turn on' }).click();
  await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
  return totp;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolvePromise(port) : reject(new Error('no port'))));
    });
  });
}

export interface ServedApp {
  baseUrl: string;
  runtime: Runtime;
  config: Config;
  /** The app's log lines (pino JSON), for diagnosing a failure. */
  logs: string[];
  outbox(): Promise<OutboxEntry[]>;
  close(): Promise<void>;
}

export interface ServedAppOptions {
  /** Extra environment for loadConfig (PORT, TESSERA_BASE_URL and the data dir are set here). */
  env?: Record<string, string>;
  runtime?: RuntimeOptions;
  /** The base URL's host name (default 127.0.0.1). WebAuthn needs "localhost": a
   * browser refuses an IP address as the relying party's ID. */
  hostname?: 'localhost' | '127.0.0.1';
}

async function listenOnFreePort(options: ServedAppOptions, dataDir: string): Promise<{ runtime: Runtime; config: Config; logs: string[]; baseUrl: string }> {
  // The config (and so the base URL used in links) is read before listening: pick a
  // free port first, and try again on the rare chance someone took it meanwhile.
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    const baseUrl = `http://${options.hostname ?? '127.0.0.1'}:${port}`;
    const config = loadConfig(
      {
        TESSERA_DATA_DIR: dataDir,
        TESSERA_DATABASE_URL: `sqlite:${join(dataDir, 'tessera.db')}`,
        TESSERA_LOG_LEVEL: 'info',
        TESSERA_HOST: '127.0.0.1',
        ...options.env,
        PORT: String(port),
        TESSERA_BASE_URL: baseUrl,
      },
      dataDir,
    );
    const logs: string[] = [];
    const logStream = new Writable({
      write(chunk, _encoding, callback) {
        logs.push(String(chunk));
        callback();
      },
    });
    const runtime = await createRuntime(config, { logStream, ...options.runtime });
    try {
      await runtime.app.listen({ host: '127.0.0.1', port });
      return { runtime, config, logs, baseUrl };
    } catch (error) {
      lastError = error;
      await runtime.close();
      if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
    }
  }
  throw lastError;
}

/** Starts Tessera listening on 127.0.0.1 with its base URL set to where it listens. */
export async function startServedApp(options: ServedAppOptions = {}): Promise<ServedApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-browser-'));
  let served: Awaited<ReturnType<typeof listenOnFreePort>>;
  try {
    served = await listenOnFreePort(options, dataDir);
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const { runtime, config, logs, baseUrl } = served;
  return {
    baseUrl,
    runtime,
    config,
    logs,
    outbox: () => readOutbox(runtime.deps),
    async close() {
      try {
        await runtime.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
