// The filters a sync script uses on GET /api/v1/admin/users (DESIGN.md, Automation):
// `email`, `updated_since`, both with `cursor` paging, and the writes that must move
// `updated_at` so the script sees them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD, addUser, dialects, setUpAccount, signInToken, startTestApp, type TestApp } from '../support/harness.js';

interface UserRow {
  id: string;
  email: string;
  updated_at: string;
  created_at: string;
}

const SECOND = 1000;

for (const dialect of dialects()) {
  describe(`admin user filters for sync scripts on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;
    const ownerConfirm = { method: 'password', code: STRONG_PASSWORD };

    async function listUsers(query: string): Promise<{ users: UserRow[]; next_cursor: string | null }> {
      const response = await app.api('GET', `/api/v1/admin/users${query}`, { token: ownerToken });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    }

    async function idOf(email: string): Promise<string> {
      const [user] = (await listUsers(`?email=${encodeURIComponent(email)}`)).users;
      return user!.id;
    }

    /** The emails changed at or after `since`, following every page. */
    async function changedSince(since: number): Promise<string[]> {
      const emails: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { users: UserRow[]; next_cursor: string | null } = await listUsers(
          `?updated_since=${new Date(since).toISOString()}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        emails.push(...page.users.map((u) => u.email));
        cursor = page.next_cursor;
      } while (cursor);
      return emails;
    }

    async function enrol(email: string): Promise<{ token: string; recoveryCodes: string[] }> {
      const token = await signInToken(app, { account: 'acme', email });
      const authenticator = new Authenticator((await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json().otpauth_uri);
      const verified = await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } });
      assert.equal(verified.statusCode, 200, verified.body);
      return { token, recoveryCodes: verified.json().recovery_codes };
    }

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      ownerToken = (await setUpAccount(app)).token;
    });
    after(async () => app?.close());

    it('email finds one person, whatever the case; an unknown address is an empty list', async () => {
      await addUser(app, { account: 'acme', email: 'dana.agent@acme.test', role: 'agent' });
      const found = await listUsers('?email=Dana.Agent%40ACME.test');
      assert.deepEqual(
        found.users.map((u) => u.email),
        ['dana.agent@acme.test'],
      );
      assert.equal(found.next_cursor, null);
      assert.match(found.users[0]!.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual((await listUsers('?email=nobody%40acme.test')).users, []);
    });

    it('updated_since keeps the people changed at or after it; each write a sync script needs moves updated_at', async () => {
      for (const name of ['role', 'suspend', 'two-factor', 'codes', 'quiet']) {
        await addUser(app, { account: 'acme', email: `${name}@acme.test`, role: 'agent' });
      }
      const enrolled = await enrol('codes@acme.test');
      await enrol('two-factor@acme.test');
      app.clock.advance(60 * SECOND);
      const since = app.clock.now();
      assert.deepEqual(await changedSince(since), [], 'nobody changed yet');

      app.clock.advance(SECOND);
      const role = await app.api('PATCH', `/api/v1/admin/users/${await idOf('role@acme.test')}`, {
        token: ownerToken,
        body: { role: 'admin', reason: 'Team lead now', ...ownerConfirm },
      });
      assert.equal(role.statusCode, 200, role.body);
      assert.equal(role.json().updated_at, new Date(app.clock.now()).toISOString());
      const suspended = await app.api('PATCH', `/api/v1/admin/users/${await idOf('suspend@acme.test')}`, {
        token: ownerToken,
        body: { suspended: true, reason: 'Left the company', ...ownerConfirm },
      });
      assert.equal(suspended.statusCode, 200, suspended.body);
      const reset = await app.api('DELETE', `/api/v1/admin/users/${await idOf('two-factor@acme.test')}/two-factor`, {
        token: ownerToken,
        body: { reason: 'Lost phone', ...ownerConfirm },
      });
      assert.equal(reset.statusCode, 200, reset.body);
      const codes = await app.api('POST', '/api/v1/me/two-factor/recovery-codes', {
        token: enrolled.token,
        // A recovery code, which itself touches no column of the person: the new set must.
        body: { method: 'recovery_code', code: enrolled.recoveryCodes[0] },
      });
      assert.equal(codes.statusCode, 200, codes.body);

      const changed = await changedSince(since);
      assert.ok(changed.includes('role@acme.test'), 'a role change');
      assert.ok(changed.includes('suspend@acme.test'), 'a suspension');
      assert.ok(changed.includes('codes@acme.test'), 'new recovery codes');
      assert.ok(changed.includes('two-factor@acme.test'), 'a reset of two-factor authentication');
      assert.ok(!changed.includes('quiet@acme.test'), 'nobody else');
      assert.deepEqual(await changedSince(app.clock.now() + SECOND), [], 'nothing after the last change');
      assert.ok((await changedSince(app.clock.now())).length > 0, 'at the very moment counts ("at or after")');
    });

    it('filters keep cursor paging newest first, and combine with each other', async () => {
      const since = app.clock.now() + SECOND;
      app.clock.advance(2 * SECOND);
      for (let i = 0; i < 105; i += 1) {
        app.clock.advance(1);
        await addUser(app, { account: 'acme', email: `sync-${String(i).padStart(3, '0')}@acme.test`, role: 'end_user' });
      }
      const first = await listUsers(`?updated_since=${new Date(since).toISOString()}`);
      assert.equal(first.users.length, 100);
      assert.ok(first.next_cursor);
      const second = await listUsers(`?updated_since=${new Date(since).toISOString()}&cursor=${first.next_cursor}`);
      assert.deepEqual(
        second.users.map((u) => u.email),
        ['sync-004@acme.test', 'sync-003@acme.test', 'sync-002@acme.test', 'sync-001@acme.test', 'sync-000@acme.test'],
      );
      assert.equal(second.next_cursor, null);
      const all = [...first.users, ...second.users];
      assert.equal(all[0]!.email, 'sync-104@acme.test', 'newest first');
      for (let i = 1; i < all.length; i += 1) assert.ok(all[i - 1]!.created_at >= all[i]!.created_at);
      const both = await listUsers(`?email=SYNC-050%40acme.test&updated_since=${new Date(since).toISOString()}`);
      assert.deepEqual(
        both.users.map((u) => u.email),
        ['sync-050@acme.test'],
      );
      assert.deepEqual((await listUsers(`?email=sync-050%40acme.test&updated_since=${new Date(app.clock.now() + SECOND).toISOString()}`)).users, []);
      const csv = await app.api('GET', `/api/v1/admin/users?format=csv&email=sync-007%40acme.test`, { token: ownerToken });
      assert.match(String(csv.headers['content-type']), /text\/csv/);
      assert.equal(csv.body.trim().split('\r\n').length, 2, 'the header and one person');
    });

    it('a bad updated_since, or one too long, is a 400 in the API error shape', async () => {
      for (const query of [
        '?updated_since=yesterday',
        '?updated_since=2026-13-45T00:00:00Z',
        `?updated_since=2026-11-28T${'0'.repeat(60)}`,
        `?email=${'a'.repeat(400)}`,
      ]) {
        const response = await app.api('GET', `/api/v1/admin/users${query}`, { token: ownerToken });
        assert.equal(response.statusCode, 400, `${query}: ${response.body}`);
        assert.equal(response.json().error.code, 'invalid_request');
      }
      const named = (await app.api('GET', '/api/v1/admin/users?updated_since=yesterday', { token: ownerToken })).json();
      assert.equal(named.error.field, 'updated_since');
    });
  });
}
