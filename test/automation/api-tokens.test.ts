// API tokens (DESIGN.md, Automation; SECURITY.md: "API tokens: hashed, scoped,
// account-bound, expiring, never accepted on sign-in, /me or as a person's
// confirmation"): made with the admin's confirmation and shown once, stored as a
// SHA-256; each admin route takes exactly the scope it declares (table-driven over every
// route of /openapi.json); other accounts' people are not found; expired, revoked and
// orphaned tokens are refused; a token cannot grant admin power; the audit log names it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { API_TOKEN_SCOPES } from '../../src/domain/automation.js';
import { API_TOKEN_REQUESTS_PER_MINUTE } from '../../src/services/api-tokens.js';
import {
  STRONG_PASSWORD,
  addUser,
  createExtraAccount,
  dialects,
  expectErrorShape,
  setUpAccount,
  signInToken,
  startTestApp,
  type TestApp,
} from '../support/harness.js';

const CONFIRM = { method: 'password', code: STRONG_PASSWORD };
const DAY = 24 * 60 * 60 * 1000;

/** The scope each admin route needs; null: people only. A new admin route must be added
 * here, or the table test fails. */
const ROUTE_SCOPES: Record<string, string | null> = {
  'GET /api/v1/admin/users': 'users:read',
  'POST /api/v1/admin/users': 'users:write',
  'PATCH /api/v1/admin/users/{id}': 'users:write',
  'GET /api/v1/admin/audit-events': 'audit:read',
  'GET /api/v1/admin/security-policy': 'policy:read',
  'PUT /api/v1/admin/security-policy': 'policy:write',
  'GET /api/v1/admin/apps': 'apps:write',
  'POST /api/v1/admin/apps': 'apps:write',
  'GET /api/v1/admin/apps/{id}': 'apps:write',
  'PATCH /api/v1/admin/apps/{id}': 'apps:write',
  'DELETE /api/v1/admin/apps/{id}': 'apps:write',
  // The account's name and default language: people only (no scope names them).
  'GET /api/v1/admin/account': null,
  'PATCH /api/v1/admin/account': null,
};

for (const dialect of dialects()) {
  describe(`API tokens on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;
    let adminToken: string;
    let agentId: string;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      ownerToken = (await setUpAccount(app)).token;
      await addUser(app, { account: 'acme', email: 'ada@acme.test', role: 'admin' });
      await addUser(app, { account: 'acme', email: 'amos@acme.test', role: 'agent' });
      adminToken = await signInToken(app, { account: 'acme', email: 'ada@acme.test' });
      const users = (await app.api('GET', '/api/v1/admin/users', { token: ownerToken })).json().users as { id: string; email: string }[];
      agentId = users.find((u) => u.email === 'amos@acme.test')!.id;
    });
    after(async () => app?.close());

    const makeToken = async (body: Record<string, unknown>, session = ownerToken) => {
      const response = await app.api('POST', '/api/v1/admin/api-tokens', {
        token: session,
        body: { name: 'HR sync', expires_in_days: 30, ...CONFIRM, ...body },
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json() as { id: string; token: string; scopes: string[] };
    };

    it('is made with the admin’s confirmation, shown once, listed without its value, and stored as a SHA-256 only', async () => {
      const unconfirmed = await app.api('POST', '/api/v1/admin/api-tokens', {
        token: ownerToken,
        body: { name: 'x', scopes: ['users:read'], expires_in_days: 1 },
      });
      assert.equal(unconfirmed.statusCode, 403);
      assert.equal(unconfirmed.json().error.code, 'confirmation_required');
      const wrong = await app.api('POST', '/api/v1/admin/api-tokens', {
        token: ownerToken,
        body: { name: 'x', scopes: ['users:read'], expires_in_days: 1, method: 'password', code: 'nope nope nope' },
      });
      assert.equal(wrong.statusCode, 401);

      const made = await makeToken({ scopes: ['users:read', 'audit:read'] });
      assert.match(made.token, /^tsr_[A-Za-z0-9_-]{65}$/);
      const listed = (await app.api('GET', '/api/v1/admin/api-tokens', { token: ownerToken })).json().api_tokens as Record<string, unknown>[];
      const row = listed.find((t) => t.id === made.id)!;
      assert.equal(row.name, 'HR sync');
      assert.deepEqual(row.scopes, ['users:read', 'audit:read']);
      assert.deepEqual(row.created_by, { id: (await app.api('GET', '/api/v1/me', { token: ownerToken })).json().id, email: 'owner@acme.test' });
      assert.equal(row.last_used_at, null);
      assert.equal(row.expires_at, new Date(app.clock.now() + 30 * DAY).toISOString());
      assert.ok(!JSON.stringify(listed).includes(made.token.slice(4 + 22)), 'the secret is never listed');

      const stored = await app.runtime.deps.db.selectFrom('api_tokens').selectAll().where('id', '=', made.id).executeTakeFirstOrThrow();
      const secret = made.token.slice(4 + 22);
      assert.equal(stored.secret_hash, createHash('sha256').update(secret).digest('hex'));
      assert.ok(!JSON.stringify(stored).includes(secret));

      assert.equal((await app.api('GET', '/api/v1/admin/users', { token: made.token })).statusCode, 200);
      const used = (await app.api('GET', '/api/v1/admin/api-tokens', { token: ownerToken })).json().api_tokens.find((t: { id: string }) => t.id === made.id);
      assert.equal(used.last_used_at, new Date(app.clock.now()).toISOString());
    });

    it('refuses bad settings with a clear error', async () => {
      for (const [body, field] of [
        [{ scopes: [], expires_in_days: 1 }, 'scopes'],
        [{ scopes: ['users:read'], expires_in_days: 0 }, 'expires_in_days'],
        [{ scopes: ['users:read'], expires_in_days: 366 }, 'expires_in_days'],
        [{ scopes: ['root'], expires_in_days: 1 }, 'scopes'],
        [{ name: '   ', scopes: ['users:read'], expires_in_days: 1 }, 'name'],
      ] as const) {
        const response = await app.api('POST', '/api/v1/admin/api-tokens', { token: ownerToken, body: { name: 'x', ...CONFIRM, ...body } });
        assert.equal(response.statusCode, 400, `${JSON.stringify(body)}: ${response.body}`);
        expectErrorShape(response.json());
        if (field === 'name') assert.equal(response.json().error.field, field);
      }
    });

    it('takes exactly the declared scope on every admin route, and nothing anywhere else (the table covers /openapi.json)', async () => {
      const spec = (await app.api('GET', '/openapi.json')).json() as { paths: Record<string, Record<string, { security?: unknown[] }>> };
      const bearerRoutes = Object.entries(spec.paths).flatMap(([path, operations]) =>
        Object.entries(operations)
          .filter(([, operation]) => Array.isArray(operation.security) && operation.security.length > 0)
          .map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
      );
      const adminRoutes = bearerRoutes.filter((route) => route.path.startsWith('/api/v1/admin/'));
      for (const route of adminRoutes) {
        const key = `${route.method} ${route.path}`;
        if (!(key in ROUTE_SCOPES)) {
          assert.ok(
            ['/api/v1/admin/api-tokens', '/api/v1/admin/webhooks', '/api/v1/admin/users/{id}/'].some((prefix) => route.path.startsWith(prefix)),
            `${key}: say which scope it takes in ROUTE_SCOPES`,
          );
        }
      }
      const everything = await makeToken({ name: 'all', scopes: [...API_TOKEN_SCOPES] });
      const tokensWithout = new Map<string, string>();
      for (const scope of API_TOKEN_SCOPES)
        tokensWithout.set(scope, (await makeToken({ name: `all but ${scope}`, scopes: API_TOKEN_SCOPES.filter((s) => s !== scope) })).token as string);
      const url = (path: string) => path.replace('{id}', 'no-such-id').replace('{delivery_id}', 'no-such-id');
      const body = (method: string) => (method === 'GET' || method === 'DELETE' ? undefined : {});
      for (const route of bearerRoutes) {
        const key = `${route.method} ${route.path}`;
        const scope = Object.hasOwn(ROUTE_SCOPES, key) ? ROUTE_SCOPES[key]! : null;
        const withAll = await app.api(route.method, url(route.path), { token: everything.token, body: body(route.method) });
        if (scope === null) {
          assert.equal(withAll.statusCode, 403, `${key} is for people only: ${withAll.body}`);
          assert.equal(withAll.json().error.code, 'person_required', key);
          continue;
        }
        assert.ok(![401, 403].includes(withAll.statusCode), `${key} with ${scope}: ${withAll.statusCode} ${withAll.body}`);
        const without = await app.api(route.method, url(route.path), { token: tokensWithout.get(scope)!, body: body(route.method) });
        assert.equal(without.statusCode, 403, `${key} without ${scope}`);
        assert.equal(without.json().error.code, 'insufficient_scope', key);
        assert.match(String(without.headers['www-authenticate']), new RegExp(`insufficient_scope.*${scope}`));
      }
      assert.ok(
        bearerRoutes.some((route) => route.path === '/api/v1/me'),
        'the /me routes were among those tried',
      );
    });

    it('acts for its own account only: another account’s people are not found', async () => {
      await createExtraAccount(app, 'globex');
      await addUser(app, { account: 'globex', email: 'gina@globex.test', role: 'agent' });
      const globexUser = await app.runtime.deps.db.selectFrom('users').select('id').where('email', '=', 'gina@globex.test').executeTakeFirstOrThrow();
      const token = (await makeToken({ name: 'writer', scopes: ['users:write', 'users:read'] })).token;
      const response = await app.api('PATCH', `/api/v1/admin/users/${globexUser.id}`, { token, body: { suspended: true, reason: 'left the company' } });
      assert.equal(response.statusCode, 404, response.body);
      assert.equal(response.json().error.code, 'user_not_found');
      const list = (await app.api('GET', '/api/v1/admin/users', { token })).json().users as { email: string }[];
      assert.ok(list.every((u) => u.email.endsWith('@acme.test')));
    });

    it('suspends and invites without a passcode, names itself in the audit log, but never grants admin power', async () => {
      const made = await makeToken({ name: 'HR system', scopes: ['users:write', 'users:read', 'audit:read'] });
      const suspended = await app.api('PATCH', `/api/v1/admin/users/${agentId}`, { token: made.token, body: { suspended: true, reason: 'left the company' } });
      assert.equal(suspended.statusCode, 200, suspended.body);
      assert.equal(suspended.json().suspended, true);
      const events = (await app.api('GET', '/api/v1/admin/audit-events?type=user_suspended', { token: made.token })).json().audit_events;
      assert.equal(events[0].actor.email, 'owner@acme.test');
      assert.deepEqual(events[0].api_token, { id: made.id, name: 'HR system' });
      const reactivated = await app.api('PATCH', `/api/v1/admin/users/${agentId}`, { token: made.token, body: { suspended: false, reason: 'came back' } });
      assert.equal(reactivated.statusCode, 200);

      const invited = await app.api('POST', '/api/v1/admin/users', { token: made.token, body: { email: 'new.agent@acme.test', role: 'agent' } });
      assert.equal(invited.statusCode, 200, invited.body);
      const adminInvite = await app.api('POST', '/api/v1/admin/users', {
        token: made.token,
        body: { email: 'boss@acme.test', role: 'admin', reason: 'new boss' },
      });
      assert.equal(adminInvite.statusCode, 403);
      assert.equal(adminInvite.json().error.code, 'person_required');
      const promote = await app.api('PATCH', `/api/v1/admin/users/${agentId}`, { token: made.token, body: { role: 'admin', reason: 'promotion' } });
      assert.equal(promote.statusCode, 403);
      assert.equal(promote.json().error.code, 'person_required');
      const still = await app.runtime.deps.db.selectFrom('users').select('role').where('id', '=', agentId).executeTakeFirstOrThrow();
      assert.equal(still.role, 'agent');
      const ada = (await app.api('GET', '/api/v1/me', { token: adminToken })).json().id;
      const suspendAdmin = await app.api('PATCH', `/api/v1/admin/users/${ada}`, { token: made.token, body: { suspended: true, reason: 'token gone rogue' } });
      assert.equal(suspendAdmin.statusCode, 403, 'suspending (or reactivating) an admin stays with people');
      assert.equal(suspendAdmin.json().error.code, 'person_required');
      assert.equal((await app.api('GET', '/api/v1/me', { token: adminToken })).statusCode, 200);
    });

    it('changes the policy with policy:write and no passcode', async () => {
      const token = (await makeToken({ name: 'policy bot', scopes: ['policy:write', 'policy:read'] })).token;
      const response = await app.api('PUT', '/api/v1/admin/security-policy', { token, body: { session_days: 7 } });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal((await app.api('GET', '/api/v1/admin/security-policy', { token })).json().session_days, 7);
    });

    it('is refused once revoked (from the next request), once expired, and once its creator is no longer an admin', async () => {
      const revoked = await makeToken({ name: 'to revoke', scopes: ['users:read'] });
      assert.equal((await app.api('GET', '/api/v1/admin/users', { token: revoked.token })).statusCode, 200);
      assert.equal((await app.api('DELETE', `/api/v1/admin/api-tokens/${revoked.id}`, { token: ownerToken })).statusCode, 204);
      const afterRevoke = await app.api('GET', '/api/v1/admin/users', { token: revoked.token });
      assert.equal(afterRevoke.statusCode, 401);
      assert.equal(afterRevoke.json().error.code, 'unauthorized');
      const listed = (await app.api('GET', '/api/v1/admin/api-tokens', { token: ownerToken }))
        .json()
        .api_tokens.find((t: { id: string }) => t.id === revoked.id);
      assert.equal(listed.revoked_at, new Date(app.clock.now()).toISOString());

      const short = await makeToken({ name: 'short', scopes: ['users:read'], expires_in_days: 1 });
      app.clock.advance(DAY + 1);
      assert.equal((await app.api('GET', '/api/v1/admin/users', { token: short.token })).statusCode, 401);
      app.clock.advance(-(DAY + 1));

      const adas = await makeToken({ name: 'ada’s', scopes: ['users:read'] }, adminToken);
      assert.equal((await app.api('GET', '/api/v1/admin/users', { token: adas.token })).statusCode, 200);
      const ada = (await app.api('GET', '/api/v1/me', { token: adminToken })).json().id;
      const demoted = await app.api('PATCH', `/api/v1/admin/users/${ada}`, { token: ownerToken, body: { role: 'agent', reason: 'moved team', ...CONFIRM } });
      assert.equal(demoted.statusCode, 200, demoted.body);
      assert.equal((await app.api('GET', '/api/v1/admin/users', { token: adas.token })).statusCode, 401, 'a token never outlasts its creator’s power');
      const adasRow = (await app.api('GET', '/api/v1/admin/api-tokens', { token: ownerToken })).json().api_tokens.find((t: { id: string }) => t.id === adas.id);
      assert.notEqual(adasRow.revoked_at, null, 'revoked, not paused: making them an admin again does not revive it');
      const promoted = await app.api('PATCH', `/api/v1/admin/users/${ada}`, {
        token: ownerToken,
        body: { role: 'admin', reason: 'back in the team', ...CONFIRM },
      });
      assert.equal(promoted.statusCode, 200, promoted.body);
      assert.equal((await app.api('GET', '/api/v1/admin/users', { token: adas.token })).statusCode, 401);

      const tampered = `${revoked.token.slice(0, -1)}${revoked.token.endsWith('A') ? 'B' : 'A'}`;
      assert.equal((await app.api('GET', '/api/v1/admin/users', { token: tampered })).statusCode, 401);
    });

    it('is never a session: /me, sign-out and the API token routes refuse it', async () => {
      const token = (await makeToken({ name: 'everything', scopes: [...API_TOKEN_SCOPES] })).token;
      for (const [method, path] of [
        ['GET', '/api/v1/me'],
        ['POST', '/api/v1/sign-out'],
        ['GET', '/api/v1/admin/api-tokens'],
        ['POST', '/api/v1/admin/webhooks'],
        ['POST', `/api/v1/admin/users/${agentId}/recovery-code`],
      ] as const) {
        const response = await app.api(method, path, { token, body: method === 'POST' ? { reason: 'x', ...CONFIRM } : undefined });
        assert.ok([401, 403].includes(response.statusCode), `${method} ${path}: ${response.statusCode}`);
        expectErrorShape(response.json());
      }
      const signIn = await app.api('POST', '/api/v1/sign-in', { body: { account: 'acme', email: 'owner@acme.test', password: token } });
      assert.equal(signIn.statusCode, 401);
    });

    it('is rate limited per token', async () => {
      const token = (await makeToken({ name: 'busy script', scopes: ['policy:read'] })).token;
      let limited: Awaited<ReturnType<TestApp['api']>> | null = null;
      for (let i = 0; i <= API_TOKEN_REQUESTS_PER_MINUTE && !limited; i += 1) {
        const response = await app.api('GET', '/api/v1/admin/security-policy', { token });
        if (response.statusCode === 429) limited = response;
        else assert.equal(response.statusCode, 200);
      }
      assert.ok(limited, `refused by request ${API_TOKEN_REQUESTS_PER_MINUTE + 1}`);
      assert.equal(limited.json().error.code, 'rate_limited');
      assert.ok(Number(limited.headers['retry-after']) > 0);
      const other = (await makeToken({ name: 'other script', scopes: ['policy:read'] })).token;
      assert.equal((await app.api('GET', '/api/v1/admin/security-policy', { token: other })).statusCode, 200, 'another token is not held back');
    });
  });
}
