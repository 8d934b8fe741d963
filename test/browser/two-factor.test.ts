// Two-factor authentication in a real browser: enrol an authenticator app from the
// QR code, save the recovery codes, sign in with a passcode, trust the computer,
// and see the trust end when it is revoked (issues "authenticator app" and
// "trusted computers").
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext } from 'playwright-core';
import * as OTPAuth from 'otpauth';
import { createAccount } from '../../src/services/accounts.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { createUser } from '../../src/services/users.js';
import { readQrCode } from '../support/authenticator.js';
import { STRONG_PASSWORD } from '../support/harness.js';
import {
  chromiumSkipReason,
  documentationScreenshot,
  launchBrowser,
  newBrowserContext,
  screenshot,
  signInWithPassword,
  startServedApp,
  type ServedApp,
} from '../support/browser.js';

describe('two-factor authentication in Chromium', { skip: chromiumSkipReason() }, () => {
  let app: ServedApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let totp: OTPAuth.TOTP;
  let recoveryCodes: string[] = [];

  const newContext = async (storageState?: Awaited<ReturnType<BrowserContext['storageState']>>) => {
    const context = await newBrowserContext(browser, { storageState });
    contexts.push(context);
    return context;
  };

  before(
    async () => {
      app = await startServedApp();
      const account = await createAccount(app.runtime.deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT);
      assert.ok(account.ok);
      const user = await createUser(
        app.runtime.deps,
        { account: 'acme', email: 'ann@acme.test', name: 'Ann Agent', role: 'agent', password: STRONG_PASSWORD },
        NO_REQUEST_CONTEXT,
      );
      assert.ok(user.ok);
      browser = await launchBrowser();
    },
    { timeout: 60_000 },
  );

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await app?.close();
  });

  let first: BrowserContext;

  it('enrols an authenticator app from the QR code and shows the recovery codes once', { timeout: 60_000 }, async () => {
    first = await newContext();
    const page = await first.newPage();
    await signInWithPassword(page, app.baseUrl, { email: 'ann@acme.test' });
    await page.waitForURL(/\/profile\/security$/);
    await page.getByRole('link', { name: 'Enable two-factor authentication' }).click();
    await page.getByRole('button', { name: 'Use an authenticator app' }).click();
    await page.waitForURL(/\/profile\/two-factor\/totp$/);
    // What a phone would see: the QR code's otpauth URI.
    const qrSource = await page.getByRole('img', { name: 'QR code for your authenticator app' }).getAttribute('src');
    const uri = readQrCode(qrSource!);
    totp = OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
    assert.equal(totp.issuer, 'Tessera (Acme Support)');
    assert.equal(totp.label, 'ann@acme.test');
    await page.getByText("Can't scan it? Enter the key by hand").click();
    const key = await page.locator('#secret-key').innerText();
    assert.match(key, /^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/, 'the key in groups of four');
    assert.equal(key.replace(/ /g, ''), totp.secret.base32);
    await documentationScreenshot(page, 'enrol-authenticator-app');
    await page.getByLabel('6-digit code from the app').fill(totp.generate());
    await page.getByRole('button', { name: 'Verify and turn on' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    recoveryCodes = (await page.locator('#recovery-codes li').allInnerTexts()).map((code) => code.trim());
    assert.equal(recoveryCodes.length, 10);
    // Codes side by side share their rows (CSS columns started the second one higher).
    const boxes = await Promise.all((await page.locator('#recovery-codes li').all()).map((code) => code.boundingBox()));
    const columns = new Set(boxes.map((box) => Math.round(box!.x))).size;
    assert.equal(new Set(boxes.map((box) => Math.round(box!.y))).size, Math.ceil(boxes.length / columns), 'the codes line up in rows');
    const download = page.getByRole('link', { name: 'Download' });
    assert.equal(await download.getAttribute('download'), 'Tessera-acme-recovery-codes.txt');
    assert.ok(decodeURIComponent((await download.getAttribute('href'))!).includes(recoveryCodes[0]!));
    const continueButton = page.getByRole('button', { name: 'Continue' });
    assert.equal(await continueButton.isDisabled(), true, 'Continue waits for "I have saved these"');
    await documentationScreenshot(page, 'recovery-codes');
    await page.getByLabel('I have saved these recovery codes').check();
    await continueButton.click();
    await page.waitForURL(/\/profile\/security/);
    await page.getByText('10 recovery codes left.').waitFor();
    await screenshot(page, 'security-settings-2fa-on');
  });

  it('signs in with password then passcode, and trusts this computer when asked', { timeout: 60_000 }, async () => {
    const page = await first.newPage();
    await page.goto(`${app.baseUrl}/profile/security`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    await signInWithPassword(page, app.baseUrl, { email: 'ann@acme.test' });
    await page.waitForURL(/\/sign-in\/two-factor$/);
    const input = page.getByLabel('Passcode');
    assert.equal(await input.getAttribute('autocomplete'), 'one-time-code');
    assert.equal(await input.getAttribute('inputmode'), 'numeric');
    const remember = page.getByLabel("Don't ask again on this computer for 30 days");
    assert.equal(await remember.isChecked(), true, 'checked by default');
    await documentationScreenshot(page, 'passcode-page');
    // The next step's code (±1 step is accepted): the enrolment used this step's.
    const code = totp.generate({ timestamp: Date.now() + 30_000 });
    await input.fill(`${code.slice(0, 3)} ${code.slice(3)}`);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/profile\/security/);
    await page.getByText('Trusted computers').first().waitFor();
    await page.getByText('This computer').waitFor();
  });

  it('a browser with the same cookies skips the passcode; a fresh browser is asked', { timeout: 60_000 }, async () => {
    const state = await first.storageState();
    const same = await newContext({ ...state, cookies: state.cookies.filter((cookie) => cookie.name !== 'tessera_session') });
    const samePage = await same.newPage();
    await signInWithPassword(samePage, app.baseUrl, { email: 'ann@acme.test' });
    await samePage.waitForURL(/\/profile\/security/);
    const fresh = await newContext();
    const freshPage = await fresh.newPage();
    await signInWithPassword(freshPage, app.baseUrl, { email: 'ann@acme.test' });
    await freshPage.waitForURL(/\/sign-in\/two-factor$/);
  });

  it('after "Forget all computers" the same browser is asked again', { timeout: 60_000 }, async () => {
    const state = await first.storageState();
    const page = await first.newPage();
    await page.goto(`${app.baseUrl}/profile/security`);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Forget all computers' }).click();
    await page.getByText('No computer is trusted any more').waitFor();
    const again = await newContext({ ...state, cookies: state.cookies.filter((cookie) => cookie.name !== 'tessera_session') });
    const againPage = await again.newPage();
    await signInWithPassword(againPage, app.baseUrl, { email: 'ann@acme.test' });
    await againPage.waitForURL(/\/sign-in\/two-factor$/);
  });

  it('signs in with a recovery code, typed loosely', { timeout: 60_000 }, async () => {
    const context = await newContext();
    const page = await context.newPage();
    await signInWithPassword(page, app.baseUrl, { email: 'ann@acme.test' });
    await page.waitForURL(/\/sign-in\/two-factor$/);
    await page.getByRole('link', { name: 'Use a recovery code' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCodes[3]!.toUpperCase().replace(/-/g, ' '));
    await page.getByLabel(/Don't ask again/).uncheck();
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/profile\/security/);
    await page.getByText('9 recovery codes left.').waitFor();
    const mails = (await app.outbox()).filter((m) => m.to === 'ann@acme.test' && /recovery code was used/i.test(m.subject));
    assert.equal(mails.length, 1);
  });
});
