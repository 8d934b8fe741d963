// Signing in with a passkey alone in real Chromium (DESIGN.md row 18, issue 23), with
// CDP's virtual authenticator: a platform authenticator ("internal") that keeps
// discoverable credentials and verifies its user. A passkey is added from Security
// settings; its credential (private key included) is read out of that authenticator
// with WebAuthn.getCredentials and put into a new one in a FRESH browser context
// (WebAuthn.addCredential): the same passkey on the same device, with no cookie of the
// first profile. There it signs in alone, through the button and through the email
// field (conditional mediation); a key that cannot verify its user gets the fallback;
// a passkey of one account is refused on the sign-in page of another account's app.
//
// How the two ways in are told apart: Chromium's virtual authenticator answers a
// conditional (autofill) request by itself as soon as the page makes it, when it
// simulates the person's touch (automaticPresenceSimulation), which is how the
// autofill test signs in with nothing pressed or typed. (Headless Chromium draws no
// suggestion list under the email field to click in; the authenticator answering the
// pending conditional request stands in for the person picking their passkey there.)
// For the button, the authenticator starts with presence simulation off, so the
// conditional request the page makes on load stays pending, and it is turned on just
// before the button is pressed: the flow that signs in is then the button's own.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, CDPSession, Page, Request } from 'playwright-core';
import { createAccount } from '../../src/services/accounts.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { createUser } from '../../src/services/users.js';
import { STRONG_PASSWORD } from '../support/harness.js';
import { chromiumSkipReason, launchBrowser, newBrowserContext, screenshot, signInWithPassword, startServedApp, type ServedApp } from '../support/browser.js';
import { registerApp } from '../support/oidc.js';
import { RelyingParty, type Landing } from '../support/relying-party.js';

const PHISHING_RESISTANT = 'urn:tessera:acr:phishing-resistant';

/** A credential as CDP's WebAuthn domain reads and writes it. */
type VirtualCredential = {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
  userName?: string;
};

interface VirtualAuthenticator {
  cdp: CDPSession;
  authenticatorId: string;
  credentials(): Promise<VirtualCredential[]>;
  /** The person touching (and unlocking) the device when asked, or not. */
  presence(enabled: boolean): Promise<void>;
  /** Settles when the device next signs an assertion; with `thenAbsent`, the person
   * stops touching it at that very moment (from the event itself, not after the test's
   * own turn comes round, which a loaded machine can delay past the next request). */
  asserted(options?: { thenAbsent?: boolean }): Promise<void>;
}

/** This computer's own authenticator (Touch ID, Windows Hello): it keeps passkeys and
 * checks the person's fingerprint or PIN, which always succeeds here unless told. */
async function attachAuthenticator(
  page: Page,
  options: { hasUserVerification?: boolean; isUserVerified?: boolean; presence?: boolean; credentials?: VirtualCredential[] } = {},
): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: options.hasUserVerification ?? true,
      isUserVerified: options.isUserVerified ?? true,
      automaticPresenceSimulation: options.presence ?? true,
    },
  });
  for (const credential of options.credentials ?? []) await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
  return {
    cdp,
    authenticatorId,
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as VirtualCredential[],
    presence: async (enabled) => {
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
    },
    asserted: (then = {}) =>
      new Promise((resolve) =>
        cdp.once('WebAuthn.credentialAsserted', () => {
          if (then.thenAbsent) void cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false }).catch(() => {});
          resolve();
        }),
      ),
  };
}

/** What the sign-in pages sent for a passkey: each options answer's flow token, in
 * order (read on the way through, as the page may have moved on before its body could
 * be read afterwards), and each signed answer posted (its form fields). */
class PasskeyTraffic {
  optionsFlowTokens: string[] = [];
  posted: URLSearchParams[] = [];

  private constructor() {}

  static async watch(page: Page): Promise<PasskeyTraffic> {
    const traffic = new PasskeyTraffic();
    await page.route(
      (url) => url.pathname === '/sign-in/passkey/options',
      async (route) => {
        const response = await route.fetch();
        const body = (await response.json()) as { flow_token?: string };
        traffic.optionsFlowTokens.push(body.flow_token ?? '(none)');
        await route.fulfill({ response, json: body });
      },
    );
    page.on('request', (request: Request) => {
      if (request.method() === 'POST' && /^\/(sign-in|interaction\/[^/]+)\/passkey$/.test(new URL(request.url()).pathname))
        traffic.posted.push(new URLSearchParams(request.postData() ?? ''));
    });
    return traffic;
  }

  async optionsCount(count: number, page: Page): Promise<void> {
    for (let tries = 0; tries < 100 && this.optionsFlowTokens.length < count; tries += 1) await page.waitForTimeout(50);
    assert.equal(this.optionsFlowTokens.length, count, `${count} options request(s) answered`);
  }
}

describe('passkeys in Chromium', { skip: chromiumSkipReason() }, () => {
  let tessera: ServedApp;
  let browser: Browser;
  let acmeApp: RelyingParty;
  let betaApp: RelyingParty;
  const contexts: BrowserContext[] = [];
  /** Console errors, page errors and CSP violations, from every page of every context. */
  const problems: string[] = [];
  /** How each page asked for a credential (navigator.credentials.get's `mediation`). */
  const mediations: string[] = [];
  /** The passkey as the first device holds it, carried to the fresh profiles. */
  let passkey: VirtualCredential;
  let piaId: string;

  /** A fresh browser profile whose pages report console errors and every CSP violation
   * (listened to before any script runs), and how they call navigator.credentials.get. */
  async function watchedContext(): Promise<BrowserContext> {
    const context = await newBrowserContext(browser);
    contexts.push(context);
    await context.exposeBinding('tesseraTestReportViolation', (source, violation: Record<string, string>) => {
      problems.push(`CSP violation on ${source.frame.url()}: ${JSON.stringify(violation)}`);
    });
    await context.exposeBinding('tesseraTestReportMediation', (_source, mediation: string) => {
      mediations.push(mediation);
    });
    // (Strings: this project's TypeScript has no DOM types.) The wrapper only listens.
    await context.addInitScript(`document.addEventListener('securitypolicyviolation', function (event) {
  window.tesseraTestReportViolation({ directive: event.effectiveDirective, blocked: event.blockedURI, document: event.documentURI, sample: event.sample });
}, true);
if (navigator.credentials && navigator.credentials.get) {
  var tesseraTestGet = navigator.credentials.get.bind(navigator.credentials);
  navigator.credentials.get = function (options) {
    if (options && options.publicKey) window.tesseraTestReportMediation(String(options.mediation || 'none'));
    return tesseraTestGet(options);
  };
}`);
    context.on('page', (page) => {
      page.on('console', (message) => {
        if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(`console on ${page.url()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
    });
    return context;
  }

  /** The session the browser holds now, as stored. */
  async function sessionOf(context: BrowserContext) {
    const cookies = await context.cookies(tessera.baseUrl);
    const cookie = cookies.find((c) => /tessera_session$/.test(c.name));
    assert.ok(cookie, `a session cookie: ${cookies.map((c) => c.name).join(', ')}`);
    const id = decodeURIComponent(cookie.value).split('.')[0]!;
    return tessera.runtime.deps.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  /** The same device goes on: its signature counter moved, so the next profile gets
   * the passkey as it is now (a copy of the old one would look like a clone). */
  async function carryOn(device: VirtualAuthenticator): Promise<void> {
    const held = await device.credentials();
    assert.equal(held.length, 1);
    passkey = held[0]!;
  }

  async function landing(page: Page, app: RelyingParty, before: number): Promise<Landing> {
    await page.waitForURL((url) => url.toString().startsWith(app.redirectUri));
    await page.getByRole('heading', { name: /^(Signed in as|Sign-in failed)/ }).waitFor();
    assert.equal(app.landings.length, before + 1, 'the app got one answer');
    return app.landings.at(-1)!;
  }

  before(
    async () => {
      tessera = await startServedApp({ hostname: 'localhost' });
      const deps = tessera.runtime.deps;
      assert.ok((await createAccount(deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
      assert.ok((await createAccount(deps, { slug: 'beta', name: 'Beta Books' }, NO_REQUEST_CONTEXT)).ok);
      const pia = await createUser(
        deps,
        { account: 'acme', email: 'pia@acme.test', name: 'Pia Agent', role: 'agent', password: STRONG_PASSWORD },
        NO_REQUEST_CONTEXT,
      );
      assert.ok(pia.ok);
      piaId = pia.value.user.id;
      acmeApp = await RelyingParty.start();
      await acmeApp.connect(
        tessera.baseUrl,
        await registerApp(tessera, {
          accountSlug: 'acme',
          name: 'Grafana',
          redirectUris: [acmeApp.redirectUri],
          postLogoutRedirectUris: [`${acmeApp.origin}/`],
        }),
      );
      betaApp = await RelyingParty.start();
      await betaApp.connect(
        tessera.baseUrl,
        await registerApp(tessera, {
          accountSlug: 'beta',
          name: 'Beta Wiki',
          redirectUris: [betaApp.redirectUri],
          postLogoutRedirectUris: [`${betaApp.origin}/`],
        }),
      );
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
    await acmeApp?.close();
    await betaApp?.close();
    await tessera?.close();
  });

  it('adds a passkey from Security settings ("Add a passkey", "Create my passkey"), listed as a passkey, then signs out', { timeout: 60_000 }, async () => {
    const context = await watchedContext();
    const page = await context.newPage();
    const device = await attachAuthenticator(page);
    await signInWithPassword(page, tessera.baseUrl, { email: 'pia@acme.test' });
    await page.waitForURL(/\/profile\/security$/);
    await page.getByRole('link', { name: 'Enable two-factor authentication' }).click();
    await page.waitForURL(/\/profile\/two-factor\/setup$/);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByRole('heading', { name: 'Add a passkey' }).waitFor();
    await page.getByRole('button', { name: 'Create my passkey' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    await page.getByLabel('I have saved these recovery codes').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/profile\/security/);
    await page.getByText('Your passkey is added. Next time, choose "Sign in with a passkey" (or pick it from the email field)').waitFor();
    const listed = page.locator('ul.keys li');
    assert.equal(await listed.count(), 1);
    await listed.getByText('Passkey: signs in alone').waitFor();
    await screenshot(page, 'security-settings-with-passkey');

    const held = await device.credentials();
    assert.equal(held.length, 1, 'the device holds one passkey');
    passkey = held[0]!;
    assert.equal(passkey.isResidentCredential, true, 'a discoverable credential');
    assert.equal(passkey.rpId, 'localhost');
    assert.equal(Buffer.from(passkey.userHandle ?? '', 'base64').toString('utf8'), piaId, "the user handle is the person's opaque id, not the email");
    const stored = await tessera.runtime.deps.db
      .selectFrom('two_factor_methods')
      .select(['webauthn_passkey', 'status'])
      .where('user_id', '=', piaId)
      .where('type', '=', 'webauthn')
      .execute();
    assert.deepEqual(stored, [{ webauthn_passkey: 1, status: 'active' }]);

    // The sign-in page after signing out asks quietly for a passkey at once, which this
    // device would answer by itself: the person does not touch it now.
    await device.presence(false);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    assert.equal((await device.credentials())[0]!.signCount, passkey.signCount, 'not used since');
    await context.close();
  });

  it('in a fresh browser profile, "Sign in with a passkey" alone signs in: nothing typed, one touch', { timeout: 60_000 }, async () => {
    const context = await watchedContext();
    const page = await context.newPage();
    const device = await attachAuthenticator(page, { presence: false, credentials: [passkey] });
    const traffic = await PasskeyTraffic.watch(page);
    mediations.length = 0;
    await page.goto(`${tessera.baseUrl}/sign-in`);
    // The page started the quiet ceremony behind the email field at once.
    await traffic.optionsCount(1, page);
    assert.equal(await page.getByLabel('Email').getAttribute('autocomplete'), 'username webauthn');
    for (const label of ['Account', 'Email', 'Password']) assert.equal(await page.getByLabel(label).inputValue(), '', `${label} is empty`);
    // The quiet request has reached the device before it answers touches, so only the
    // button's request is answered (the device answers a request made while it does).
    for (let tries = 0; tries < 100 && mediations.length < 1; tries += 1) await page.waitForTimeout(50);
    await page.waitForTimeout(300);

    await device.presence(true);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL(/\/profile\/security$/);
    await page.getByRole('heading', { name: 'Security settings' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Sign out' }).waitFor();

    assert.equal(traffic.optionsFlowTokens.length, 2, 'the button asked for options of its own');
    assert.equal(traffic.posted.length, 1, 'one signed answer');
    const posted = traffic.posted[0]!;
    assert.equal(posted.get('flow_token'), traffic.optionsFlowTokens[1], "the button's flow signed in, not the one behind the email field");
    assert.deepEqual([...posted.keys()].sort(), ['_csrf', 'credential', 'flow_token'], 'no account, email or password sent');
    assert.deepEqual(mediations, ['conditional', 'none'], 'the email field asked quietly, the button out loud');
    const session = await sessionOf(context);
    assert.equal(session.user_id, piaId);
    assert.deepEqual(JSON.parse(session.amr!), ['hwk', 'user', 'mfa']);
    assert.equal(session.acr, PHISHING_RESISTANT);
    assert.ok((await device.credentials())[0]!.signCount > passkey.signCount, 'the passkey signed');
    await carryOn(device);
    await context.close();
  });

  it("in a fresh browser profile, the passkey offered in the email field's suggestions signs in (conditional mediation)", { timeout: 60_000 }, async () => {
    const context = await watchedContext();
    const page = await context.newPage();
    // Presence on from the start: the device answers the page's conditional request as
    // soon as it is made, as the person picking the passkey in the email field would.
    const device = await attachAuthenticator(page, { credentials: [passkey] });
    const traffic = await PasskeyTraffic.watch(page);
    mediations.length = 0;
    await page.goto(`${tessera.baseUrl}/sign-in`);
    // Nothing pressed: the conditional request, answered with the passkey, signs in.
    await page.waitForURL(/\/profile\/security$/);
    await page.getByRole('heading', { name: 'Security settings' }).waitFor();
    assert.deepEqual(mediations, ['conditional'], 'only the quiet request behind the email field');
    assert.equal(traffic.optionsFlowTokens.length, 1);
    assert.equal(traffic.posted.length, 1);
    assert.equal(traffic.posted[0]!.get('flow_token'), traffic.optionsFlowTokens[0]);
    const session = await sessionOf(context);
    assert.equal(session.user_id, piaId);
    assert.deepEqual(JSON.parse(session.amr!), ['hwk', 'user', 'mfa']);
    await carryOn(device);
    await context.close();
  });

  it(
    "the page's two ceremonies do not trip over each other: late options for the email field do not cancel the button's; a cancelled button offers passkeys in the email field again",
    { timeout: 60_000 },
    async () => {
      const context = await watchedContext();
      const page = await context.newPage();
      // The device waits for a touch that does not come: both requests stay pending.
      await attachAuthenticator(page, { presence: false, credentials: [passkey] });
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let optionsRequests = 0;
      await page.route(
        (url) => url.pathname === '/sign-in/passkey/options',
        async (route) => {
          optionsRequests += 1;
          // The email field's options are slow to come; the button's are not.
          if (optionsRequests === 1) await held;
          await route.continue();
        },
      );
      mediations.length = 0;
      await page.goto(`${tessera.baseUrl}/sign-in`);
      const button = page.getByRole('button', { name: 'Sign in with a passkey' });
      for (let tries = 0; tries < 100 && optionsRequests < 1; tries += 1) await page.waitForTimeout(50);
      await button.click();
      for (let tries = 0; tries < 100 && mediations.length < 1; tries += 1) await page.waitForTimeout(50);
      assert.deepEqual(mediations, ['none'], "the button's request is with the browser");
      release();
      await page.waitForTimeout(1000);
      assert.deepEqual(mediations, ['none'], 'the late options were dropped, not started over the button’s request');
      assert.equal(await button.isDisabled(), true, "the button's request still waits for the touch");
      assert.equal(await page.locator('form.passkey [data-webauthn-error]').isVisible(), false, 'no error');
      await context.close();

      // A device without this passkey: the button's request ends with nothing chosen, and
      // the email field asks quietly again.
      const other = await watchedContext();
      const second = await other.newPage();
      await attachAuthenticator(second);
      const traffic = await PasskeyTraffic.watch(second);
      mediations.length = 0;
      await second.goto(`${tessera.baseUrl}/sign-in`);
      await traffic.optionsCount(1, second);
      await second.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await second.getByText('No passkey was chosen. Try again, or sign in with your email and password.').waitFor();
      await traffic.optionsCount(3, second);
      for (let tries = 0; tries < 100 && mediations.length < 3; tries += 1) await second.waitForTimeout(50);
      assert.deepEqual(mediations, ['conditional', 'none', 'conditional']);
      assert.equal(await second.getByRole('button', { name: 'Sign in with a passkey' }).isEnabled(), true);
      assert.equal(traffic.posted.length, 0);
      await other.close();
    },
  );

  it('a key that cannot check a PIN or fingerprint gets the fallback; password then the same key as second step works', { timeout: 60_000 }, async () => {
    const context = await watchedContext();
    const page = await context.newPage();
    const device = await attachAuthenticator(page, { hasUserVerification: false, isUserVerified: false, credentials: [passkey] });
    const traffic = await PasskeyTraffic.watch(page);
    await page.goto(`${tessera.baseUrl}/sign-in`);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const error = page.locator('form.passkey [data-webauthn-error]');
    await error.waitFor({ state: 'visible' });
    assert.equal(await error.innerText(), 'No passkey was chosen. Try again, or sign in with your email and password.');
    assert.match(page.url(), /\/sign-in$/);
    assert.equal(traffic.posted.length, 0, 'Chromium itself refused: the passkey must verify its user');
    await screenshot(page, 'passkey-sign-in-fallback');

    await signInWithPassword(page, tessera.baseUrl, { email: 'pia@acme.test' });
    await page.waitForURL(/\/sign-in\/two-factor$/);
    await page.getByLabel("Don't ask again on this computer for 30 days").uncheck();
    await page.getByRole('button', { name: 'Use your security key' }).click();
    await page.waitForURL(/\/profile\/security$/);
    const session = await sessionOf(context);
    assert.equal(session.user_id, piaId);
    assert.deepEqual(JSON.parse(session.amr!), ['pwd', 'hwk', 'mfa']);
    await carryOn(device);
    await context.close();
  });

  it("a passkey of account A is refused on the sign-in page of account B's app (no code), and signs in to A's app", { timeout: 90_000 }, async () => {
    const context = await watchedContext();
    const page = await context.newPage();
    const device = await attachAuthenticator(page, { presence: false, credentials: [passkey] });
    const traffic = await PasskeyTraffic.watch(page);
    const beforeBeta = betaApp.landings.length;
    await page.goto(betaApp.loginUrl());
    await page.getByRole('heading', { name: 'Sign in to Beta Wiki' }).waitFor();
    const interaction = page.url();
    assert.match(interaction, new RegExp(`^${tessera.baseUrl}/interaction/[^/]+$`));
    await page.getByText('Beta Books', { exact: true }).waitFor();
    await traffic.optionsCount(1, page);
    await device.presence(true);
    const asserted = device.asserted({ thenAbsent: true });
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    // Touched once; the page that answers starts a quiet request of its own, which the
    // device must not answer by itself (the person has not picked anything there).
    await asserted;
    await device.presence(false);
    await page.getByText('That passkey could not sign you in. Try again, or sign in with your email and password.').waitFor();
    // Refused on the app's own page, which stays fixed to the app's account.
    await page.getByRole('heading', { name: 'Sign in to Beta Wiki' }).waitFor();
    assert.equal(page.url(), `${interaction}/passkey`);
    assert.equal(await page.locator('form.passkey input[name="account"]').inputValue(), 'beta');
    assert.equal(traffic.posted.length, 1);
    assert.equal(traffic.posted[0]!.get('account'), 'beta', "the page asked for Beta Books' people only");
    await screenshot(page, 'passkey-refused-for-another-account');
    // The refusal is a 401, which Chromium logs; nothing else may be there.
    assert.deepEqual(problems.splice(0), [`console on ${page.url()}: Failed to load resource: the server responded with a status of 401 (Unauthorized)`]);
    assert.equal(betaApp.landings.length, beforeBeta, 'Beta Wiki got nothing');
    assert.ok(page.url().startsWith(`${tessera.baseUrl}/`), 'still at Tessera');
    assert.equal((await context.cookies(tessera.baseUrl)).filter((c) => /tessera_session$/.test(c.name)).length, 0, 'not signed in');

    // The same passkey on the sign-in page of Acme's own app: in, with a code.
    await traffic.optionsCount(3, page);
    const beforeAcme = acmeApp.landings.length;
    await page.goto(acmeApp.loginUrl());
    await page.getByRole('heading', { name: 'Sign in to Grafana' }).waitFor();
    await traffic.optionsCount(4, page);
    await device.presence(true);
    const landedAtAcme = landing(page, acmeApp, beforeAcme);
    // Once the device answers touches, the email field's own request may be answered
    // first (seen in CI): the page is then already on its way and the button gone.
    await page
      .getByRole('button', { name: 'Sign in with a passkey' })
      .click({ timeout: 5_000 })
      .catch(() => {});
    const landed = await landedAtAcme;
    assert.equal(landed.error, null);
    assert.ok(landed.url.searchParams.get('code'));
    assert.equal(landed.claims!.email, 'pia@acme.test');
    assert.equal(landed.claims!.acr, PHISHING_RESISTANT);
    assert.deepEqual(landed.claims!.amr, ['hwk', 'user', 'mfa']);
    await carryOn(device);
    await context.close();
  });
});
