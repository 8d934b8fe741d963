// Text messages in a real browser (issue "SMS passcodes"): turn SMS on from Security
// settings with the country picker, read the texted code from the development outbox,
// then sign in with a code texted automatically (SMS is the preferred method), with
// "Send again" counting down its cooldown.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createAccount } from '../../src/services/accounts.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { createUser } from '../../src/services/users.js';
import { STRONG_PASSWORD } from '../support/harness.js';
import { chromiumSkipReason, launchBrowser, newBrowserContext, screenshot, signInWithPassword, startServedApp, type ServedApp } from '../support/browser.js';

const PHONE = '+447400123456';

describe('text messages in Chromium', { skip: chromiumSkipReason() }, () => {
  let app: ServedApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const newPage = async (): Promise<Page> => {
    const context = await newBrowserContext(browser);
    contexts.push(context);
    return context.newPage();
  };

  /** The code of the newest text to the number, as a developer reads it at /dev/outbox. */
  const textedCodes = async (): Promise<string[]> =>
    (await app.outbox())
      .filter((m) => m.channel === 'sms' && m.to === PHONE)
      .map((m) => /^(\d{6}) is your Tessera \(Acme Support\) verification code\.\n\n@127\.0\.0\.1 #\1$/.exec(m.body)![1]!);

  before(
    async () => {
      app = await startServedApp();
      assert.ok((await createAccount(app.runtime.deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
      await app.runtime.deps.db.updateTable('accounts').set({ country: 'GB' }).where('slug', '=', 'acme').execute();
      assert.ok(
        (
          await createUser(
            app.runtime.deps,
            { account: 'acme', email: 'sam@acme.test', name: 'Sam Sms', role: 'agent', password: STRONG_PASSWORD },
            NO_REQUEST_CONTEXT,
          )
        ).ok,
      );
      browser = await launchBrowser();
    },
    { timeout: 60_000 },
  );

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await app?.close();
  });

  it('turns text messages on from Security settings, with the code read from the outbox', { timeout: 90_000 }, async () => {
    const page = await newPage();
    await signInWithPassword(page, app.baseUrl, { email: 'sam@acme.test' });
    await page.getByRole('link', { name: 'Enable two-factor authentication' }).click();
    await page.getByText('Text messages are the weaker method').waitFor();
    assert.equal(await page.getByLabel('Country').inputValue(), 'GB', 'the account country is the default');
    await screenshot(page, 'sms-choose-method');
    await page.getByLabel('Mobile phone number').fill('07400 123456');
    await page.getByRole('button', { name: 'Text me a code' }).click();
    await page.getByText('We texted a 6-digit code to •••• ••• 56').waitFor();
    const resend = page.getByRole('button', { name: /Send again/ });
    assert.equal(await resend.isDisabled(), true, 'Send again waits for its cooldown');
    assert.match((await resend.textContent()) ?? '', /Send again \(\d+ s\)/);
    const [code] = await textedCodes();
    assert.ok(code);
    await page.getByLabel('6-digit code from the text').fill(code);
    await page.getByRole('button', { name: 'Verify and turn on' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    await page.getByLabel('I have saved these recovery codes').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('Text messages to •••• ••• 56').waitFor();
    await screenshot(page, 'sms-security-settings');
  });

  it('signs in with a code texted as soon as the password is accepted', { timeout: 90_000 }, async () => {
    const before = (await textedCodes()).length;
    const page = await newPage();
    await signInWithPassword(page, app.baseUrl, { email: 'sam@acme.test' });
    await page.getByText('We texted a 6-digit code to •••• ••• 56 for Acme Support').waitFor();
    const codes = await textedCodes();
    assert.equal(codes.length, before + 1, 'one text, sent by the sign-in itself');
    assert.match((await page.getByRole('button', { name: /Send again/ }).textContent()) ?? '', /Send again \(\d+ s\)/);
    await screenshot(page, 'sms-passcode-page');
    await page.getByLabel('Code from the text').fill(codes[0]!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Security settings' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/profile/security');
  });
});
