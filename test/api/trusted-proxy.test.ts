// X-Forwarded-For is believed only from configured proxies (better-auth
// CVE-2026-45364): otherwise anyone could pick their own address and dodge limits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addUser, setUpAccount, startTestApp, STRONG_PASSWORD, type TestApp } from '../support/harness.js';

async function sessionIp(app: TestApp, headers: Record<string, string>, remote: string): Promise<string> {
  const signedIn = await app.api('POST', '/api/v1/sign-in', {
    body: { account: 'acme', email: 'ann@acme.test', password: STRONG_PASSWORD },
    ip: remote,
    headers,
  });
  const token = signedIn.json().session_token as string;
  const sessions = (await app.api('GET', '/api/v1/me/sessions', { token })).json().sessions as { ip: string; current: boolean }[];
  return sessions.find((s) => s.current)!.ip;
}

describe('trusted proxies', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', async () => {
    const app = await startTestApp();
    try {
      await setUpAccount(app);
      await addUser(app, { account: 'acme', email: 'ann@acme.test' });
      assert.equal(await sessionIp(app, { 'x-forwarded-for': '203.0.113.9' }, '198.51.100.1'), '198.51.100.1');
    } finally {
      await app.close();
    }
  });

  it('believes X-Forwarded-For from a configured proxy only', async () => {
    const app = await startTestApp({ env: { TESSERA_TRUST_PROXY: '10.0.0.1' } });
    try {
      await setUpAccount(app);
      await addUser(app, { account: 'acme', email: 'ann@acme.test' });
      assert.equal(await sessionIp(app, { 'x-forwarded-for': '203.0.113.9' }, '10.0.0.1'), '203.0.113.9', 'from the proxy');
      assert.equal(await sessionIp(app, { 'x-forwarded-for': '203.0.113.9' }, '198.51.100.1'), '198.51.100.1', 'not from anyone else');
      // A client cannot prepend its own choice: the proxy's last hop wins.
      assert.equal(await sessionIp(app, { 'x-forwarded-for': '192.0.2.66, 203.0.113.9' }, '10.0.0.1'), '203.0.113.9');
    } finally {
      await app.close();
    }
  });
});
