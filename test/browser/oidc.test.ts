// Signing in to another app through Tessera in real Chromium (DESIGN.md, OpenID
// Connect): the app is a small server on 127.0.0.1 using openid-client, so the browser
// really leaves Tessera for another origin at the end of each sign-in. Tessera's pages
// carry `form-action 'self'`, which Chromium also applies to the redirects after a form
// post: these tests are the proof that the hand-over page (/interaction/:uid/continue,
// a meta refresh) gets the person to the app with no CSP violation on the way. (With the
// provider's redirect sent straight after the passcode form instead, Chromium stays on
// the passcode page and logs "Sending form data to '…/sign-in/two-factor' violates the
// following Content Security Policy directive: "form-action 'self'"".)
import { after, afterEach, before, describe, it } from 'node:test';
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
import { registerApp } from '../support/oidc.js';
import { RelyingParty, type Landing } from '../support/relying-party.js';

const PHISHING_RESISTANT = 'urn:tessera:acr:phishing-resistant';

/** Every address a tab was sent to (redirects included) and every page it showed. */
class Trail {
  requested: string[] = [];
  shown: string[] = [];

  constructor(page: Page) {
    page.on('request', (request) => {
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) this.requested.push(request.url());
    });
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) this.shown.push(frame.url());
    });
  }

  /** Starts a new leg: what came before is forgotten. */
  reset(): void {
    this.requested = [];
    this.shown = [];
  }
}

/** A USB security key with a fingerprint reader that always says yes, on this page. */
async function attachVirtualKey(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
}

async function apiPost(baseUrl: string, path: string, body: unknown, sessionToken?: string): Promise<Record<string, any>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(sessionToken ? { authorization: `Bearer ${sessionToken}` } : {}) },
    body: JSON.stringify(body),
  });
  return (await response.json()) as Record<string, any>;
}

/** Turns on an authenticator app for a person without 2FA through the API. */
async function enrolThroughApi(baseUrl: string, email: string): Promise<OTPAuth.TOTP> {
  const signedIn = await apiPost(baseUrl, '/api/v1/sign-in', { account: 'acme', email, password: STRONG_PASSWORD });
  assert.equal(signedIn.status, 'signed_in', JSON.stringify(signedIn));
  const started = await apiPost(baseUrl, '/api/v1/me/two-factor/totp', {}, signedIn.session_token);
  const totp = OTPAuth.URI.parse(started.otpauth_uri as string) as OTPAuth.TOTP;
  const verified = await apiPost(baseUrl, '/api/v1/me/two-factor/totp/verify', { code: totp.generate() }, signedIn.session_token);
  assert.equal(verified.status, 'enabled', JSON.stringify(verified));
  return totp;
}

/** A right code that the enrolment (which used the current step) has not spent. */
const nextCode = (totp: OTPAuth.TOTP) => totp.generate({ timestamp: Date.now() + 30_000 });

describe('OpenID Connect in Chromium', { skip: chromiumSkipReason() }, () => {
  let tessera: ServedApp;
  let grafana: RelyingParty;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Console errors, page errors and CSP violations, from every page of every context. */
  const problems: string[] = [];
  let annTotp: OTPAuth.TOTP;

  /** A fresh browser profile whose pages report their console errors and every CSP
   * violation (the securitypolicyviolation event, listened to before any script runs). */
  async function watchedContext(): Promise<BrowserContext> {
    const context = await newBrowserContext(browser);
    contexts.push(context);
    await context.exposeBinding('tesseraTestReportViolation', (source, violation: Record<string, string>) => {
      problems.push(`CSP violation on ${source.frame.url()}: ${JSON.stringify(violation)}`);
    });
    // (Strings: this project's TypeScript has no DOM types.)
    await context.addInitScript(`document.addEventListener('securitypolicyviolation', function (event) {
  window.tesseraTestReportViolation({ directive: event.effectiveDirective, blocked: event.blockedURI, document: event.documentURI, sample: event.sample });
}, true);`);
    context.on('page', (page) => {
      page.on('console', (message) => {
        if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(`console on ${page.url()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
    });
    return context;
  }

  const fromTessera = (url: string) => url.startsWith(`${tessera.baseUrl}/`);
  const atApp = (url: URL) => url.toString().startsWith(grafana.redirectUri);

  /** Waits for the app's own page after its callback, and returns what the app got. */
  async function landing(page: Page, before: number): Promise<Landing> {
    await page.waitForURL(atApp);
    await page.getByRole('heading', { name: /^(Signed in as|Sign-in failed)/ }).waitFor();
    assert.equal(grafana.landings.length, before + 1, 'the app got one answer');
    return grafana.landings.at(-1)!;
  }

  before(
    async () => {
      tessera = await startServedApp({ hostname: 'localhost' });
      assert.ok((await createAccount(tessera.runtime.deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
      for (const person of [
        { email: 'ann@acme.test', name: 'Ann Agent', role: 'agent' as const },
        { email: 'kim@acme.test', name: 'Kim Admin', role: 'admin' as const },
      ]) {
        assert.ok((await createUser(tessera.runtime.deps, { account: 'acme', ...person, password: STRONG_PASSWORD }, NO_REQUEST_CONTEXT)).ok);
      }
      annTotp = await enrolThroughApi(tessera.baseUrl, 'ann@acme.test');
      grafana = await RelyingParty.start();
      const registered = await registerApp(tessera, {
        accountSlug: 'acme',
        name: 'Grafana',
        redirectUris: [grafana.redirectUri],
        postLogoutRedirectUris: [`${grafana.origin}/`],
      });
      await grafana.connect(tessera.baseUrl, registered);
      browser = await launchBrowser();
    },
    { timeout: 60_000 },
  );

  afterEach(() => {
    assert.deepEqual(problems.splice(0), [], 'no console error and no CSP violation on any page');
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await grafana?.close();
    await tessera?.close();
  });

  let annPage: Page;
  let annTrail: Trail;

  it('the watcher sees a CSP violation when there is one', { timeout: 30_000 }, async () => {
    const context = await watchedContext();
    const page = await context.newPage();
    await page.goto(`${tessera.baseUrl}/sign-in`);
    await page.evaluate(`(() => {
  const script = document.createElement('script');
  script.textContent = 'void 0';
  document.body.append(script);
})()`);
    for (let tries = 0; tries < 50 && !problems.some((problem) => problem.startsWith('CSP violation')); tries += 1) await page.waitForTimeout(100);
    const seen = problems.splice(0);
    assert.ok(
      seen.some((problem) => /^CSP violation on .*\/sign-in: .*"directive":"script-src-elem"/.test(problem)),
      seen.join('\n'),
    );
    assert.ok(
      seen.some((problem) => /^console on .*Content Security Policy/.test(problem)),
      seen.join('\n'),
    );
    await context.close();
  });

  it('a person with a passcode signs in to the app through the pages and lands on its callback with a code it redeems', { timeout: 60_000 }, async () => {
    const context = await watchedContext();
    annPage = await context.newPage();
    annTrail = new Trail(annPage);
    await annPage.goto(grafana.loginUrl());
    await annPage.getByRole('heading', { name: 'Sign in to Grafana' }).waitFor();
    assert.match(annPage.url(), new RegExp(`^${tessera.baseUrl}/interaction/[^/]+$`));
    await annPage.getByText('Acme Support', { exact: true }).waitFor();
    assert.equal(await annPage.getByLabel('Account').count(), 0, 'the account is the app’s, not asked');
    await documentationScreenshot(annPage, 'sign-in-to-an-app');
    await annPage.getByLabel('Email').fill('ann@acme.test');
    await annPage.getByLabel('Password').fill(STRONG_PASSWORD);
    await annPage.getByRole('button', { name: 'Sign in', exact: true }).click();
    await annPage.waitForURL(/\/sign-in\/two-factor$/);
    await annPage.getByLabel('Passcode').fill(nextCode(annTotp));
    await annPage.getByRole('button', { name: 'Verify' }).click();
    const landed = await landing(annPage, 0);

    assert.equal(landed.error, null);
    assert.ok(landed.url.searchParams.get('code'), 'the callback carries a code');
    const claims = landed.claims!;
    assert.equal(claims.iss, tessera.baseUrl);
    assert.equal(claims.acr, 'urn:tessera:acr:two-factor');
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(claims.email, 'ann@acme.test');
    assert.equal(claims.account, 'acme');
    assert.equal(claims.account_name, 'Acme Support');
    assert.equal(claims.role, 'agent');
    assert.equal(claims.name, 'Ann Agent');
    assert.ok(landed.tokens?.refresh_token, 'offline_access gave a refresh token');
    await annPage.getByRole('heading', { name: 'Signed in as ann@acme.test' }).waitFor();

    // The way there: the passcode form's redirect stayed at Tessera (/continue), whose
    // page moved on by itself to the provider, which sent the browser to the app.
    const continuing = annTrail.requested.findIndex((url) => /\/interaction\/[^/]+\/continue$/.test(url));
    assert.ok(continuing > 0, annTrail.requested.join('\n'));
    const after = annTrail.requested.slice(continuing + 1);
    assert.ok(
      after.every(
        (url) => url.startsWith(`${tessera.baseUrl}/oidc/auth/`) || url.startsWith(`${tessera.baseUrl}/interaction/`) || url.startsWith(grafana.redirectUri),
      ),
      after.join('\n'),
    );
    assert.ok(after.at(-1)!.startsWith(grafana.redirectUri));
    assert.deepEqual(
      annTrail.shown.filter(fromTessera).map((url) => new URL(url).pathname.replace(/\/interaction\/[^/]+/, '/interaction/:uid')),
      ['/interaction/:uid', '/sign-in/two-factor', '/interaction/:uid/continue'],
      'the pages shown: sign-in, passcode, the hand-over',
    );
  });

  it('signed in already, the next sign-in to the app shows no page of Tessera at all', { timeout: 30_000 }, async () => {
    const first = grafana.landings.at(-1)!;
    annTrail.reset();
    const before = grafana.landings.length;
    await annPage.goto(grafana.loginUrl());
    const landed = await landing(annPage, before);
    assert.equal(landed.error, null);
    assert.equal(landed.claims!.sub, first.claims!.sub);
    assert.equal(landed.claims!.acr, 'urn:tessera:acr:two-factor');
    assert.equal(landed.claims!.auth_time, first.claims!.auth_time, 'the same sign-in');
    assert.deepEqual(annTrail.shown.filter(fromTessera), [], 'no page of Tessera was shown');
    assert.deepEqual(
      annTrail.requested.map((url) => new URL(url).origin + new URL(url).pathname),
      [`${grafana.origin}/login`, `${tessera.baseUrl}/oidc/auth`, grafana.redirectUri],
    );
  });

  it(
    'an app asking for a security key: "needs a security key", and "Back to Grafana" brings unmet_authentication_requirements',
    { timeout: 30_000 },
    async () => {
      annTrail.reset();
      const before = grafana.landings.length;
      await annPage.goto(grafana.loginUrl({ acr_values: PHISHING_RESISTANT }));
      await annPage.getByRole('heading', { name: 'Grafana needs a security key' }).waitFor();
      assert.match(annPage.url(), new RegExp(`^${tessera.baseUrl}/interaction/[^/]+$`));
      // The refusal is a 403, which Chromium logs; nothing else may be there.
      assert.deepEqual(problems.splice(0), [`console on ${annPage.url()}: Failed to load resource: the server responded with a status of 403 (Forbidden)`]);
      await screenshot(annPage, 'oidc-needs-a-security-key');
      await annPage.getByRole('button', { name: 'Back to Grafana' }).click();
      const landed = await landing(annPage, before);
      assert.equal(landed.error, 'unmet_authentication_requirements');
      assert.equal(landed.url.searchParams.get('code'), null);
      await annPage.getByRole('heading', { name: 'Sign-in failed: unmet_authentication_requirements' }).waitFor();
    },
  );

  it('the app\'s logout: "Stay signed in" goes back to the app and keeps the Tessera session', { timeout: 30_000 }, async () => {
    const signedIn = grafana.landings.find((landed) => landed.claims?.email === 'ann@acme.test')!.tokens!;
    await annPage.goto(grafana.logoutUrl(signedIn.id_token!, 'stay'));
    await annPage.getByRole('heading', { name: 'Sign out?' }).waitFor();
    await annPage.getByRole('button', { name: 'Stay signed in' }).click();
    await annPage.getByRole('heading', { name: 'Grafana home' }).waitFor();
    assert.equal(annPage.url(), `${grafana.origin}/?state=stay`);
    await annPage.goto(`${tessera.baseUrl}/profile/security`);
    assert.equal(annPage.url(), `${tessera.baseUrl}/profile/security`, 'still signed in to Tessera');
    await assert.rejects(grafana.refresh(signedIn.refresh_token!), 'what the app had is ended');
  });

  it('the app\'s logout: "Sign out" signs out of Tessera and goes back to the app', { timeout: 30_000 }, async () => {
    const trail = new Trail(annPage);
    const before = grafana.landings.length;
    await annPage.goto(grafana.loginUrl());
    const landed = await landing(annPage, before);
    await annPage.goto(grafana.logoutUrl(landed.tokens!.id_token!, 'bye'));
    await annPage.getByRole('heading', { name: 'Sign out?' }).waitFor();
    await annPage.getByRole('button', { name: 'Sign out', exact: true }).last().click();
    await annPage.getByRole('heading', { name: 'Grafana home' }).waitFor();
    assert.equal(annPage.url(), `${grafana.origin}/?state=bye`);
    await annPage.goto(`${tessera.baseUrl}/profile/security`);
    assert.match(annPage.url(), /\/sign-in\?next=/, 'signed out of Tessera');

    // Signed out already, the app's logout asks nothing: the provider's own page posts
    // its form by itself (an inline script its CSP hash allows) and the browser is back.
    trail.reset();
    await annPage.goto(grafana.logoutUrl(landed.tokens!.id_token!, 'again'));
    await annPage.getByRole('heading', { name: 'Grafana home' }).waitFor();
    assert.equal(annPage.url(), `${grafana.origin}/?state=again`);
    assert.ok(trail.requested.includes(`${tessera.baseUrl}/oidc/logout/confirm`), trail.requested.join('\n'));
  });

  it('step-up: signed in with the passcode, an app asking for a security key gets one touch of the key, no password', { timeout: 90_000 }, async () => {
    const context = await watchedContext();
    const page = await context.newPage();
    await attachVirtualKey(page);
    // Kim adds a security key, then an authenticator app (confirmed with the key).
    await signInWithPassword(page, tessera.baseUrl, { email: 'kim@acme.test' });
    await page.waitForURL(/\/profile\/security$/);
    await page.getByRole('link', { name: 'Enable two-factor authentication' }).click();
    await page.getByLabel('Name').fill('Blue YubiKey');
    await page.getByRole('button', { name: 'Add a security key', exact: true }).click();
    await page.getByRole('button', { name: 'Use my security key' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    await page.getByLabel('I have saved these recovery codes').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/profile\/security/);
    await page.goto(`${tessera.baseUrl}/profile/two-factor/setup`);
    const appCard = page.locator('section.card', { has: page.getByRole('heading', { name: 'Use an authenticator app' }) });
    await appCard.getByRole('button', { name: 'Use your security key' }).click();
    await page.waitForURL(/\/profile\/two-factor\/totp$/);
    const totp = OTPAuth.URI.parse(
      readQrCode((await page.getByRole('img', { name: 'QR code for your authenticator app' }).getAttribute('src'))!),
    ) as OTPAuth.TOTP;
    await page.getByLabel('6-digit code from the app').fill(totp.generate());
    await page.getByRole('button', { name: 'Verify and turn on' }).click();
    await page.waitForURL(/\/profile\/security/);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);

    // Into Grafana with password and passcode (the key is offered first; Kim picks the app).
    const trail = new Trail(page);
    let before = grafana.landings.length;
    await page.goto(grafana.loginUrl());
    await page.getByRole('heading', { name: 'Sign in to Grafana' }).waitFor();
    await page.getByLabel('Email').fill('kim@acme.test');
    await page.getByLabel('Password').fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/sign-in\/two-factor$/);
    await page.getByRole('link', { name: 'Use your authenticator app' }).click();
    await page.getByLabel('Passcode').fill(nextCode(totp));
    await page.getByRole('button', { name: 'Verify' }).click();
    const withPasscode = await landing(page, before);
    assert.equal(withPasscode.claims?.acr, 'urn:tessera:acr:two-factor', withPasscode.error ?? '');
    assert.deepEqual(withPasscode.claims!.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(withPasscode.claims!.role, 'admin');

    // Grafana now asks for a security key: only the key is asked for.
    trail.reset();
    before = grafana.landings.length;
    await page.goto(grafana.loginUrl({ acr_values: PHISHING_RESISTANT }));
    await page.waitForURL(/\/sign-in\/two-factor$/);
    assert.equal(await page.getByLabel('Password').count(), 0, 'no password again');
    await page.getByLabel("Don't ask again on this computer for 30 days").uncheck();
    await screenshot(page, 'oidc-step-up-security-key');
    await page.getByRole('button', { name: 'Use your security key' }).click();
    const withKey = await landing(page, before);
    assert.equal(withKey.error, null);
    const claims = withKey.claims!;
    assert.equal(claims.acr, PHISHING_RESISTANT);
    assert.ok((claims.amr as string[]).includes('hwk'), JSON.stringify(claims.amr));
    assert.equal(claims.sub, withPasscode.claims!.sub);
    assert.equal(claims.email, 'kim@acme.test');
    assert.deepEqual(
      trail.shown.filter(fromTessera).map((url) => new URL(url).pathname.replace(/\/interaction\/[^/]+/, '/interaction/:uid')),
      ['/sign-in/two-factor', '/interaction/:uid/continue'],
      'the key page and the hand-over, no sign-in form',
    );
  });
});
