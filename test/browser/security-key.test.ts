// Security keys and passkeys in a real browser (issue "WebAuthn"): Chromium's virtual
// authenticator (CDP WebAuthn.addVirtualAuthenticator) registers a key and signs in
// with it; its real assertion replayed is refused; a page of another origin cannot
// get a signature at all; a key confirms adding an app; a removed key is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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

/** A USB security key with a fingerprint reader that always says yes, on this page. */
async function attachVirtualKey(page: Page): Promise<{ credentials: () => Promise<{ signCount: number }[]> }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials };
}

async function apiPost(baseUrl: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

describe('security keys in Chromium', { skip: chromiumSkipReason() }, () => {
  let app: ServedApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let key: Awaited<ReturnType<typeof attachVirtualKey>>;
  let signedAssertion: string | null = null;

  before(
    async () => {
      app = await startServedApp({ hostname: 'localhost' });
      assert.ok((await createAccount(app.runtime.deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
      assert.ok(
        (
          await createUser(
            app.runtime.deps,
            { account: 'acme', email: 'kim@acme.test', name: 'Kim Admin', role: 'admin', password: STRONG_PASSWORD },
            NO_REQUEST_CONTEXT,
          )
        ).ok,
      );
      browser = await launchBrowser();
      context = await newBrowserContext(browser);
      page = await context.newPage();
      key = await attachVirtualKey(page);
    },
    { timeout: 60_000 },
  );

  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await app?.close();
  });

  it('adds a key from Security settings: name it, touch it, save the recovery codes', { timeout: 60_000 }, async () => {
    await signInWithPassword(page, app.baseUrl, { email: 'kim@acme.test' });
    await page.waitForURL(/\/profile\/security$/);
    await page.getByRole('link', { name: 'Enable two-factor authentication' }).click();
    await page.getByLabel('Name').fill('Blue YubiKey');
    await documentationScreenshot(page, 'add-security-key');
    await page.getByRole('button', { name: 'Add a security key', exact: true }).click();
    await page.getByRole('button', { name: 'Use my security key' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    assert.equal((await key.credentials()).length, 1, 'the virtual key holds one credential');
    await page.getByLabel('I have saved these recovery codes').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/profile\/security/);
    await page.getByText('Blue YubiKey').waitFor();
    await page.getByText('Security key or passkey', { exact: true }).waitFor();
    await screenshot(page, 'security-settings-with-key');
  });

  it('signs in with the key, offered first', { timeout: 60_000 }, async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    await signInWithPassword(page, app.baseUrl, { email: 'kim@acme.test' });
    await page.waitForURL(/\/sign-in\/two-factor$/);
    await page.getByRole('link', { name: 'Use a recovery code' }).waitFor();
    await documentationScreenshot(page, 'security-key-sign-in');
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/sign-in/two-factor'))
        signedAssertion = new URLSearchParams(request.postData() ?? '').get('code');
    });
    await page.getByLabel("Don't ask again on this computer for 30 days").uncheck();
    await page.getByRole('button', { name: 'Use your security key' }).click();
    await page.waitForURL(/\/profile\/security/);
    assert.ok(signedAssertion && signedAssertion.startsWith('{'), "the page sent the key's assertion");
    assert.equal((await key.credentials())[0]!.signCount >= 1, true, 'the key signed');
  });

  it("refuses the browser's assertion replayed on a new sign-in", { timeout: 30_000 }, async () => {
    const started = await apiPost(app.baseUrl, '/api/v1/sign-in', { account: 'acme', email: 'kim@acme.test', password: STRONG_PASSWORD });
    assert.equal(started.json.status, 'two_factor_required');
    assert.equal(started.json.methods[0], 'webauthn');
    const challengeToken = started.json.challenge_token;
    assert.equal((await apiPost(app.baseUrl, '/api/v1/sign-in/webauthn/options', { challenge_token: challengeToken })).status, 200);
    const replayed = await apiPost(app.baseUrl, '/api/v1/sign-in/webauthn/verify', {
      challenge_token: challengeToken,
      credential: JSON.parse(signedAssertion!),
    });
    assert.equal(replayed.status, 400);
    assert.equal(replayed.json.error.code, 'invalid_code');
  });

  it('a page of another origin gets no signature from the key', { timeout: 60_000 }, async () => {
    // Same server, other origin (127.0.0.1 instead of localhost): what a look-alike site is.
    const otherOrigin = app.baseUrl.replace('localhost', '127.0.0.1');
    const other = await context.newPage();
    await attachVirtualKey(other);
    await signInWithPassword(other, otherOrigin, { email: 'kim@acme.test' });
    await other.waitForURL(/\/sign-in\/two-factor$/);
    // The page says where keys work instead of offering a button that cannot.
    const error = other.locator('[data-webauthn-error]');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), new RegExp(`work only at ${app.baseUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(await other.getByRole('button', { name: 'Use your security key' }).count(), 0, 'no key button on the wrong address');
    assert.match(other.url(), /\/sign-in\/two-factor$/, 'still asked for the second step');
    await other.close();
  });

  it("says so in the reader's language: app.js reads the page's JSON data block, which the CSP lets be", { timeout: 60_000 }, async () => {
    const otherOrigin = app.baseUrl.replace('localhost', '127.0.0.1');
    const german = await browser.newContext({ locale: 'de-DE', viewport: { width: 1100, height: 860 } });
    german.setDefaultTimeout(15_000);
    const other = await german.newPage();
    const refused: string[] = [];
    other.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
    });
    other.on('pageerror', (error) => refused.push(error.message));
    await other.goto(`${otherOrigin}/sign-in`);
    assert.equal(await other.locator('html').getAttribute('lang'), 'de');
    await other.getByLabel('Konto').fill('acme');
    await other.getByLabel('E-Mail-Adresse').fill('kim@acme.test');
    await other.getByLabel('Passwort').fill(STRONG_PASSWORD);
    await other.getByRole('button', { name: 'Anmelden', exact: true }).click();
    await other.waitForURL(/\/sign-in\/two-factor$/);
    const error = other.locator('[data-webauthn-error]');
    await error.waitFor({ state: 'visible' });
    assert.equal(await error.innerText(), `Sicherheitsschlüssel funktionieren nur unter ${app.baseUrl}. Öffnen Sie diese Seite dort, um einen zu verwenden.`);
    assert.deepEqual(refused, [], 'no CSP refusal and no script error on the page');
    await german.close();
  });

  it('the key confirms adding an app; with the app, the key can be removed, and is then refused', { timeout: 90_000 }, async () => {
    await page.goto(`${app.baseUrl}/profile/two-factor/setup`);
    const appCard = page.locator('section.card', { has: page.getByRole('heading', { name: 'Use an authenticator app' }) });
    await appCard.getByRole('button', { name: 'Use your security key' }).click();
    await page.waitForURL(/\/profile\/two-factor\/totp$/);
    const uri = readQrCode((await page.getByRole('img', { name: 'QR code for your authenticator app' }).getAttribute('src'))!);
    const totp = OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
    await page.getByLabel('6-digit code from the app').fill(totp.generate());
    await page.getByRole('button', { name: 'Verify and turn on' }).click();
    await page.waitForURL(/\/profile\/security/);

    const keys = page.locator('ul.keys li', { hasText: 'Blue YubiKey' });
    await keys.getByText('Remove', { exact: true }).click();
    await keys.getByLabel('A passcode from your authenticator app').check();
    await keys.getByRole('textbox', { name: 'Code' }).fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    page.once('dialog', (dialog) => void dialog.accept());
    await keys.getByRole('button', { name: 'Remove this key' }).click();
    await page.getByText('The security key is removed.').waitFor();
    assert.equal(await page.getByText('Blue YubiKey').count(), 0);

    const started = await apiPost(app.baseUrl, '/api/v1/sign-in', { account: 'acme', email: 'kim@acme.test', password: STRONG_PASSWORD });
    assert.deepEqual(started.json.methods, ['totp', 'recovery_code']);
    const options = await apiPost(app.baseUrl, '/api/v1/sign-in/webauthn/options', { challenge_token: started.json.challenge_token });
    assert.equal(options.status, 400, 'no key to ask for');
    const refused = await apiPost(app.baseUrl, '/api/v1/sign-in/webauthn/verify', {
      challenge_token: started.json.challenge_token,
      credential: JSON.parse(signedAssertion!),
    });
    assert.equal(refused.status, 400, 'the removed key is refused');
  });
});
