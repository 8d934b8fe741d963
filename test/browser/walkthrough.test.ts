// A walkthrough of what people see in a real browser: an admin unlocks a person whose
// sign-in was paused after wrong passcodes; reloading the issued-code page makes no
// second code; the account security form keeps the admin's choices on an error; the
// sign-in page remembers the account; and the back button after signing in.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import * as OTPAuth from 'otpauth';
import { createAccount } from '../../src/services/accounts.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { createUser } from '../../src/services/users.js';
import { STRONG_PASSWORD } from '../support/harness.js';
import { chromiumSkipReason, launchBrowser, newBrowserContext, screenshot, signInWithPassword, startServedApp, type ServedApp } from '../support/browser.js';

async function apiPost(baseUrl: string, path: string, body: unknown, sessionToken?: string): Promise<{ status: number; json: Record<string, any> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(sessionToken ? { authorization: `Bearer ${sessionToken}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

/** Turns on an authenticator app for a person without 2FA through the API; returns it. */
async function enrolThroughApi(baseUrl: string, email: string): Promise<OTPAuth.TOTP> {
  const signedIn = await apiPost(baseUrl, '/api/v1/sign-in', { account: 'acme', email, password: STRONG_PASSWORD });
  assert.equal(signedIn.json.status, 'signed_in', JSON.stringify(signedIn.json));
  const token = signedIn.json.session_token as string;
  const started = await apiPost(baseUrl, '/api/v1/me/two-factor/totp', {}, token);
  assert.equal(started.status, 200, JSON.stringify(started.json));
  const totp = OTPAuth.URI.parse(started.json.otpauth_uri as string) as OTPAuth.TOTP;
  const verified = await apiPost(baseUrl, '/api/v1/me/two-factor/totp/verify', { code: totp.generate() }, token);
  assert.equal(verified.json.status, 'enabled', JSON.stringify(verified.json));
  return totp;
}

/** A 6-digit code that is none of the app's codes around now. */
function wrongCode(totp: OTPAuth.TOTP): string {
  const near = new Set([-60_000, -30_000, 0, 30_000, 60_000].map((offset) => totp.generate({ timestamp: Date.now() + offset })));
  let candidate = 123_456;
  while (near.has(String(candidate).padStart(6, '0'))) candidate += 1;
  return String(candidate).padStart(6, '0');
}

/** A right code the enrolment (which used the current step) has not spent: the next step's. */
function nextCode(totp: OTPAuth.TOTP): string {
  return totp.generate({ timestamp: Date.now() + 30_000 });
}

describe('a walkthrough in Chromium', { skip: chromiumSkipReason() }, () => {
  let app: ServedApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const apps = new Map<string, OTPAuth.TOTP>();

  const newPage = async (): Promise<Page> => {
    const context = await newBrowserContext(browser);
    contexts.push(context);
    return context.newPage();
  };

  const userId = async (email: string): Promise<string> =>
    (await app.runtime.deps.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;

  before(
    async () => {
      app = await startServedApp();
      const deps = app.runtime.deps;
      assert.ok((await createAccount(deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
      assert.ok((await createAccount(deps, { slug: 'globex', name: 'Globex' }, NO_REQUEST_CONTEXT)).ok);
      const people = [
        ['acme', 'admin@acme.test', 'Ada Admin', 'admin'],
        ['acme', 'locked@acme.test', 'Lee Locked', 'agent'],
        ['acme', 'lost@acme.test', 'Lou Lost', 'agent'],
        ['acme', 'sam@acme.test', 'Sam Agent', 'agent'],
        ['acme', 'ann@acme.test', 'Ann Agent', 'agent'],
        // Account security is changed in another account, so that Acme's sign-ins stay as they are.
        ['globex', 'boss@globex.test', 'Gil Boss', 'admin'],
      ] as const;
      for (const [account, email, name, role] of people) {
        assert.ok((await createUser(deps, { account, email, name, role, password: STRONG_PASSWORD }, NO_REQUEST_CONTEXT)).ok);
      }
      for (const email of ['locked@acme.test', 'lost@acme.test', 'ann@acme.test']) apps.set(email, await enrolThroughApi(app.baseUrl, email));
      browser = await launchBrowser();
    },
    { timeout: 60_000 },
  );

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await app?.close();
  });

  it("an admin unlocks an agent's sign-in paused by wrong passcodes, and the agent signs in", { timeout: 60_000 }, async () => {
    const totp = apps.get('locked@acme.test')!;
    // Ten sign-ins, each with the right password and one wrong passcode.
    let last: { status: number; json: Record<string, any> } | undefined;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const started = await apiPost(app.baseUrl, '/api/v1/sign-in', { account: 'acme', email: 'locked@acme.test', password: STRONG_PASSWORD });
      assert.equal(started.json.status, 'two_factor_required', `sign-in ${attempt + 1}: ${JSON.stringify(started.json)}`);
      last = await apiPost(app.baseUrl, '/api/v1/sign-in/two-factor', { challenge_token: started.json.challenge_token, method: 'totp', code: wrongCode(totp) });
      assert.notEqual(last.status, 200);
    }
    assert.equal(last?.json.error?.code, 'two_factor_locked', JSON.stringify(last?.json));

    const admin = await newPage();
    await signInWithPassword(admin, app.baseUrl, { email: 'admin@acme.test' });
    await admin.waitForURL(/\/profile\/security/);
    await admin.goto(`${app.baseUrl}/admin/users/${await userId('locked@acme.test')}`);
    await admin.getByRole('heading', { name: 'Sign-in paused' }).waitFor();
    await admin.getByText(/Too many wrong passcodes: their sign-in is paused until/).waitFor();
    await admin.locator('#unlock-reason').fill('Called the help desk: the phone clock was wrong');
    assert.equal(await admin.getByLabel('Reason (kept in the audit log)').first().getAttribute('id'), 'unlock-reason', 'the reason field is labelled');
    await admin.locator('#unlock-code').fill(STRONG_PASSWORD);
    await admin.getByRole('button', { name: 'Unlock sign-in' }).click();
    await admin.getByText('Their sign-in is unlocked').waitFor();
    assert.equal(await admin.getByRole('heading', { name: 'Sign-in paused' }).count(), 0, 'the pause is gone from the page');
    await screenshot(admin, 'walkthrough-unlocked');

    const agent = await newPage();
    await signInWithPassword(agent, app.baseUrl, { email: 'locked@acme.test' });
    await agent.waitForURL(/\/sign-in\/two-factor$/);
    await agent.getByLabel('Passcode').fill(nextCode(totp));
    await agent.getByRole('button', { name: 'Verify' }).click();
    await agent.waitForURL(/\/profile\/security/);
    await agent.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
  });

  it('reloading the page with an issued recovery code shows it no more and makes no second code', { timeout: 60_000 }, async () => {
    const admin = await newPage();
    await signInWithPassword(admin, app.baseUrl, { email: 'admin@acme.test' });
    await admin.waitForURL(/\/profile\/security/);
    const id = await userId('lost@acme.test');
    await admin.goto(`${app.baseUrl}/admin/users/${id}`);
    await admin.locator('#issue-reason').fill('Lost phone and recovery codes');
    await admin.locator('#issue-code').fill(STRONG_PASSWORD);
    await admin.getByRole('button', { name: /Get a recovery code/ }).click();
    await admin.waitForURL((url) => url.pathname === `/admin/users/${id}` && url.search === '?done=issued');
    const code = (await admin.locator('#issued-code').innerText()).trim();
    assert.match(code, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);

    const response = await admin.reload();
    assert.equal(response?.request().method(), 'GET', 'the reload asks for the page again, it posts nothing');
    assert.ok(admin.url().endsWith('?done=issued'));
    await admin.getByText(/shown once/).waitFor();
    assert.equal(await admin.locator('#issued-code').count(), 0, 'the code is not shown again');
    await screenshot(admin, 'walkthrough-issued-code-reloaded');

    const mails = (await app.outbox()).filter((m) => m.to === 'lost@acme.test' && /recovery code for you/i.test(m.subject));
    assert.equal(mails.length, 1, 'one email about one issued code');
    const issued = await app.runtime.deps.db
      .selectFrom('audit_events')
      .select('id')
      .where('type', '=', 'admin_recovery_code_issued')
      .where('subject_user_id', '=', id)
      .execute();
    assert.equal(issued.length, 1, 'one code issued');
  });

  it('account security keeps what the admin chose after an out-of-range value and a wrong password', { timeout: 60_000 }, async () => {
    const admin = await newPage();
    await signInWithPassword(admin, app.baseUrl, { account: 'globex', email: 'boss@globex.test' });
    await admin.waitForURL(/\/profile\/security/);
    await admin.goto(`${app.baseUrl}/admin/security`);
    const requireBox = admin.getByLabel('Require two-factor authentication for all agents and administrators');
    const sessionDays = admin.getByLabel('Stay signed in for (days)');
    const savedSessionDays = await sessionDays.inputValue();

    // An out-of-range value: the form again, the error beside the field, nothing lost.
    await requireBox.check();
    await admin.getByLabel('Grace period (days)').fill('3');
    await sessionDays.fill('200');
    await admin.getByRole('button', { name: 'Review changes' }).click();
    await admin.locator('#field-session_days-error').waitFor();
    assert.ok((await admin.locator('#field-session_days-error').innerText()).trim().length > 0);
    assert.equal(await admin.locator('#field-session_days').getAttribute('aria-invalid'), 'true');
    assert.equal(await admin.getByRole('heading', { name: 'Review changes' }).count(), 0, 'no review page');
    assert.equal(await requireBox.isChecked(), true, 'the ticked box is still ticked');
    assert.equal(await sessionDays.inputValue(), '200');
    assert.equal(await admin.getByLabel('Grace period (days)').inputValue(), '3');
    await screenshot(admin, 'walkthrough-security-out-of-range');

    // A wrong password on the review: the review again, with an error.
    await sessionDays.fill(savedSessionDays);
    await admin.getByRole('button', { name: 'Review changes' }).click();
    await admin.getByRole('heading', { name: 'Review changes' }).waitFor();
    await admin.getByText('Two-factor authentication will be required for every agent and admin').waitFor();
    await admin.getByLabel('Your password').fill(`${STRONG_PASSWORD}-wrong`);
    await admin.getByRole('button', { name: 'Confirm and save' }).click();
    await admin.locator('#policy-code-error').waitFor();
    await admin.getByRole('heading', { name: 'Review changes' }).waitFor();
    await admin.getByText('Two-factor authentication will be required for every agent and admin').waitFor();
    await screenshot(admin, 'walkthrough-security-wrong-password');

    // The right one: saved as chosen.
    await admin.getByLabel('Your password').fill(STRONG_PASSWORD);
    await admin.getByRole('button', { name: 'Confirm and save' }).click();
    await admin.getByText('The security settings were saved.').waitFor();
    await admin.getByText(/Required for staff since .*, with 3 days of grace\./).waitFor();
    assert.equal(await requireBox.isChecked(), true);
    assert.equal(await admin.getByLabel('Grace period (days)').inputValue(), '3');
    assert.equal(await sessionDays.inputValue(), savedSessionDays);
  });

  it('the sign-in page remembers the account typed last time on this computer', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await page.goto(`${app.baseUrl}/sign-in`);
    assert.equal(await page.getByLabel('Account').inputValue(), '', 'empty on a new computer');
    await signInWithPassword(page, app.baseUrl, { account: 'Acme Support', email: 'sam@acme.test' });
    await page.waitForURL(/\/profile\/security/);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    await page.goto(`${app.baseUrl}/sign-in`);
    assert.equal(await page.getByLabel('Account').inputValue(), 'Acme Support');
    assert.equal(await page.getByLabel('Email').inputValue(), '');
  });

  it('the back button after signing in with a passcode leads to Security settings, not to "expired"', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await signInWithPassword(page, app.baseUrl, { email: 'ann@acme.test' });
    await page.waitForURL(/\/sign-in\/two-factor$/);
    await page.getByLabel('Passcode').fill(nextCode(apps.get('ann@acme.test')!));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/profile\/security$/);

    const expectSecuritySettings = async (step: string) => {
      await page.waitForURL(/\/profile\/security$/);
      await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
      assert.equal(await page.getByText('This sign-in has expired').count(), 0, `${step}: no "expired"`);
    };
    // Back to the passcode page, which the browser asks for again and which sends it on.
    const back = await page.goBack();
    assert.match(back?.request().redirectedFrom()?.url() ?? '', /\/sign-in\/two-factor$/, 'back went to the passcode page');
    await expectSecuritySettings('back once');
    await page.goto(`${app.baseUrl}/sign-in/two-factor`);
    await expectSecuritySettings('the passcode page typed in');
  });
});
