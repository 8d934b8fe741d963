// The account admin's day in a real browser: require 2FA for staff and watch an
// agent be walked through the email code and enrolment; help a locked-out agent
// with a one-time recovery code; and see that another account's admin sees nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import * as OTPAuth from 'otpauth';
import { createAccount } from '../../src/services/accounts.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { createUser } from '../../src/services/users.js';
import { STRONG_PASSWORD } from '../support/harness.js';
import {
  STEP_TIMEOUT_IN_MILLISECONDS,
  chromiumSkipReason,
  documentationScreenshot,
  launchBrowser,
  newBrowserContext,
  signInWithPassword,
  startServedApp,
  type ServedApp,
} from '../support/browser.js';

/** Enrols an authenticator app on the open enrolment wizard; returns it. */
async function enrolApp(page: Page): Promise<OTPAuth.TOTP> {
  await page.getByRole('button', { name: 'Use an authenticator app' }).click();
  await page.getByText("Can't scan it? Enter the key by hand").click();
  const key = (await page.locator('#secret-key').innerText()).replace(/ /g, '');
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(key) });
  await page.getByLabel('6-digit code from the app').fill(totp.generate());
  await page.getByRole('button', { name: 'Verify and turn on' }).click();
  await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
  await page.getByLabel('I have saved these recovery codes').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(/\/profile\/security/);
  return totp;
}

describe('account admin in Chromium', { skip: chromiumSkipReason() }, () => {
  let app: ServedApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const newPage = async () => {
    const context = await newBrowserContext(browser, { viewport: { width: 1200, height: 900 } });
    contexts.push(context);
    return context.newPage();
  };

  before(
    async () => {
      app = await startServedApp();
      const deps = app.runtime.deps;
      for (const slug of ['acme', 'globex'])
        assert.ok((await createAccount(deps, { slug, name: slug === 'acme' ? 'Acme Support' : 'Globex' }, NO_REQUEST_CONTEXT)).ok);
      const people = [
        ['acme', 'admin@acme.test', 'Ada Admin', 'admin'],
        ['acme', 'agent@acme.test', 'Aldo Agent', 'agent'],
        ['acme', 'lost@acme.test', 'Lou Lost', 'agent'],
        ['globex', 'boss@globex.test', 'Gil Boss', 'admin'],
      ] as const;
      for (const [account, email, name, role] of people) {
        assert.ok((await createUser(deps, { account, email, name, role, password: STRONG_PASSWORD }, NO_REQUEST_CONTEXT)).ok);
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

  let adminPage: Page;

  it('the admin requires 2FA for staff after reading what will happen', { timeout: 60_000 }, async () => {
    // Lou enrols first, so he has something to lose later.
    const lou = await newPage();
    await signInWithPassword(lou, app.baseUrl, { account: 'acme', email: 'lost@acme.test' });
    await lou.getByRole('link', { name: 'Enable two-factor authentication' }).click();
    await enrolApp(lou);

    adminPage = await newPage();
    await signInWithPassword(adminPage, app.baseUrl, { account: 'acme', email: 'admin@acme.test' });
    await adminPage.getByRole('link', { name: 'Account security' }).click();
    await adminPage.getByLabel('Require two-factor authentication for all agents and administrators').check();
    await adminPage.getByRole('button', { name: 'Review changes' }).click();
    await adminPage.getByText('Two-factor authentication will be required for every agent and admin').waitFor();
    await adminPage.getByText('Nobody loses or has to redo the two-factor authentication they already have.').waitFor();
    await documentationScreenshot(adminPage, 'admin-require-review', { fullPage: true });
    await adminPage.getByLabel('Your password').fill(STRONG_PASSWORD);
    await adminPage.getByRole('button', { name: 'Confirm and save' }).click();
    await adminPage.getByText('The security settings were saved.').waitFor();
    await adminPage.getByText(/Required for staff since/).waitFor();
  });

  it('an agent without 2FA is walked through the email code and enrolment, and can do nothing else first', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await signInWithPassword(page, app.baseUrl, { account: 'acme', email: 'agent@acme.test' });
    await page.waitForURL(/\/profile\/two-factor\/setup$/);
    await page.goto(`${app.baseUrl}/profile/security`);
    await page.waitForURL(/\/profile\/two-factor\/setup$/, { timeout: STEP_TIMEOUT_IN_MILLISECONDS });
    await page.getByRole('heading', { name: 'First, confirm it is you' }).waitFor();
    await page.getByRole('button', { name: 'Email me a code' }).click();
    const mail = (await app.outbox()).find((m) => m.to === 'agent@acme.test' && /confirmation code/i.test(m.subject));
    assert.ok(mail, 'the code was emailed');
    const code = /\b(\d{6})\b/.exec(mail.body)![1]!;
    await page.getByLabel('Code from the email').fill(code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/profile\/two-factor\/setup$/);
    await enrolApp(page);
    await page.getByText('10 recovery codes left.').waitFor();
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    // Required: the turn-off form is not offered.
    await page.getByText('Your account requires two-factor authentication for staff, so it cannot be turned off.').waitFor();
  });

  it('the admin issues a recovery code for a locked-out agent, who signs in with it and must enrol again', { timeout: 60_000 }, async () => {
    const lou = await app.runtime.deps.db.selectFrom('users').select('id').where('email', '=', 'lost@acme.test').executeTakeFirstOrThrow();
    const oldMethodId = (await app.runtime.deps.db.selectFrom('two_factor_methods').select('id').where('user_id', '=', lou.id).executeTakeFirstOrThrow()).id;
    await adminPage.getByRole('link', { name: 'People' }).click();
    await documentationScreenshot(adminPage, 'admin-people', { fullPage: true });
    await adminPage.getByRole('link', { name: 'Lou Lost' }).click();
    await adminPage.getByLabel('Reason (kept in the audit log)').first().fill('Lost phone; called the help desk');
    await adminPage.locator('#issue-code').fill(STRONG_PASSWORD);
    await adminPage.getByRole('button', { name: /Get a recovery code/ }).click();
    const code = (await adminPage.locator('#issued-code').innerText()).trim();
    assert.match(code, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    await documentationScreenshot(adminPage, 'admin-issued-code', { fullPage: true });

    const louPage = await newPage();
    await signInWithPassword(louPage, app.baseUrl, { account: 'acme', email: 'lost@acme.test' });
    await louPage.waitForURL(/\/sign-in\/two-factor$/);
    await louPage.getByRole('link', { name: 'Use a recovery code' }).click();
    await louPage.getByLabel('Recovery code').fill(code);
    await louPage.getByRole('button', { name: 'Verify' }).click();
    await louPage.waitForURL(/\/profile\/two-factor\/setup$/);
    await louPage.getByText('Set up two-factor authentication to continue').waitFor();
    await enrolApp(louPage);
    // The old authenticator is gone: only the new one remains.
    const lou2 = await app.runtime.deps.db.selectFrom('users').select('id').where('email', '=', 'lost@acme.test').executeTakeFirstOrThrow();
    const methods = await app.runtime.deps.db.selectFrom('two_factor_methods').select(['id', 'status']).where('user_id', '=', lou2.id).execute();
    assert.equal(methods.length, 1);
    assert.ok(!methods.some((m) => m.id === oldMethodId), 'the old authenticator was removed');
    assert.ok((await app.outbox()).some((m) => m.to === 'lost@acme.test' && /recovery code for you/i.test(m.subject)));
  });

  it("the audit log shows what happened, and another account's admin sees none of it", { timeout: 60_000 }, async () => {
    await adminPage.getByRole('link', { name: 'Audit log' }).click();
    // Events in words; the exports keep the type (admin_recovery_code_issued).
    await adminPage.getByRole('cell', { name: 'One-time recovery code issued by an admin' }).first().waitFor();
    await adminPage.getByText('Lost phone; called the help desk').first().waitFor();
    await documentationScreenshot(adminPage, 'admin-audit-log', { fullPage: true });

    const boss = await newPage();
    await signInWithPassword(boss, app.baseUrl, { account: 'globex', email: 'boss@globex.test' });
    await boss.goto(`${app.baseUrl}/admin/users`);
    assert.equal(await boss.getByText('agent@acme.test').count(), 0);
    const acmeAgent = await app.runtime.deps.db.selectFrom('users').select('id').where('email', '=', 'agent@acme.test').executeTakeFirstOrThrow();
    const response = await boss.goto(`${app.baseUrl}/admin/users/${acmeAgent.id}`);
    assert.equal(response?.status(), 404);
    await boss.goto(`${app.baseUrl}/admin/audit`);
    assert.equal(await boss.getByText('Lost phone; called the help desk').count(), 0);
  });
});
