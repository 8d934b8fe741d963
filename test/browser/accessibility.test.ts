// axe-core over every page of a normal walkthrough (sign in, turn on an authenticator
// app, the recovery codes, Security settings, the admin's People, a person, Account
// security, the audit log, the apps, the passcode page): zero violations. And a keyboard user
// sees where the focus is (WCAG 2.2 focus appearance).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createAccount } from '../../src/services/accounts.js';
import { createApp, operatorAppManager } from '../../src/services/apps.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { createUser } from '../../src/services/users.js';
import { STRONG_PASSWORD } from '../support/harness.js';
import {
  chromiumSkipReason,
  confirmWithPasswordIfAsked,
  enrolAuthenticatorApp,
  launchBrowser,
  newBrowserContext,
  signInWithPassword,
  startServedApp,
  type ServedApp,
} from '../support/browser.js';
import { assertNoAxeViolations } from '../support/axe.js';

const FOCUSED = `(() => {
  const style = getComputedStyle(document.activeElement);
  return { element: document.activeElement.outerHTML.slice(0, 60), style: style.outlineStyle, width: style.outlineWidth, offset: style.outlineOffset, color: style.outlineColor, background: getComputedStyle(document.documentElement).backgroundColor };
})()`;

/** WCAG's contrast ratio between two colours given as rgb(…) or rgba(…). */
function contrast(first: string, second: string): number {
  const luminance = (color: string) => {
    const [r, g, b, alpha = 1] = color.match(/[\d.]+/g)!.map(Number) as [number, number, number, number?];
    assert.equal(alpha, 1, `${color} is see-through`);
    const channel = (value: number) => ((value /= 255) <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4);
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const [light, dark] = [luminance(first), luminance(second)].sort((a, b) => b - a) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

describe('accessibility in Chromium', { skip: chromiumSkipReason() }, () => {
  let app: ServedApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const checked: string[] = [];

  /** Runs axe over the page as it is (with every <details> opened); no violations. */
  const assertAccessible = async (name: string) => {
    await assertNoAxeViolations(page, name);
    checked.push(name);
  };

  before(
    async () => {
      app = await startServedApp();
      assert.ok((await createAccount(app.runtime.deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
      for (const [email, name, role] of [
        ['admin@acme.test', 'Ada Admin', 'admin'],
        ['agent@acme.test', 'Aldo Agent', 'agent'],
      ] as const) {
        assert.ok((await createUser(app.runtime.deps, { account: 'acme', email, name, role, password: STRONG_PASSWORD }, NO_REQUEST_CONTEXT)).ok);
      }
      const operator = await operatorAppManager(app.runtime.deps, 'acme');
      assert.ok(operator.ok);
      assert.ok(
        (await createApp(app.runtime.deps, operator.value, { name: 'Wiki', type: 'proxy', host: 'wiki.acme.test', reason: 'team wiki' }, NO_REQUEST_CONTEXT))
          .ok,
      );
      browser = await launchBrowser();
      // axe goes in as an inline script, which the app's CSP rightly refuses: the CSP is
      // set aside in this browser only.
      context = await newBrowserContext(browser, { bypassCSP: true });
      page = await context.newPage();
    },
    { timeout: 60_000 },
  );

  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await app?.close();
  });

  it('axe finds nothing on any page of an admin turning on 2FA and looking after the account', { timeout: 120_000 }, async () => {
    await page.goto(`${app.baseUrl}/sign-in`);
    await assertAccessible('sign-in');
    await signInWithPassword(page, app.baseUrl, { email: 'admin@acme.test' });
    await page.waitForURL(/\/profile\/security$/);
    await assertAccessible('security-settings-2fa-off');

    await page.getByRole('link', { name: 'Enable two-factor authentication' }).click();
    await assertAccessible('enrolment-choose-method');
    const chooseApp = page.getByRole('button', { name: 'Use an authenticator app' });
    await confirmWithPasswordIfAsked(page.locator('form').filter({ has: chooseApp }));
    await chooseApp.click();
    await page.waitForURL(/\/profile\/two-factor\/totp$/);
    await assertAccessible('enrolment-authenticator-app');
    await page.goto(`${app.baseUrl}/profile/security`);
    await enrolAuthenticatorApp(page);
    await assertAccessible('recovery-codes');
    await page.getByLabel('I have saved these recovery codes').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/profile\/security/);
    await assertAccessible('security-settings-2fa-on');
    await page.goto(`${app.baseUrl}/profile/two-factor/setup`);
    await assertAccessible('enrolment-add-method');

    await page.goto(`${app.baseUrl}/admin/users`);
    await assertAccessible('people');
    await page.getByRole('link', { name: 'Aldo Agent' }).click();
    await assertAccessible('person');
    await page.goto(`${app.baseUrl}/admin/security`);
    await assertAccessible('account-security');
    await page.getByRole('button', { name: 'Review changes' }).click();
    await page.getByRole('heading', { name: 'Review changes' }).waitFor();
    await assertAccessible('account-security-review');
    await page.goto(`${app.baseUrl}/admin/audit`);
    await assertAccessible('audit-log');
    await page.goto(`${app.baseUrl}/admin/apps`);
    await assertAccessible('apps');
    await page.getByLabel('Name', { exact: true }).fill('Grafana');
    await page.getByLabel('Redirect URIs (confidential and public apps)').fill('http://grafana.example.com/login');
    await page.getByRole('button', { name: 'Review and add' }).click();
    await page.getByText('must use https').waitFor();
    await assertAccessible('apps-form-error');
    await page.getByLabel('Redirect URIs (confidential and public apps)').fill('https://grafana.example.com/login');
    await page.getByRole('button', { name: 'Review and add' }).click();
    await page.getByRole('heading', { name: 'Add Grafana' }).waitFor();
    await assertAccessible('app-review');
    await page.goto(`${app.baseUrl}/admin/apps`);
    await page.getByRole('link', { name: 'Wiki' }).click();
    await assertAccessible('app');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    await signInWithPassword(page, app.baseUrl, { email: 'admin@acme.test' });
    await page.waitForURL(/\/sign-in\/two-factor$/);
    await assertAccessible('passcode');
    await page.getByRole('link', { name: 'Use a recovery code' }).click();
    await assertAccessible('passcode-recovery-code');
    assert.equal(checked.length, 18);
  });

  it('the keyboard focus shows as a solid ring that stands out from the page', { timeout: 60_000 }, async () => {
    for (const path of ['/sign-in', '/sign-in/two-factor?method=totp']) {
      await page.goto(`${app.baseUrl}${path}`);
      for (let step = 0; step < 4; step += 1) {
        await page.keyboard.press('Tab');
        const focused = (await page.evaluate(FOCUSED)) as { element: string; style: string; width: string; offset: string; color: string; background: string };
        // Past the page's last control, focus leaves for the browser's own.
        if (focused.element.startsWith('<body')) {
          assert.ok(step >= 2, `${path}: only ${step} controls take the focus`);
          break;
        }
        assert.equal(focused.style, 'solid', focused.element);
        assert.ok(parseFloat(focused.width) >= 2, `${focused.element}: ring ${focused.width} thick`);
        assert.ok(parseFloat(focused.offset) >= 1, `${focused.element}: ring set off from the control`);
        assert.ok(contrast(focused.color, focused.background) >= 3, `${focused.element}: ${focused.color} on ${focused.background}`);
      }
    }
  });
});
