// Forward-auth (DESIGN.md row 17, issue 22) with real proxies from Debian in front of
// an app, driven by Chromium: nginx with auth_request and Caddy with forward_auth, each
// configured as docs/deploy.md says (test/support/reverse-proxies.ts), in front of an
// upstream that answers with the headers it got. Tessera serves auth.tessera.test and
// the proxies app.tessera.test, all on 127.0.0.1 (Chromium's --host-resolver-rules), with
// TESSERA_COOKIE_DOMAIN=tessera.test. For each proxy: a person with an authenticator app
// opens an address of the app, signs in on Tessera's page and lands back on exactly that
// address, and the app gets who they are; a Remote-User sent by the browser never
// reaches the app; a role the app does not let in gets a 403; signing out of Tessera
// sends the next request to the sign-in page. test/api/forward-auth.test.ts covers the
// check's every answer without a proxy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import * as OTPAuth from 'otpauth';
import { createAccount } from '../../src/services/accounts.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { createUser } from '../../src/services/users.js';
import { STRONG_PASSWORD } from '../support/harness.js';
import { chromiumSkipReason, launchBrowser, newBrowserContext, resolveToLoopback, screenshot, startServedApp, type ServedApp } from '../support/browser.js';
import {
  IDENTITY_HEADERS,
  caddyConfig,
  caddySkipReason,
  nginxConfig,
  nginxSkipReason,
  startCaddy,
  startEchoUpstream,
  startNginx,
  type EchoUpstream,
  type ProxyTarget,
  type RunningProxy,
  type UpstreamRequest,
} from '../support/reverse-proxies.js';

const DOMAIN = 'tessera.test';
const GUARDED_HOST = `app.${DOMAIN}`;
/** What the person opens on the guarded host: a path and a query to keep. */
const ADDRESS = '/d/abc?x=1&y=2';

interface Person {
  id: string;
  email: string;
  name: string;
  role: 'agent' | 'end_user';
  totp: OTPAuth.TOTP | null;
}

const PROXIES = [
  { name: 'nginx', skip: nginxSkipReason(), start: startNginx, person: { email: 'nia@acme.test', name: 'Nia Núñez' } },
  { name: 'Caddy', skip: caddySkipReason(), start: startCaddy, person: { email: 'cy@acme.test', name: 'Cy Ødegård' } },
] as const;

describe('docs/deploy.md shows the proxy configurations this suite runs', () => {
  const docs = readFileSync(fileURLToPath(new URL('../../docs/deploy.md', import.meta.url)), 'utf8');
  /** The lines of the first fenced block of this language in the "Forward-auth" section. */
  const documented = (language: string): string[] => {
    const section = docs.slice(docs.indexOf('## Forward-auth'));
    const block = new RegExp(`\`\`\`${language}\n([\\s\\S]*?)\`\`\``).exec(section);
    assert.ok(block, `a ${language} block in docs/deploy.md, "Forward-auth"`);
    return block[1]!.split('\n').map((line) => line.trim());
  };
  /** The lines of `config` from the first holding `from` to the last holding `to`,
   * but those naming the test's own addresses. */
  const tested = (config: string, from: string, to: string): string[] => {
    const lines = config.split('\n').map((line) => line.trim());
    const first = lines.findIndex((line) => line.includes(from));
    const last = lines.findLastIndex((line) => line.includes(to));
    assert.ok(first >= 0 && last > first, `${from} … ${to} in the tested configuration`);
    return lines.slice(first, last + 1).filter((line) => line !== '' && !line.includes('127.0.0.1'));
  };
  const target = { host: GUARDED_HOST, tessera: '127.0.0.1:3001', upstream: '127.0.0.1:3000', port: 8080, dir: '/tmp/x' };

  it('nginx: every line of the guarded location and of the check', () => {
    const lines = documented('nginx');
    for (const line of tested(nginxConfig(target), 'location / {', 'X-Original-URL')) assert.ok(lines.includes(line), `docs/deploy.md lacks: ${line}`);
  });

  it('Caddy: every line of the route', () => {
    const lines = documented('caddy');
    for (const line of tested(caddyConfig(target), 'route {', 'reverse_proxy')) assert.ok(lines.includes(line), `docs/deploy.md lacks: ${line}`);
  });
});

describe('forward-auth behind real nginx and Caddy, in Chromium', { skip: chromiumSkipReason() }, () => {
  let tessera: ServedApp;
  let upstream: EchoUpstream;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let endUser: Person;

  const newContext = async () => {
    const context = await newBrowserContext(browser);
    contexts.push(context);
    return context;
  };

  /** Calls Tessera's API in process (Node cannot resolve auth.tessera.test). */
  const api = async (method: 'GET' | 'POST', url: string, body?: unknown, token?: string) => {
    const response = await tessera.runtime.app.inject({
      method,
      url,
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: response.statusCode, json: response.json() as Record<string, any> };
  };

  const signInToApi = async (email: string): Promise<string> => {
    const signedIn = await api('POST', '/api/v1/sign-in', { account: 'acme', email, password: STRONG_PASSWORD });
    assert.equal(signedIn.json.status, 'signed_in', JSON.stringify(signedIn.json));
    return signedIn.json.session_token as string;
  };

  const addPerson = async (input: { email: string; name: string; role: Person['role'] | 'admin'; withApp: boolean }): Promise<Person> => {
    const created = await createUser(
      tessera.runtime.deps,
      { account: 'acme', email: input.email, name: input.name, role: input.role, password: STRONG_PASSWORD },
      NO_REQUEST_CONTEXT,
    );
    assert.ok(created.ok, JSON.stringify(created));
    const user = await tessera.runtime.deps.db.selectFrom('users').select('id').where('email', '=', input.email).executeTakeFirstOrThrow();
    let totp: OTPAuth.TOTP | null = null;
    if (input.withApp) {
      // An authenticator app, turned on through the API with this step's code.
      const token = await signInToApi(input.email);
      const started = await api('POST', '/api/v1/me/two-factor/totp', {}, token);
      assert.equal(started.status, 200, JSON.stringify(started.json));
      totp = OTPAuth.URI.parse(started.json.otpauth_uri as string) as OTPAuth.TOTP;
      const verified = await api('POST', '/api/v1/me/two-factor/totp/verify', { code: totp.generate() }, token);
      assert.equal(verified.json.status, 'enabled', JSON.stringify(verified.json));
    }
    return { id: user.id, email: input.email, name: input.name, role: input.role === 'admin' ? 'agent' : input.role, totp };
  };

  before(
    async () => {
      tessera = await startServedApp({
        hostname: `auth.${DOMAIN}`,
        env: { TESSERA_COOKIE_DOMAIN: DOMAIN, TESSERA_TRUST_PROXY: '127.0.0.1' },
      });
      assert.ok((await createAccount(tessera.runtime.deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
      // An admin registers the guarded host as a proxy app, for admins and agents only.
      await addPerson({ email: 'owner@acme.test', name: 'Olive Owner', role: 'admin', withApp: false });
      const registered = await api(
        'POST',
        '/api/v1/admin/apps',
        {
          name: 'Dashboards',
          type: 'proxy',
          host: GUARDED_HOST,
          allowed_roles: ['admin', 'agent'],
          reason: 'dashboards behind the proxy',
          method: 'password',
          code: STRONG_PASSWORD,
        },
        await signInToApi('owner@acme.test'),
      );
      assert.equal(registered.status, 200, JSON.stringify(registered.json));
      endUser = await addPerson({ email: 'eli@acme.test', name: 'Eli End', role: 'end_user', withApp: false });
      upstream = await startEchoUpstream();
      browser = await launchBrowser({ args: [resolveToLoopback(DOMAIN)] });
    },
    { timeout: 60_000 },
  );

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await upstream?.close();
    await tessera?.close();
  });

  /** A code the enrolment (which used this step's) has not spent: the next step's. */
  const nextCode = (totp: OTPAuth.TOTP) => totp.generate({ timestamp: Date.now() + 30_000 });

  /** What the upstream showed the browser, which must be what it got. */
  const echoOn = async (page: Page): Promise<UpstreamRequest> => {
    const shown = JSON.parse((await page.locator('pre').first().textContent()) ?? '') as UpstreamRequest;
    assert.deepEqual(shown, JSON.parse(JSON.stringify(upstream.requests.at(-1))), 'the page shows the last request the upstream got');
    return shown;
  };

  const assertIdentity = (seen: UpstreamRequest, person: Person) => {
    assert.equal(seen.headers['remote-user'], person.id);
    assert.equal(seen.headers['remote-email'], person.email);
    // Header values are bytes: Tessera sends a name as UTF-8, and the proxies pass it on.
    assert.equal(Buffer.from(String(seen.headers['remote-name']), 'latin1').toString('utf8'), person.name);
    assert.equal(seen.headers['remote-role'], person.role);
    assert.equal(seen.headers['remote-account'], 'acme');
  };

  /** Whether the page is Tessera's sign-in page, sent there to come back to `target`. */
  const assertSentToSignIn = (page: Page, target: string) => {
    const url = new URL(page.url());
    assert.equal(`${url.origin}${url.pathname}`, `${tessera.baseUrl}/sign-in`, page.url());
    assert.equal(url.searchParams.get('rd'), target);
  };

  for (const proxy of PROXIES) {
    describe(`through ${proxy.name}`, { skip: proxy.skip }, () => {
      let running: RunningProxy;
      let person: Person;
      let context: BrowserContext;
      let target: string;

      before(
        async () => {
          const target_: ProxyTarget = { host: GUARDED_HOST, tessera: `127.0.0.1:${new URL(tessera.baseUrl).port}`, upstream: `127.0.0.1:${upstream.port}` };
          running = await proxy.start(target_);
          target = `${running.origin}${ADDRESS}`;
          person = await addPerson({ ...proxy.person, role: 'agent', withApp: true });
        },
        { timeout: 30_000 },
      );
      after(async () => running?.close());

      /** On failure: the proxy's configuration and what it logged, and a screenshot. */
      const explain = async (page: Page, name: string, error: unknown): Promise<never> => {
        await screenshot(page, `forward-auth-${proxy.name}-${name}`).catch(() => {});
        throw new Error(`${String(error)}\n--- ${proxy.name} configuration ---\n${running.config}\n--- ${proxy.name} output ---\n${running.output()}`, {
          cause: error,
        });
      };

      it(
        'sends a person signed out to sign in, with a passcode, and back to exactly the address asked for, where the app gets who they are',
        { timeout: 60_000 },
        async () => {
          context = await newContext();
          const page = await context.newPage();
          try {
            const before = upstream.requests.length;
            await page.goto(target);
            assertSentToSignIn(page, target);
            assert.equal(upstream.requests.length, before, 'nothing reached the app before signing in');
            await page.getByRole('heading', { name: `Sign in to ${new URL(target).host}` }).waitFor();
            await page.getByText('Acme Support').first().waitFor();
            await page.getByLabel('Email').fill(person.email);
            await page.getByLabel('Password').fill(STRONG_PASSWORD);
            await page.getByRole('button', { name: 'Sign in' }).click();
            await page.waitForURL(/\/sign-in\/two-factor$/);
            await page.getByLabel('Passcode').fill(nextCode(person.totp!));
            await page.getByRole('button', { name: 'Verify' }).click();
            await page.waitForURL(target);
            assert.equal(page.url(), target, 'the path and the query are kept');
            const seen = await echoOn(page);
            assert.equal(seen.url, ADDRESS);
            assertIdentity(seen, person);
            const cookies = await context.cookies(running.origin);
            assert.deepEqual(
              cookies.map((cookie) => `${cookie.name} ${cookie.domain}`),
              [`tessera_forward_auth .${DOMAIN}`],
              "only the forward-auth cookie reaches the app's host, never Tessera's session",
            );
            assert.equal(seen.headers.cookie, `tessera_forward_auth=${cookies[0]!.value}`);
          } catch (error) {
            await explain(page, 'sign-in', error);
          }
        },
      );

      it('never lets a Remote-User or any identity header the browser sends reach the app', { timeout: 30_000 }, async () => {
        const page = await context.newPage();
        try {
          const forged = Object.fromEntries(IDENTITY_HEADERS.map((name) => [name, name === 'Remote-Role' ? 'admin' : 'admin@evil.example']));
          await page.setExtraHTTPHeaders({ ...forged, 'Remote-User': 'admin' });
          const response = await page.goto(`${running.origin}/other?forged=1`);
          assert.equal(response?.status(), 200);
          const seen = await echoOn(page);
          assert.equal(seen.url, '/other?forged=1');
          assertIdentity(seen, person);
          // The same from a script on the app's own page.
          const fetched = await page.evaluate(async () => {
            const answer = await fetch('/api/data', { headers: { 'Remote-User': 'admin', 'Remote-Account': 'other' } });
            return (await answer.json()) as UpstreamRequest;
          });
          assert.equal(fetched.url, '/api/data');
          assertIdentity(fetched, person);
        } catch (error) {
          await explain(page, 'forged-headers', error);
        } finally {
          await page.close();
        }
      });

      it('refuses a role the app does not let in: 403, and the app never sees the request', { timeout: 60_000 }, async () => {
        const refused = await newContext();
        const page = await refused.newPage();
        try {
          const before = upstream.requests.length;
          await page.goto(target);
          assertSentToSignIn(page, target);
          await page.getByLabel('Email').fill(endUser.email);
          await page.getByLabel('Password').fill(STRONG_PASSWORD);
          const handOver = page.waitForResponse((response) => new URL(response.url()).pathname === '/proxy/continue');
          await page.getByRole('button', { name: 'Sign in' }).click();
          // Tessera says why at once, rather than sending the person on to a refusal.
          assert.equal((await handOver).status(), 403);
          await page.getByText(`lets only some people use ${new URL(target).host}`).waitFor();
          // Straight to the app: the proxy refuses with the check's 403.
          const direct = await page.goto(target);
          assert.equal(direct?.status(), 403);
          const text = await page.locator('body').innerText();
          if (proxy.name === 'nginx') {
            // nginx shows its own page for a 403 from auth_request (docs/deploy.md: error_page 403).
            assert.match(text, /403 Forbidden/);
          } else {
            // Caddy passes Tessera's page on.
            assert.match(text, new RegExp(`lets only some people use ${new URL(target).host.replace(/\./g, '\\.')}`));
          }
          assert.equal(upstream.requests.length, before, 'nothing reached the app');
        } catch (error) {
          await explain(page, 'refused', error);
        }
      });

      it('after signing out of Tessera, the next request to the app is sent to sign in again, even with the old cookie', { timeout: 30_000 }, async () => {
        const page = await context.newPage();
        try {
          const [kept] = await context.cookies(running.origin);
          assert.equal(kept?.name, 'tessera_forward_auth');
          await page.goto(`${tessera.baseUrl}/profile/security`);
          await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Sign out' }).click();
          await page.waitForURL(/\/sign-in/);
          assert.deepEqual(await context.cookies(running.origin), [], 'signing out removes the forward-auth cookie');
          const before = upstream.requests.length;
          await page.goto(target);
          assertSentToSignIn(page, target);
          // A copy of the old cookie, put back: the session it came from is over.
          await context.addCookies([kept!]);
          await page.goto(target);
          assertSentToSignIn(page, target);
          assert.equal(upstream.requests.length, before, 'nothing reached the app after signing out');
        } catch (error) {
          await explain(page, 'sign-out', error);
        }
      });
    });
  }
});
