// Every page in the pseudo-locale on a phone (issue #24): accented words 40% longer
// than English, the way German and French often run, must still fit 390 px without
// scrolling sideways. The sign-in page, the passcode page, Security settings and every
// other page a signed-in admin can reach are rendered with `?lang=x-pseudo` (README,
// "Configuration") and saved to test-artifacts/pseudo-*.png to look at. A new page
// fails the test until it is visited here or said to be out of reach.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createAccount } from '../../src/services/accounts.js';
import { createApp, operatorAppManager } from '../../src/services/apps.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { createUser } from '../../src/services/users.js';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD } from '../support/harness.js';
import { listRoutes } from '../support/routes.js';
import { chromiumSkipReason, launchBrowser, newBrowserContext, screenshot, startServedApp, type ServedApp } from '../support/browser.js';

const PHONE = { width: 390, height: 844 };

/** GET routes that are not pages a signed-in admin reaches, and why. */
const NOT_PAGES: Record<string, string> = {
  '/healthz': 'a health check, no page',
  '/readyz': 'a health check, no page',
  '/metrics': 'Prometheus text',
  '/openapi.json': 'JSON',
  '/*': 'the OpenID Connect provider (JSON and redirects)',
  '/.well-known/openid-configuration': 'JSON',
  '/assets/:name': 'style sheets, scripts and the icon',
  '/favicon.ico': 'a redirect to the icon',
  '/admin/audit.csv': 'a download',
  '/admin/audit.json': 'a download',
  '/admin/users.csv': 'a download',
  '/setup': 'the first run only, before any account exists',
  '/password/reset': 'opened from an emailed link, signed out',
  '/invitation': 'opened from an emailed link, signed out',
  '/proxy/continue': "a guarded app's hand-over, which redirects",
  '/interaction/:uid': "an app's sign-in request, which redirects to its pages",
  '/interaction/:uid/continue': "an app's sign-in request, which redirects to its pages",
};

// Strings: this project's TypeScript has no DOM types. What is wider than the screen or
// reaches past either edge of it, every <details> opened; not what is kept wholly
// off-screen on purpose (the skip link until it has the focus), which the page's
// scroll width would show if it were past the end.
const OVERFLOW = `(() => {
  document.querySelectorAll('details').forEach((details) => { details.open = true; });
  const sticking = [];
  for (const element of document.querySelectorAll('body *')) {
    const box = element.getBoundingClientRect();
    const offScreen = box.right <= 0 || box.left >= window.innerWidth;
    if (box.width > 0 && !offScreen && (box.right > window.innerWidth + 1 || box.left < -1 || box.width > window.innerWidth)) {
      sticking.push(element.tagName.toLowerCase() + (element.className ? '.' + String(element.className).trim().replace(/ +/g, '.') : '') + ' "' + (element.textContent || '').trim().slice(0, 30) + '"');
    }
  }
  const root = document.documentElement;
  return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, sticking: sticking.slice(0, 8) };
})()`;
const SKIP_LINK = `document.querySelector('a.skip')?.textContent ?? ''`;

describe('every page in the pseudo-locale on a phone in Chromium', { skip: chromiumSkipReason() }, () => {
  let app: ServedApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let authenticator: Authenticator;
  const ids: Record<string, string> = {};
  const visited = new Set<string>();
  let shots = 0;

  const api = async (method: 'GET' | 'POST', url: string, token: string, body?: object) => {
    const response = await app.runtime.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body ? { payload: body } : {}) });
    assert.ok(response.statusCode < 300, `${method} ${url}: ${response.body}`);
    return response.json();
  };

  /** Opens `url` (a page of `route`), checks it is in the pseudo-locale and fits. */
  const assertFits = async (route: string, url: string): Promise<void> => {
    const response = await page.goto(`${app.baseUrl}${url}`);
    assert.ok(response && response.status() < 400, `${url}: HTTP ${response?.status()}`);
    await assertPageFits(route, url);
  };

  /** Checks the page as it is (after a form, say). */
  const assertPageFits = async (route: string, url: string): Promise<void> => {
    assert.match((await page.evaluate(SKIP_LINK)) as string, /·/, `${url}: in the pseudo-locale`);
    const overflow = (await page.evaluate(OVERFLOW)) as { scrollWidth: number; clientWidth: number; sticking: string[] };
    shots += 1;
    await screenshot(page, `pseudo-${String(shots).padStart(2, '0')}${route === '/' ? '-home' : route.replace(/[/:]+/g, '-')}`);
    assert.ok(
      overflow.scrollWidth <= overflow.clientWidth,
      `${url}: the page is ${overflow.scrollWidth}px wide on a ${overflow.clientWidth}px screen (${overflow.sticking.join(', ') || 'no element past its edges'})`,
    );
    assert.deepEqual(overflow.sticking, [], `${url}: nothing reaches past the edges`);
    visited.add(route);
  };

  before(
    async () => {
      app = await startServedApp();
      const deps = app.runtime.deps;
      assert.ok((await createAccount(deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
      const people = [
        ['admin@acme.test', 'Ada Admin', 'admin'],
        ['agent@acme.test', 'Aldo Agent', 'agent'],
        ['bartholomew.featherstonehaugh@acme-subsidiary.test', 'Bartholomew Featherstonehaugh-Smythe', 'agent'],
        ['sam@acme.test', 'Sam Suspended', 'end_user'],
      ] as const;
      for (const [email, name, role] of people) {
        const created = await createUser(deps, { account: 'acme', email, name, role, password: STRONG_PASSWORD }, NO_REQUEST_CONTEXT);
        assert.ok(created.ok);
        ids[email] = created.value.user.id;
      }
      await deps.db.updateTable('users').set({ suspended_at: Date.now() }).where('id', '=', ids['sam@acme.test']!).execute();
      const operator = await operatorAppManager(deps, 'acme');
      assert.ok(operator.ok);
      const wiki = await createApp(
        deps,
        operator.value,
        { name: 'Wiki', type: 'confidential', redirect_uris: ['https://wiki.acme.test/callback'], reason: 'team wiki' },
        NO_REQUEST_CONTEXT,
      );
      assert.ok(wiki.ok);
      ids.app = wiki.value.app.id;

      // The admin's webhook and authenticator app, through the API before 2FA is on (a
      // password just typed confirms).
      const signedIn = await api('POST', '/api/v1/sign-in', '', { account: 'acme', email: 'admin@acme.test', password: STRONG_PASSWORD });
      const token = signedIn.session_token as string;
      const hook = await api('POST', '/api/v1/admin/webhooks', token, {
        url: 'https://hooks.acme.test/tessera',
        events: ['user.invited'],
        method: 'password',
        code: STRONG_PASSWORD,
      });
      ids.webhook = hook.id;
      const started = await api('POST', '/api/v1/me/two-factor/totp', token);
      authenticator = Authenticator.fromQrCode(started.qr_code);
      await api('POST', '/api/v1/me/two-factor/totp/verify', token, { code: authenticator.code(Date.now()) });

      browser = await launchBrowser();
      context = await newBrowserContext(browser, { viewport: PHONE });
      page = await context.newPage();
    },
    { timeout: 60_000 },
  );

  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await app?.close();
  });

  it('signed out: the sign-in page, a forgotten password and the passcode page', { timeout: 60_000 }, async () => {
    await assertFits('/sign-in', '/sign-in?lang=x-pseudo');
    await assertFits('/password/forgot', '/password/forgot');
    await page.goto(`${app.baseUrl}/sign-in`);
    // The labels are pseudo-localised: the fields are found by name.
    await page.locator('input[name="account"]').fill('acme');
    await page.locator('input[name="email"]').fill('admin@acme.test');
    await page.locator('input[name="password"]').fill(STRONG_PASSWORD);
    await page.locator('input[name="password"]').press('Enter');
    await page.waitForURL(/\/sign-in\/two-factor$/);
    await assertPageFits('/sign-in/two-factor', '/sign-in/two-factor');
    await assertFits('/sign-in/two-factor', '/sign-in/two-factor?method=recovery_code');
    await assertFits('/sign-in/two-factor', '/sign-in/two-factor?method=totp');
    const code = page.locator('input[name="code"]');
    // A code of the next 30-second step: the verify above used this one.
    await code.fill(authenticator.code(Date.now(), 1));
    await code.press('Enter');
    await page.waitForURL(/\/profile\/security$/);
    await assertPageFits('/profile/security', '/profile/security');
  });

  it('signed in as an admin: every page there is', { timeout: 120_000 }, async () => {
    const aldo = ids['agent@acme.test']!;
    const app1 = ids.app!;
    const appFields = 'name=Grafana&type=confidential&redirect_uris=https%3A%2F%2Fgrafana.acme.test%2Flogin&role_admin=1&role_agent=1';
    const pages: [string, string][] = [
      ['/', '/'],
      ['/profile/security', '/profile/security'],
      ['/profile/two-factor/setup', '/profile/two-factor/setup'],
      ['/profile/two-factor/totp', '/profile/two-factor/totp'],
      ['/profile/two-factor/sms', '/profile/two-factor/sms'],
      ['/profile/two-factor/email', '/profile/two-factor/email'],
      ['/admin/users', '/admin/users'],
      ['/admin/users/:id', `/admin/users/${aldo}`],
      ['/admin/users/:id', `/admin/users/${ids['bartholomew.featherstonehaugh@acme-subsidiary.test']}`],
      ['/admin/users/:id/role', `/admin/users/${aldo}/role?role=admin`],
      ['/admin/users/:id/suspend', `/admin/users/${aldo}/suspend`],
      ['/admin/users/:id/reactivate', `/admin/users/${ids['sam@acme.test']}/reactivate`],
      ['/admin/security', '/admin/security'],
      ['/admin/apps', '/admin/apps'],
      ['/admin/apps/review', `/admin/apps/review?${appFields}`],
      ['/admin/apps/:id', `/admin/apps/${app1}`],
      ['/admin/apps/:id/review', `/admin/apps/${app1}/review?${appFields.replace('Grafana', 'Wiki')}`],
      ['/admin/apps/:id/secret', `/admin/apps/${app1}/secret`],
      ['/admin/apps/:id/delete', `/admin/apps/${app1}/delete`],
      ['/admin/automation', '/admin/automation'],
      ['/admin/webhooks/:id', `/admin/webhooks/${ids.webhook}`],
      ['/admin/audit', '/admin/audit'],
      ['/dev/outbox', '/dev/outbox'],
    ];
    for (const [route, url] of pages) await assertFits(route, url);

    const pageRoutes = listRoutes(app.runtime.app)
      .filter((route) => route.method === 'GET' && !route.path.startsWith('/api/') && !(route.path in NOT_PAGES))
      .map((route) => route.path);
    assert.deepEqual(
      pageRoutes.filter((route) => !visited.has(route)),
      [],
      'every page is rendered here (or named in NOT_PAGES with the reason it is not)',
    );
  });
});
