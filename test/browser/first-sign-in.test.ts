// The first run in a real browser: open the setup link, create the account and its
// owner, land on Security settings, sign out and sign in again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { issueSetupLink } from '../../src/services/accounts.js';
import { STRONG_PASSWORD } from '../support/harness.js';
import { STEP_TIMEOUT_IN_MILLISECONDS, chromiumSkipReason, launchBrowser, screenshot, startServedApp, type ServedApp } from '../support/browser.js';

interface ConsoleError {
  /** The page the error was logged on. */
  page: string;
  /** The resource the error is about (for "Failed to load resource"), else the script. */
  source: string;
  text: string;
}

describe('first sign-in in Chromium', { skip: chromiumSkipReason() }, () => {
  let app: ServedApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: ConsoleError[] = [];
  /** Document answers whose error status the test itself expects (e.g. 401 for a wrong password). */
  const expectedErrorDocuments: { url: string; status: number }[] = [];

  const unexpectedConsoleErrors = () =>
    consoleErrors.filter(
      (error) =>
        !expectedErrorDocuments.some(
          (expected) =>
            error.source === expected.url && error.text === `Failed to load resource: the server responded with a status of ${expected.status} (Unauthorized)`,
        ),
    );
  const cspViolations = () =>
    consoleErrors.filter((error) => /Content Security Policy|CSP violation|Refused to (load|execute|apply|frame|connect)/i.test(error.text));

  before(
    async () => {
      app = await startServedApp();
      browser = await launchBrowser();
      context = await browser.newContext();
      context.setDefaultTimeout(STEP_TIMEOUT_IN_MILLISECONDS);
      context.setDefaultNavigationTimeout(STEP_TIMEOUT_IN_MILLISECONDS);
      // Chromium logs CSP violations as console errors; report the DOM event too, in
      // case a violation shows only there.
      // (A string: this project's TypeScript has no DOM types.)
      await context.addInitScript(`document.addEventListener('securitypolicyviolation', function (event) {
      console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + event.blockedURI);
    });`);
      page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push({ page: page.url(), source: message.location().url, text: message.text() });
      });
      page.on('pageerror', (error) => consoleErrors.push({ page: page.url(), source: page.url(), text: `uncaught ${error.message}` }));
    },
    { timeout: 60_000 },
  );

  after(
    async () => {
      await context?.close().catch(() => {});
      await browser?.close().catch(() => {});
      await app?.close();
    },
    { timeout: 30_000 },
  );

  it('the setup link creates the account and signs the owner in; sign-out and sign-in work', { timeout: 120_000 }, async () => {
    const link = await issueSetupLink(app.runtime.deps);
    assert.ok(link, 'a setup link on a fresh deployment');
    assert.ok(link.startsWith(`${app.baseUrl}/setup?token=`), `the link points at the served app: ${link}`);

    const setupPage = await page.goto(link);
    assert.equal(setupPage?.status(), 200);
    assert.match(setupPage!.headers()['content-security-policy'] ?? '', /script-src 'self'/, 'the page is served under the strict CSP');
    await page.getByLabel('Team name').fill('Acme Support');
    await page.getByLabel('Short name').fill('acme-support');
    await page.getByLabel('Your name').fill('Olive Owner');
    await page.getByLabel('Email').fill('olive@acme.test');
    await page.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
    await Promise.all([page.waitForURL('**/profile/security'), page.getByRole('button', { name: 'Create account' }).click()]);

    assert.equal(new URL(page.url()).pathname, '/profile/security');
    await page.getByRole('heading', { level: 1, name: 'Security settings' }).waitFor();
    assert.match(await page.title(), /Security settings/);
    assert.match(await page.locator('header').innerText(), /Olive Owner/);
    await screenshot(page, 'first-sign-in-security-settings');

    await Promise.all([page.waitForURL('**/sign-in?signed_out=1'), page.getByRole('button', { name: 'Sign out' }).click()]);
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'signed out: no Sign out button');

    // Signed out for real: the security page now sends us to sign-in.
    await page.goto(`${app.baseUrl}/profile/security`);
    assert.equal(new URL(page.url()).pathname, '/sign-in');

    await page.getByLabel('Account').fill('acme-support');
    await page.getByLabel('Email').fill('olive@acme.test');
    await page.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
    await Promise.all([page.waitForURL('**/profile/security'), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
    await page.getByRole('heading', { level: 1, name: 'Security settings' }).waitFor();
    assert.match(await page.locator('header').innerText(), /Olive Owner/);
    await screenshot(page, 'first-sign-in-signed-in-again');
  });

  it('a wrong password keeps you on the sign-in page with an error', { timeout: 60_000 }, async () => {
    await context.clearCookies();
    await page.goto(`${app.baseUrl}/sign-in`);
    await page.getByLabel('Account').fill('acme-support');
    await page.getByLabel('Email').fill('olive@acme.test');
    await page.getByLabel('Password', { exact: true }).fill('not the password at all');
    const [answer] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === 'POST' && new URL(response.url()).pathname === '/sign-in'),
      page.getByRole('button', { name: 'Sign in', exact: true }).click(),
    ]);
    // The 401 document makes Chromium log "Failed to load resource … 401": expected.
    expectedErrorDocuments.push({ url: answer.url(), status: 401 });
    assert.equal(answer.status(), 401);
    await page.getByRole('alert').waitFor();
    assert.equal(new URL(page.url()).pathname, '/sign-in');
    assert.equal(await page.getByRole('heading', { level: 1, name: 'Security settings' }).count(), 0);
  });

  it('no page broke the Content-Security-Policy', () => {
    assert.deepEqual(cspViolations(), []);
  });

  it('no page logged a console error', () => {
    assert.deepEqual(unexpectedConsoleErrors(), []);
  });
});
