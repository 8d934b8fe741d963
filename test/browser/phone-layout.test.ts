// Tessera on a phone (390 × 844, an iPhone 14's viewport): nothing scrolls sideways or
// is cut off on People, the audit log, Security settings, the recovery codes and the
// passcode page; small fields are small and buttons keep their distance (issue 20,
// "Looks and words"). Each page is saved to test-artifacts/phone-*.png to look at.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { createAccount } from '../../src/services/accounts.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { createUser } from '../../src/services/users.js';
import { STRONG_PASSWORD } from '../support/harness.js';
import {
  chromiumSkipReason,
  confirmWithPasswordIfAsked,
  enrolAuthenticatorApp,
  launchBrowser,
  newBrowserContext,
  screenshot,
  signInWithPassword,
  startServedApp,
  type ServedApp,
} from '../support/browser.js';

const PHONE = { width: 390, height: 844 };

// A string: this project's TypeScript has no DOM types. Lists what reaches past the
// right edge of the screen, which a table scrolling inside its own box also does.
const OVERFLOW = `(() => {
  const sticking = [];
  for (const element of document.querySelectorAll('body *')) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && box.right > window.innerWidth + 1) {
      sticking.push(element.tagName.toLowerCase() + (element.className ? '.' + String(element.className).trim().replace(/ +/g, '.') : '') + ' "' + (element.textContent || '').trim().slice(0, 30) + '"');
    }
  }
  return { scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth, sticking: sticking.slice(0, 8) };
})()`;

async function assertFitsThePhone(page: Page, name: string): Promise<void> {
  await screenshot(page, `phone-${name}`);
  const overflow = (await page.evaluate(OVERFLOW)) as { scrollWidth: number; innerWidth: number; sticking: string[] };
  assert.ok(overflow.scrollWidth <= overflow.innerWidth, `${name}: the page is ${overflow.scrollWidth}px wide on a ${overflow.innerWidth}px screen`);
  assert.deepEqual(overflow.sticking, [], `${name}: nothing reaches past the right edge`);
}

async function box(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const found = await locator.boundingBox();
  assert.ok(found, 'the element is shown');
  return found;
}

/** Pixels between the bottom of one element and the top of the next one below it. */
async function gapBetween(above: Locator, below: Locator): Promise<number> {
  const [top, bottom] = [await box(above), await box(below)];
  return bottom.y - (top.y + top.height);
}

describe('Tessera on a phone in Chromium', { skip: chromiumSkipReason() }, () => {
  let app: ServedApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const newPage = async (): Promise<Page> => {
    const context = await newBrowserContext(browser, { viewport: PHONE });
    contexts.push(context);
    return context.newPage();
  };

  before(
    async () => {
      app = await startServedApp();
      const deps = app.runtime.deps;
      assert.ok((await createAccount(deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
      const people = [
        ['admin@acme.test', 'Ada Admin', 'admin', STRONG_PASSWORD],
        ['agent@acme.test', 'Aldo Agent', 'agent', STRONG_PASSWORD],
        ['eve@acme.test', 'Eve Enduser', 'end_user', STRONG_PASSWORD],
        ['bartholomew.featherstonehaugh@acme-subsidiary.test', 'Bartholomew Featherstonehaugh-Smythe', 'agent', null],
      ] as const;
      for (const [email, name, role, password] of people) {
        assert.ok((await createUser(deps, { account: 'acme', email, name, role, password }, NO_REQUEST_CONTEXT)).ok);
      }
      browser = await launchBrowser();
    },
    { timeout: 60_000 },
  );

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await app?.close();
  });

  it('an admin turns on 2FA and reads People, the audit log and the settings without scrolling sideways', { timeout: 90_000 }, async () => {
    const page = await newPage();
    await signInWithPassword(page, app.baseUrl, { email: 'admin@acme.test' });
    await page.waitForURL(/\/profile\/security$/);
    await enrolAuthenticatorApp(page);
    await assertFitsThePhone(page, 'recovery-codes');
    assert.equal(await page.getByText('Two-factor authentication is on').count(), 1, 'said once, not again as the heading');
    await page.getByLabel('I have saved these recovery codes').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/profile\/security/);
    await assertFitsThePhone(page, 'security-settings');

    await page.goto(`${app.baseUrl}/admin/users`);
    await assertFitsThePhone(page, 'people');
    const role = page.getByLabel('Role of Aldo Agent');
    assert.ok((await box(role)).width >= 96, 'the role menu shows its whole value');

    await page.goto(`${app.baseUrl}/admin/security`);
    await assertFitsThePhone(page, 'account-security');
    for (const name of ['Grace period (days)', 'Stay signed in for (days)', 'Trust a computer for (days)']) {
      assert.ok((await box(page.getByLabel(name))).width <= 160, `${name}: a number of days needs a short field`);
    }
    // A checkbox's hint sits right under its words, apart from the next checkbox.
    const requirement = page.locator('label.checkbox').filter({ hasText: 'Require two-factor authentication for all agents' });
    const hint = page.locator('label.checkbox + .hint').first();
    assert.ok((await gapBetween(requirement, hint)) <= 8, 'the hint belongs to the checkbox above it');
    assert.ok(
      (await box(hint)).x >= (await box(requirement.locator('input'))).x + (await box(requirement.locator('input'))).width,
      'the hint lines up with the words, not the box',
    );
    assert.ok((await gapBetween(hint, page.locator('label.checkbox').nth(1))) >= 12, 'room before the next checkbox');

    await page.goto(`${app.baseUrl}/admin/audit`);
    await assertFitsThePhone(page, 'audit-log');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    await signInWithPassword(page, app.baseUrl, { email: 'admin@acme.test' });
    await page.waitForURL(/\/sign-in\/two-factor$/);
    await assertFitsThePhone(page, 'passcode');
  });

  it('"Send again" keeps its distance from "Verify and turn on"', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await signInWithPassword(page, app.baseUrl, { email: 'eve@acme.test' });
    await page.getByRole('link', { name: 'Enable two-factor authentication' }).click();
    await page.getByLabel('Mobile phone number').fill('+1 201 555 0123');
    await confirmWithPasswordIfAsked(page.locator('form').filter({ has: page.getByLabel('Mobile phone number') }));
    await page.getByRole('button', { name: 'Text me a code' }).click();
    await page.getByText(/We texted a 6-digit code/).waitFor();
    await assertFitsThePhone(page, 'text-message-code');
    assert.ok((await gapBetween(page.getByRole('button', { name: 'Verify and turn on' }), page.getByRole('button', { name: /Send again/ }))) >= 12);
  });

  it('"Send a new code" keeps its distance from the code field', { timeout: 60_000 }, async () => {
    await app.runtime.deps.db
      .updateTable('accounts')
      .set({ require_two_factor: 'staff', require_two_factor_since: Date.now() })
      .where('slug', '=', 'acme')
      .execute();
    const page = await newPage();
    await signInWithPassword(page, app.baseUrl, { email: 'agent@acme.test' });
    await page.getByRole('button', { name: 'Email me a code' }).click();
    await page.getByRole('button', { name: 'Send a new code' }).waitFor();
    await assertFitsThePhone(page, 'email-code');
    assert.ok((await gapBetween(page.getByRole('button', { name: 'Send a new code' }), page.getByText('Code from the email'))) >= 12);
  });
});
