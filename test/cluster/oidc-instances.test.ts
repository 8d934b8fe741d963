// OpenID Connect on several instances behind one address (DESIGN.md, OpenID Connect:
// storage): they share their keys and their records through PostgreSQL, so a code
// redeemed on two instances at once gives one token set.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { freePort } from '../support/browser.js';
import { POSTGRES_URL, REDIS_URL, STRONG_PASSWORD, Clock, addUser, postgresDatabaseUrl, setUpAccount, skipReason, type TestApp } from '../support/harness.js';
import { authorizationRequest, CALLBACK, discover, FormBrowser, registerApp, type ListeningApp } from '../support/oidc.js';

const skip = skipReason(!POSTGRES_URL || !REDIS_URL, 'OpenID Connect instances suite skipped: it needs TESSERA_TEST_DATABASE_URL and TESSERA_TEST_REDIS_URL');

const KEYS = {
  TESSERA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  TESSERA_HMAC_KEY: randomBytes(32).toString('base64'),
};

describe('OpenID Connect on two instances of one PostgreSQL', { skip }, () => {
  const runtimes: Runtime[] = [];
  const urls: string[] = [];
  const dataDirs: string[] = [];
  let drop: () => Promise<void> = async () => {};
  let app: ListeningApp;

  before(async () => {
    const database = await postgresDatabaseUrl();
    drop = database.drop;
    const ports = [await freePort(), await freePort()];
    // One public address for both, as behind a load balancer.
    const baseUrl = `http://127.0.0.1:${ports[0]}`;
    for (const port of ports) {
      const dataDir = mkdtempSync(join(tmpdir(), 'tessera-oidc-instance-'));
      dataDirs.push(dataDir);
      const config = loadConfig(
        {
          PORT: String(port),
          TESSERA_BASE_URL: baseUrl,
          TESSERA_DATA_DIR: dataDir,
          TESSERA_DATABASE_URL: database.url,
          TESSERA_REDIS_URL: REDIS_URL!,
          TESSERA_REDIS_KEY_PREFIX: `oidc-${randomBytes(4).toString('hex')}`,
          TESSERA_LOG_LEVEL: 'silent',
          ...KEYS,
        },
        dataDir,
      );
      const runtime = await createRuntime(config);
      await runtime.app.listen({ host: '127.0.0.1', port });
      runtimes.push(runtime);
      urls.push(`http://127.0.0.1:${port}`);
    }
    const first = runtimes[0]!;
    const inject = first.app.inject.bind(first.app);
    const testApp: TestApp = {
      runtime: first,
      clock: new Clock(Date.now()),
      config: first.config,
      logs: [],
      inject,
      api: (method, url, options = {}) =>
        inject({
          method: method as 'GET',
          url,
          headers: {
            ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
            ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
        }),
      outbox: async () => [],
      close: async () => {},
    };
    app = Object.assign(testApp, { baseUrl });
    await setUpAccount(app);
    await addUser(app, { account: 'acme', email: 'ivy@acme.test', role: 'end_user' });
  });
  after(async () => {
    for (const runtime of runtimes) await runtime.close();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    await drop();
  });

  it('both publish the same keys, and a code redeemed on both at once gives one token set', async () => {
    const registered = await registerApp(app, { accountSlug: 'acme', allowedRoles: ['end_user'] });
    const config = await discover(app, registered);
    const jwks = await Promise.all(
      urls.map(async (url) => ((await (await fetch(`${url}/oidc/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid).sort()),
    );
    assert.deepEqual(jwks[0], jwks[1]);

    const browser = new FormBrowser(app.baseUrl);
    for (let round = 0; round < 5; round += 1) {
      const request = await authorizationRequest(config);
      const page = await browser.go(request.url.toString());
      const landed = round === 0 ? await browser.submit(page, /\/sign-in$/, { email: 'ivy@acme.test', password: STRONG_PASSWORD }) : page;
      assert.ok(landed.url.startsWith(CALLBACK), landed.body);
      const code = new URL(landed.url).searchParams.get('code')!;
      const exchange = (url: string) =>
        fetch(`${url}/oidc/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${encodeURIComponent(registered.clientId)}:${encodeURIComponent(registered.clientSecret!)}`).toString('base64')}`,
          },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: request.codeVerifier }).toString(),
        }).then(async (response) => ({ status: response.status, body: (await response.json()) as { error?: string; access_token?: string } }));
      const answers = await Promise.all(urls.map(exchange));
      const granted = answers.filter((answer) => answer.status === 200);
      assert.ok(granted.length <= 1, `round ${round}: ${JSON.stringify(answers)}`);
      assert.ok(
        answers.some((answer) => answer.body.error === 'invalid_grant'),
        `round ${round}: ${JSON.stringify(answers)}`,
      );
      // Whatever one instance gave, the reuse revoked: its access token opens nothing.
      for (const answer of granted) {
        const userinfo = await fetch(`${urls[1]}/oidc/userinfo`, { headers: { authorization: `Bearer ${answer.body.access_token}` } });
        assert.equal(userinfo.status, 401);
      }
    }
  });
});
