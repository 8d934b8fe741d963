// The translated pages in Chromium in German and Arabic (issue #24): the sign-in page
// (its language chosen with ?lang=), the passcode page of an authenticator app and
// Security settings, each saved to test-artifacts/language-<lang>-*.png to look at.
// Each says its lang and dir; Arabic is laid out right to left: the heading's words
// end at its right edge and the product's name heads the top bar at the right. And
// axe-core finds nothing on the three pages in Arabic (as accessibility.test.ts does
// in English).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Language } from '../../src/domain/languages.js';
import type { MessageKey } from '../../src/i18n/messages/en.js';
import { translatorFor } from '../../src/i18n/translator.js';
import { createAccount } from '../../src/services/accounts.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { createUser } from '../../src/services/users.js';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD } from '../support/harness.js';
import { chromiumSkipReason, launchBrowser, newBrowserContext, screenshot, startServedApp, type ServedApp } from '../support/browser.js';
import { assertNoAxeViolations } from '../support/axe.js';

interface Layout {
  lang: string;
  dir: string;
  direction: string;
  heading: string;
  /** The heading's box and its first line of words, in pixels from the left. */
  box: { left: number; right: number };
  words: { left: number; right: number };
  brand: { left: number; right: number };
  viewportWidth: number;
}

// A string: this project's TypeScript has no DOM types.
const LAYOUT = `(() => {
  const heading = document.querySelector('main h1');
  const range = document.createRange();
  range.selectNodeContents(heading);
  const line = range.getClientRects()[0];
  const box = heading.getBoundingClientRect();
  const brand = document.querySelector('.top .brand').getBoundingClientRect();
  return {
    lang: document.documentElement.lang,
    dir: document.documentElement.dir,
    direction: getComputedStyle(heading).direction,
    heading: heading.textContent.trim(),
    box: { left: box.left, right: box.right },
    words: { left: line.left, right: line.right },
    brand: { left: brand.left, right: brand.right },
    viewportWidth: window.innerWidth,
  };
})()`;

/** Someone with an authenticator app, and the app to read codes from. */
async function personWithAuthenticatorApp(app: ServedApp, email: string): Promise<Authenticator> {
  const deps = app.runtime.deps;
  assert.ok((await createUser(deps, { account: 'acme', email, name: 'Lena Lang', role: 'agent', password: STRONG_PASSWORD }, NO_REQUEST_CONTEXT)).ok);
  const call = async (url: string, token: string, payload: object = {}) => {
    const response = await app.runtime.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload });
    assert.ok(response.statusCode < 300, `${url}: ${response.body}`);
    return response.json();
  };
  const { session_token: token } = await call('/api/v1/sign-in', '', { account: 'acme', email, password: STRONG_PASSWORD });
  const authenticator = Authenticator.fromQrCode((await call('/api/v1/me/two-factor/totp', token)).qr_code);
  await call('/api/v1/me/two-factor/totp/verify', token, { code: authenticator.code(Date.now()) });
  return authenticator;
}

/** From the sign-in page in `language` (?lang=) through the passcode page to Security
 * settings; the labels are translated, so the fields are found by name. */
async function signInInLanguage(
  page: Page,
  baseUrl: string,
  language: Language,
  email: string,
  authenticator: Authenticator,
  atEachPage: (name: 'sign-in' | 'passcode' | 'security-settings') => Promise<void>,
): Promise<void> {
  await page.goto(`${baseUrl}/sign-in?lang=${language}`);
  await atEachPage('sign-in');
  await page.locator('input[name="account"]').fill('acme');
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(STRONG_PASSWORD);
  await page.locator('input[name="password"]').press('Enter');
  await page.waitForURL(/\/sign-in\/two-factor$/);
  await atEachPage('passcode');
  const code = page.locator('input[name="code"]');
  // The next 30-second step's code: the enrolment used this one.
  await code.fill(authenticator.code(Date.now(), 1));
  await code.press('Enter');
  await page.waitForURL(/\/profile\/security$/);
  await atEachPage('security-settings');
}

const HEADINGS: Record<'sign-in' | 'passcode' | 'security-settings', MessageKey> = {
  'sign-in': 'signIn.title',
  passcode: 'passcode.title',
  'security-settings': 'security.title',
};

describe('German and Arabic pages in Chromium', { skip: chromiumSkipReason() }, () => {
  let app: ServedApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const newPage = async (options: { bypassCSP?: boolean } = {}): Promise<Page> => {
    const context = await newBrowserContext(browser, options);
    contexts.push(context);
    return context.newPage();
  };

  before(
    async () => {
      app = await startServedApp();
      assert.ok((await createAccount(app.runtime.deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
      browser = await launchBrowser();
    },
    { timeout: 60_000 },
  );

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await app?.close();
  });

  it('German: lang="de", left to right, the translated headings', { timeout: 60_000 }, async () => {
    const authenticator = await personWithAuthenticatorApp(app, 'lena.de@acme.test');
    const page = await newPage();
    const t = translatorFor('de');
    await signInInLanguage(page, app.baseUrl, 'de', 'lena.de@acme.test', authenticator, async (name) => {
      await screenshot(page, `language-de-${name}`);
      const layout = (await page.evaluate(LAYOUT)) as Layout;
      assert.deepEqual([layout.lang, layout.dir, layout.direction], ['de', 'ltr', 'ltr'], name);
      assert.equal(layout.heading, t.t(HEADINGS[name]), name);
      assert.ok(Math.abs(layout.words.left - layout.box.left) <= 2, `${name}: the heading starts at its left edge`);
      assert.ok(layout.brand.left < layout.viewportWidth / 2, `${name}: the product's name is at the left`);
    });
  });

  it('Arabic: lang="ar" dir="rtl", laid out right to left', { timeout: 60_000 }, async () => {
    const authenticator = await personWithAuthenticatorApp(app, 'lena.ar@acme.test');
    const page = await newPage();
    const t = translatorFor('ar');
    await signInInLanguage(page, app.baseUrl, 'ar', 'lena.ar@acme.test', authenticator, async (name) => {
      await screenshot(page, `language-ar-${name}`);
      const layout = (await page.evaluate(LAYOUT)) as Layout;
      assert.deepEqual([layout.lang, layout.dir, layout.direction], ['ar', 'rtl', 'rtl'], name);
      assert.equal(layout.heading, t.t(HEADINGS[name]), name);
      assert.match(layout.heading, /\p{Script=Arabic}/u);
      assert.ok(Math.abs(layout.words.right - layout.box.right) <= 2, `${name}: the heading's words end at its right edge`);
      assert.ok(layout.words.left > layout.box.left + 20, `${name}: and leave its left side empty`);
      assert.ok(layout.brand.right > layout.viewportWidth / 2, `${name}: the product's name is at the right`);
    });
  });

  it('Arabic: axe finds nothing on the sign-in page, the passcode page and Security settings', { timeout: 90_000 }, async () => {
    const authenticator = await personWithAuthenticatorApp(app, 'lena.axe@acme.test');
    // axe goes in as an inline script, which the app's CSP rightly refuses: the CSP is
    // set aside in this browser only.
    const page = await newPage({ bypassCSP: true });
    const checked: string[] = [];
    const assertAccessible = async (name: string) => {
      assert.equal(await page.evaluate('document.documentElement.lang'), 'ar', name);
      await assertNoAxeViolations(page, `ar-${name}`);
      checked.push(name);
    };
    await signInInLanguage(page, app.baseUrl, 'ar', 'lena.axe@acme.test', authenticator, async (name) => {
      await assertAccessible(name);
      if (name === 'passcode') {
        await page.goto(`${app.baseUrl}/sign-in/two-factor?method=recovery_code`);
        await assertAccessible('passcode-recovery-code');
        await page.goto(`${app.baseUrl}/sign-in/two-factor?method=totp`);
      }
    });
    assert.deepEqual(checked, ['sign-in', 'passcode', 'passcode-recovery-code', 'security-settings']);
  });
});
