// Operations endpoints (DESIGN.md, "Operations"): liveness, readiness, Prometheus
// metrics, the OpenAPI document and the development outbox.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { POSTGRES_URL, dialects, expectErrorShape, setUpAccount, startTestApp, type TestApp } from '../support/harness.js';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/runtime.js';

const ISO_WITH_MILLISECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

for (const dialect of dialects()) {
  describe(`operations endpoints on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      ownerToken = (await setUpAccount(app)).token;
    });
    after(async () => app?.close());

    it('GET /healthz answers 200', async () => {
      const response = await app.api('GET', '/healthz');
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /application\/json/);
      assert.deepEqual(response.json(), { status: 'ok' });
    });

    it('GET /readyz answers 200 while the database is reachable', async () => {
      const response = await app.api('GET', '/readyz');
      assert.equal(response.statusCode, 200);
      assert.equal(response.json().status, 'ready');
    });

    it('GET /metrics is Prometheus text with the request counter', async () => {
      await app.api('GET', '/healthz');
      await app.api('GET', '/api/v1/me');
      const response = await app.api('GET', '/metrics');
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^text\/plain/);
      assert.match(String(response.headers['content-type']), /version=0\.0\.4/);
      const text = response.body;
      assert.match(text, /^# HELP tessera_http_requests_total /m);
      assert.match(text, /^# TYPE tessera_http_requests_total counter$/m);
      assert.match(text, /^tessera_http_requests_total\{[^}]*route="\/healthz"[^}]*status="200"[^}]*\} [1-9]\d*$/m);
      assert.match(text, /^tessera_http_requests_total\{[^}]*route="\/api\/v1\/me"[^}]*status="401"[^}]*\} [1-9]\d*$/m);
      assert.match(text, /^# TYPE tessera_http_request_duration_seconds histogram$/m);
      // Each further request lands in its own series, counted once.
      const meCount = (body: string) => Number(/^tessera_http_requests_total\{[^}]*route="\/api\/v1\/me"[^}]*status="401"[^}]*\} (\d+)$/m.exec(body)?.[1]);
      const meDurations = (body: string) => Number(/^tessera_http_request_duration_seconds_count\{[^}]*route="\/api\/v1\/me"[^}]*\} (\d+)$/m.exec(body)?.[1]);
      await app.api('GET', '/api/v1/me');
      await app.api('GET', '/api/v1/me', { token: ownerToken });
      const after = (await app.api('GET', '/metrics')).body;
      assert.equal(meCount(after), meCount(text) + 1);
      assert.equal(meDurations(after), meDurations(text) + 2);
      assert.match(after, /^tessera_http_requests_total\{[^}]*route="\/api\/v1\/me"[^}]*status="200"[^}]*\} 1$/m);
      // Every sample line is `name{labels} value` (or `name value`). prom-client writes
      // an event-loop gauge with no sample yet as "Nan", which Prometheus reads like NaN.
      for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
        assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? (-?[0-9.e+-]+|NaN|Nan|[+-]Inf)$/, line);
      }
      // No token or email ever lands in a label.
      assert.doesNotMatch(text, /owner@acme\.test/);
      assert.equal(text.includes(ownerToken), false);
    });

    it('GET /openapi.json is OpenAPI 3 with the sign-in, me and admin paths and a bearer scheme', async () => {
      const response = await app.api('GET', '/openapi.json');
      assert.equal(response.statusCode, 200);
      const spec = response.json();
      assert.match(spec.openapi, /^3\.\d+\.\d+$/);
      assert.equal(typeof spec.info?.title, 'string');
      assert.ok(spec.paths['/api/v1/sign-in']?.post, 'POST /api/v1/sign-in');
      assert.ok(spec.paths['/api/v1/me']?.get, 'GET /api/v1/me');
      assert.ok(spec.paths['/api/v1/admin/users']?.get, 'GET /api/v1/admin/users');
      assert.ok(spec.paths['/api/v1/admin/users']?.post, 'POST /api/v1/admin/users');
      const schemes = spec.components?.securitySchemes ?? {};
      const bearer = Object.values(schemes).find(
        (s) => (s as { type?: string; scheme?: string }).type === 'http' && (s as { scheme?: string }).scheme?.toLowerCase() === 'bearer',
      );
      assert.ok(bearer, `a bearer security scheme in ${JSON.stringify(schemes)}`);
      const bearerName = Object.entries(schemes).find(([, s]) => s === bearer)![0];
      // Routes that need a session say so; sign-in does not.
      assert.ok((spec.paths['/api/v1/me'].get.security as Record<string, unknown>[]).some((s) => bearerName in s));
      assert.ok((spec.paths['/api/v1/admin/users'].get.security as Record<string, unknown>[]).some((s) => bearerName in s));
      assert.equal((spec.paths['/api/v1/sign-in'].post.security ?? []).length, 0);
      assert.deepEqual(spec.paths['/api/v1/sign-in'].post.requestBody.content['application/json'].schema.required.sort(), ['account', 'email', 'password']);
      // The HTML pages are not part of the API description.
      assert.equal(spec.paths['/sign-in'], undefined);
      assert.equal(spec.paths['/profile/security'], undefined);
    });

    it('GET /api/v1/dev/outbox lists messages newest first, with exactly the documented fields', async () => {
      for (const name of ['first', 'second', 'third']) {
        app.clock.advance(1000);
        const invite = await app.api('POST', '/api/v1/admin/users', { token: ownerToken, body: { email: `${name}@acme.test`, role: 'agent' } });
        assert.equal(invite.statusCode, 200, invite.body);
      }
      const response = await app.api('GET', '/api/v1/dev/outbox');
      assert.equal(response.statusCode, 200);
      const { messages } = response.json() as { messages: Record<string, unknown>[] };
      assert.ok(Array.isArray(messages));
      const recipients = messages.map((m) => m.to);
      assert.deepEqual(recipients.slice(0, 3), ['third@acme.test', 'second@acme.test', 'first@acme.test']);
      for (const message of messages) {
        assert.deepEqual(Object.keys(message).sort(), ['body', 'channel', 'created_at', 'id', 'subject', 'to']);
        assert.ok(message.channel === 'email' || message.channel === 'sms');
        assert.equal(typeof message.id, 'string');
        assert.equal(typeof message.subject, 'string');
        assert.equal(typeof message.body, 'string');
        assert.match(String(message.created_at), ISO_WITH_MILLISECONDS);
      }
      const times = messages.map((m) => Date.parse(String(m.created_at)));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        'newest first',
      );
      assert.match(String(messages[0]!.subject), /invited/i);
      assert.match(String(messages[0]!.body), /\/invitation\?token=/);
    });
  });

  // Its own app, started after the one above is closed: a closed database cannot be reopened.
  describe(`readiness without a database on ${dialect.name}`, { skip: dialect.skip }, () => {
    it('answers /readyz 503 in the error shape once the database is gone, while /healthz stays 200', async () => {
      const doomed = await startTestApp({ dialect: dialect.name });
      try {
        assert.equal((await doomed.api('GET', '/readyz')).statusCode, 200);
        await doomed.runtime.store.close();
        const response = await doomed.api('GET', '/readyz');
        assert.equal(response.statusCode, 503);
        const body = response.json();
        expectErrorShape(body);
        assert.equal(body.error.code, 'service_unavailable');
        assert.equal((await doomed.api('GET', '/healthz')).statusCode, 200, 'alive, only not ready');
        // An API call that needs the database fails cleanly, with the error shape.
        const me = await doomed.api('GET', '/api/v1/me', { token: 'AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
        assert.ok(me.statusCode >= 500, `answered ${me.statusCode}`);
        expectErrorShape(me.json());
        assert.doesNotMatch(me.body, /destroyed|sqlite|postgres|stack/i, 'no internals in the answer');
      } finally {
        await doomed.close();
      }
    });
  });
}

const postgres = dialects().find((d) => d.name === 'postgres')!;

describe('two instances in one PostgreSQL database', { skip: postgres.skip }, () => {
  it('start side by side in separate schemas (each migrates its own schema)', async () => {
    // Kysely's migrator looks for its tables in every schema unless told which one;
    // with another schema's tables present it skips creating its own and fails.
    const first = await startTestApp({ dialect: 'postgres' });
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: POSTGRES_URL! });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
    try {
      const url = new URL(POSTGRES_URL!);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const config = loadConfig({ TESSERA_DATA_DIR: dataDir, TESSERA_DATABASE_URL: url.toString() }, dataDir);
      const second = await createRuntime(config, {});
      try {
        await second.app.ready();
        assert.equal((await second.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
        const tables = await admin.query(`select table_name from information_schema.tables where table_schema = $1`, [schema]);
        assert.ok(
          tables.rows.some((row: { table_name: string }) => row.table_name === 'users'),
          'the second instance has its own tables',
        );
      } finally {
        await second.close();
      }
      assert.equal((await first.api('GET', '/readyz')).statusCode, 200);
    } finally {
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
      rmSync(dataDir, { recursive: true, force: true });
      await first.close();
    }
  });
});
