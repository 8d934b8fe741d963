// An account's apps through the admin API (DESIGN.md, OpenID Connect and Forward-auth;
// SECURITY.md, other apps): registered, listed, changed and removed by the account's
// admins with their confirmation and a reason; a confidential app's secret shown once
// and stored as a SHA-256 only; redirect URIs refused unless exact-matchable https (or
// loopback http); a proxy host taken once in the deployment; other accounts' apps not
// found; a removed app's grants and tokens gone with it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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
import { createApp, operatorAppManager } from '../../src/services/apps.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { upsertOidcRecord } from '../../src/store/oidc-records.js';

const CONFIRMATION = { reason: 'new monitoring app', method: 'password', code: STRONG_PASSWORD };
const GRAFANA = { name: 'Grafana', type: 'confidential', redirect_uris: ['https://grafana.example.com/login/generic_oauth'] };

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

for (const dialect of dialects()) {
  describe(`apps through the admin API on ${dialect.name}`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let ownerToken: string;
    let ownerId: string;

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      ownerToken = (await setUpAccount(app)).token;
      ownerId = (await app.api('GET', '/api/v1/me', { token: ownerToken })).json().id;
    });
    after(async () => app?.close());

    const create = (body: Record<string, unknown>, token = ownerToken) => app.api('POST', '/api/v1/admin/apps', { token, body: { ...body, ...CONFIRMATION } });
    const appCount = async () =>
      Number(
        (
          await app.runtime.deps.db
            .selectFrom('apps')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    it('registers a confidential app: its client_id and, this once, its secret; the database holds only a SHA-256 of the secret', async () => {
      const created = await create({
        ...GRAFANA,
        post_logout_redirect_uris: ['https://grafana.example.com/logout'],
        required_acr: 'urn:tessera:acr:two-factor',
      });
      assert.equal(created.statusCode, 200, created.body);
      const body = created.json();
      assert.match(body.id, /^[A-Za-z0-9_-]{22}$/);
      assert.equal(body.client_id, body.id);
      assert.match(body.client_secret, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
      assert.deepEqual(
        { ...body, id: undefined, client_id: undefined, client_secret: undefined, created_at: undefined, updated_at: undefined },
        {
          id: undefined,
          client_id: undefined,
          client_secret: undefined,
          created_at: undefined,
          updated_at: undefined,
          name: 'Grafana',
          type: 'confidential',
          redirect_uris: ['https://grafana.example.com/login/generic_oauth'],
          post_logout_redirect_uris: ['https://grafana.example.com/logout'],
          backchannel_logout_uri: null,
          host: null,
          first_party: false,
          allowed_roles: ['admin', 'agent'],
          required_acr: 'urn:tessera:acr:two-factor',
        },
      );
      assert.equal(body.created_at, new Date(app.clock.now()).toISOString());

      const row = await app.runtime.deps.db.selectFrom('apps').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow();
      assert.equal(row.secret_hash, sha256(body.client_secret));
      assert.equal(row.created_by_user_id, ownerId);
      // No table holds the secret itself: not the app, not the audit log, not the outbox.
      for (const table of ['apps', 'audit_events', 'outbox_messages'] as const) {
        const rows = await app.runtime.deps.db.selectFrom(table).selectAll().execute();
        assert.ok(!JSON.stringify(rows).includes(body.client_secret), `${table} holds the raw secret`);
      }
      assert.ok(!app.logs.join('').includes(body.client_secret), 'no log line holds the secret');

      // Read back, the secret is never shown again.
      const read = await app.api('GET', `/api/v1/admin/apps/${body.id}`, { token: ownerToken });
      assert.equal(read.statusCode, 200);
      assert.equal(read.json().client_secret, undefined);
      assert.equal(read.json().name, 'Grafana');
      const listed = (await app.api('GET', '/api/v1/admin/apps', { token: ownerToken })).json().apps as { id: string; client_secret?: string }[];
      assert.ok(listed.some((a) => a.id === body.id));
      assert.ok(listed.every((a) => a.client_secret === undefined));

      const events = await app.runtime.deps.db.selectFrom('audit_events').selectAll().where('type', '=', 'app_created').execute();
      const event = events.find((e) => JSON.parse(e.details!).app_id === body.id)!;
      assert.equal(event.actor_user_id, ownerId);
      assert.equal(event.reason, 'new monitoring app');
      assert.deepEqual(JSON.parse(event.details!), { app_id: body.id, name: 'Grafana', type: 'confidential', by: 'admin' });
    });

    it('a public app gets no secret; a proxy app is its host (kept lower-case) with no redirect URI', async () => {
      const spa = await create({
        name: 'Dashboard SPA',
        type: 'public',
        redirect_uris: ['http://127.0.0.1:5173/callback', 'https://dash.example.com/cb'],
        first_party: true,
      });
      assert.equal(spa.statusCode, 200, spa.body);
      assert.equal(spa.json().client_secret, undefined);
      assert.equal(spa.json().first_party, true);
      const row = await app.runtime.deps.db.selectFrom('apps').select('secret_hash').where('id', '=', spa.json().id).executeTakeFirstOrThrow();
      assert.equal(row.secret_hash, null);

      app.clock.advance(1000);
      const proxy = await create({ name: 'Wiki', type: 'proxy', host: 'Wiki.Example.com', allowed_roles: ['agent', 'end_user'] });
      assert.equal(proxy.statusCode, 200, proxy.body);
      assert.equal(proxy.json().host, 'wiki.example.com');
      assert.deepEqual(proxy.json().redirect_uris, []);
      assert.deepEqual(proxy.json().allowed_roles, ['agent', 'end_user']);
      assert.equal(proxy.json().client_secret, undefined);
      const ids = ((await app.api('GET', '/api/v1/admin/apps', { token: ownerToken })).json().apps as { id: string }[]).map((a) => a.id);
      assert.ok(ids.indexOf(proxy.json().id) < ids.indexOf(spa.json().id), 'newest first');
    });

    it("needs the admin's confirmation and a reason; a refusal creates nothing", async () => {
      const before = await appCount();
      const unconfirmed = await app.api('POST', '/api/v1/admin/apps', { token: ownerToken, body: { ...GRAFANA, reason: 'testing' } });
      assert.equal(unconfirmed.statusCode, 403, unconfirmed.body);
      assert.equal(unconfirmed.json().error.code, 'confirmation_required');
      const noReason = await app.api('POST', '/api/v1/admin/apps', { token: ownerToken, body: { ...GRAFANA, method: 'password', code: STRONG_PASSWORD } });
      assert.equal(noReason.statusCode, 400, noReason.body);
      assert.equal(noReason.json().error.field, 'reason');
      const wrong = await app.api('POST', '/api/v1/admin/apps', { token: ownerToken, body: { ...GRAFANA, ...CONFIRMATION, code: 'not my password' } });
      assert.equal(wrong.statusCode, 401, wrong.body);
      assert.equal(await appCount(), before);
    });

    const elevenUris = Array.from({ length: 11 }, (_, i) => `https://app.example.com/cb/${i}`);
    const refused: [string, Record<string, unknown>, string][] = [
      ['http to a host that is not loopback', { ...GRAFANA, redirect_uris: ['http://grafana.example.com/cb'] }, 'redirect_uris'],
      ['a fragment', { ...GRAFANA, redirect_uris: ['https://grafana.example.com/cb#token'] }, 'redirect_uris'],
      ['a relative URI', { ...GRAFANA, redirect_uris: ['/login/callback'] }, 'redirect_uris'],
      ['javascript:', { ...GRAFANA, redirect_uris: ['javascript:alert(document.cookie)'] }, 'redirect_uris'],
      ['userinfo', { ...GRAFANA, redirect_uris: ['https://grafana.example.com@evil.example/cb'] }, 'redirect_uris'],
      ['a backslash', { ...GRAFANA, redirect_uris: ['https://grafana.example.com\\@evil.example/cb'] }, 'redirect_uris'],
      ['11 redirect URIs', { ...GRAFANA, redirect_uris: elevenUris }, 'redirect_uris'],
      ['no redirect URI', { ...GRAFANA, redirect_uris: [] }, 'redirect_uris'],
      ['a URI over 2000 characters', { ...GRAFANA, redirect_uris: [`https://grafana.example.com/${'a'.repeat(2000)}`] }, 'redirect_uris'],
      ['a bad post-logout URI', { ...GRAFANA, post_logout_redirect_uris: ['http://grafana.example.com/bye'] }, 'post_logout_redirect_uris'],
      ['a bad back-channel logout URI', { ...GRAFANA, backchannel_logout_uri: 'https://user:pw@grafana.example.com/bc' }, 'backchannel_logout_uri'],
      ['no role', { ...GRAFANA, allowed_roles: [] }, 'allowed_roles'],
      ['an unknown role', { ...GRAFANA, allowed_roles: ['owner'] }, ''],
      ['an unknown acr', { ...GRAFANA, required_acr: 'urn:tessera:acr:magic' }, ''],
      ['a blank name', { ...GRAFANA, name: '   ' }, 'name'],
      ['a name over 100 characters', { ...GRAFANA, name: 'G'.repeat(101) }, 'name'],
      ['an unknown type', { ...GRAFANA, type: 'implicit' }, ''],
      ['a proxy app without a host', { name: 'Wiki 2', type: 'proxy' }, 'host'],
      ['a proxy app with a URL for host', { name: 'Wiki 2', type: 'proxy', host: 'https://wiki2.example.com/' }, 'host'],
      [
        'a proxy app with redirect URIs',
        { name: 'Wiki 2', type: 'proxy', host: 'wiki2.example.com', redirect_uris: ['https://wiki2.example.com/cb'] },
        'redirect_uris',
      ],
      ['a host on a confidential app', { ...GRAFANA, host: 'grafana.example.com' }, 'host'],
    ];
    for (const [name, body, field] of refused) {
      it(`refuses ${name} (400, in the error shape, nothing created)`, async () => {
        const before = await appCount();
        const response = await create(body);
        assert.equal(response.statusCode, 400, response.body);
        const error = response.json();
        expectErrorShape(error);
        assert.equal(error.error.code, 'invalid_request');
        // Schema-level refusals (an unknown enum value) name no field; the rules do.
        if (field) assert.equal((error.error as { field?: string }).field, field, response.body);
        assert.equal(await appCount(), before);
      });
    }

    it('a host belongs to one app in the whole deployment: a second one is a conflict (409), in any case', async () => {
      const first = await create({ name: 'Kibana', type: 'proxy', host: 'kibana.example.com' });
      assert.equal(first.statusCode, 200, first.body);
      const again = await create({ name: 'Kibana again', type: 'proxy', host: 'KIBANA.example.com' });
      assert.equal(again.statusCode, 409, again.body);
      assert.equal(again.json().error.code, 'host_taken');
      assert.equal(again.json().error.field, 'host');
      const other = await create({ name: 'Metabase', type: 'proxy', host: 'metabase.example.com' });
      const moved = await app.api('PATCH', `/api/v1/admin/apps/${other.json().id}`, {
        token: ownerToken,
        body: { host: 'kibana.example.com', ...CONFIRMATION },
      });
      assert.equal(moved.statusCode, 409, moved.body);
      // The other account cannot take it either.
      await createExtraAccount(app, 'hostco');
      await addUser(app, { account: 'hostco', email: 'admin@hostco.test', role: 'admin' });
      const hostco = await signInToken(app, { account: 'hostco', email: 'admin@hostco.test' });
      const elsewhere = await create({ name: 'Kibana', type: 'proxy', host: 'kibana.example.com' }, hostco);
      assert.equal(elsewhere.statusCode, 409, elsewhere.body);
      // An app keeps its own host when saved again.
      const same = await app.api('PATCH', `/api/v1/admin/apps/${first.json().id}`, {
        token: ownerToken,
        body: { host: 'kibana.example.com', name: 'Kibana (ops)', ...CONFIRMATION },
      });
      assert.equal(same.statusCode, 200, same.body);
    });

    it('five admins taking one host at the same moment: one gets it, the others a conflict, never a 500', async () => {
      const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => create({ name: `Racer ${i}`, type: 'proxy', host: 'race.example.com' })));
      assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 409, 409, 409, 409], answers.map((a) => a.body).join('\n'));
      for (const answer of answers.filter((a) => a.statusCode === 409)) assert.equal(answer.json().error.code, 'host_taken');
      // Without a password to hash first (the command line), the transactions overlap
      // for real, and the unique index decides between them on PostgreSQL.
      const operator = await operatorAppManager(app.runtime.deps, 'acme');
      assert.ok(operator.ok);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          createApp(
            app.runtime.deps,
            operator.value,
            { name: `Fast racer ${i}`, type: 'proxy', host: 'fast-race.example.com', reason: 'race' },
            NO_REQUEST_CONTEXT,
          ),
        ),
      );
      assert.deepEqual(results.map((r) => (r.ok ? 'created' : r.failure.code)).sort(), ['created', ...Array<string>(7).fill('host_taken')]);
    });

    it('changes an app (fields left out keep their value), audited with what changed', async () => {
      const created = (await create(GRAFANA)).json();
      app.clock.advance(60_000);
      const changed = await app.api('PATCH', `/api/v1/admin/apps/${created.id}`, {
        token: ownerToken,
        body: {
          name: 'Grafana (ops)',
          redirect_uris: ['https://grafana.example.com/cb', 'http://localhost:3000/cb'],
          required_acr: 'urn:tessera:acr:phishing-resistant',
          allowed_roles: ['admin'],
          ...CONFIRMATION,
        },
      });
      assert.equal(changed.statusCode, 200, changed.body);
      const body = changed.json();
      assert.equal(body.name, 'Grafana (ops)');
      assert.deepEqual(body.redirect_uris, ['https://grafana.example.com/cb', 'http://localhost:3000/cb']);
      assert.equal(body.required_acr, 'urn:tessera:acr:phishing-resistant');
      assert.deepEqual(body.allowed_roles, ['admin']);
      assert.equal(body.first_party, false, 'kept');
      assert.equal(body.client_secret, undefined, 'no secret unless asked for');
      assert.equal(body.created_at, created.created_at);
      assert.equal(body.updated_at, new Date(app.clock.now()).toISOString());
      const hash = (await app.runtime.deps.db.selectFrom('apps').select('secret_hash').where('id', '=', created.id).executeTakeFirstOrThrow()).secret_hash;
      assert.equal(hash, sha256(created.client_secret), 'the secret is unchanged');
      const event = (await app.runtime.deps.db.selectFrom('audit_events').selectAll().where('type', '=', 'app_updated').execute()).find(
        (e) => JSON.parse(e.details!).app_id === created.id,
      )!;
      assert.deepEqual(JSON.parse(event.details!), {
        app_id: created.id,
        name: 'Grafana (ops)',
        changed: ['name', 'redirect_uris', 'allowed_roles', 'required_acr'],
        secret_replaced: false,
        by: 'admin',
      });
      const cleared = await app.api('PATCH', `/api/v1/admin/apps/${created.id}`, { token: ownerToken, body: { required_acr: null, ...CONFIRMATION } });
      assert.equal(cleared.json().required_acr, null);
    });

    it('a PATCH needs the confirmation too; an app keeps its type; a bad change changes nothing', async () => {
      const created = (await create(GRAFANA)).json();
      const unconfirmed = await app.api('PATCH', `/api/v1/admin/apps/${created.id}`, { token: ownerToken, body: { name: 'Renamed', reason: 'rename' } });
      assert.equal(unconfirmed.statusCode, 403);
      const retyped = await app.api('PATCH', `/api/v1/admin/apps/${created.id}`, { token: ownerToken, body: { type: 'public', ...CONFIRMATION } });
      assert.equal(retyped.statusCode, 400);
      assert.equal(retyped.json().error.field, 'type');
      const bad = await app.api('PATCH', `/api/v1/admin/apps/${created.id}`, {
        token: ownerToken,
        body: { name: 'Renamed', redirect_uris: ['http://evil.example/cb'], ...CONFIRMATION },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal((await app.api('GET', `/api/v1/admin/apps/${created.id}`, { token: ownerToken })).json().name, 'Grafana');
    });

    it('rotate_secret gives a confidential app a new secret, shown once; the old one stops matching', async () => {
      const created = (await create(GRAFANA)).json();
      const rotated = await app.api('PATCH', `/api/v1/admin/apps/${created.id}`, { token: ownerToken, body: { rotate_secret: true, ...CONFIRMATION } });
      assert.equal(rotated.statusCode, 200, rotated.body);
      const secret = rotated.json().client_secret as string;
      assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(secret, created.client_secret);
      const hash = (await app.runtime.deps.db.selectFrom('apps').select('secret_hash').where('id', '=', created.id).executeTakeFirstOrThrow()).secret_hash;
      assert.equal(hash, sha256(secret));
      assert.notEqual(hash, sha256(created.client_secret));
      const event = (await app.runtime.deps.db.selectFrom('audit_events').selectAll().where('type', '=', 'app_updated').execute()).find(
        (e) => JSON.parse(e.details!).app_id === created.id,
      )!;
      assert.equal(JSON.parse(event.details!).secret_replaced, true);
      const spa = (await create({ name: 'SPA', type: 'public', redirect_uris: ['https://spa.example.com/cb'] })).json();
      const noSecret = await app.api('PATCH', `/api/v1/admin/apps/${spa.id}`, { token: ownerToken, body: { rotate_secret: true, ...CONFIRMATION } });
      assert.equal(noSecret.statusCode, 400);
      assert.equal(noSecret.json().error.field, 'rotate_secret');
    });

    it("removing an app removes its grants, codes and tokens (oidc_records) and nobody else's, with the confirmation", async () => {
      const doomed = (await create(GRAFANA)).json();
      const kept = (await create({ ...GRAFANA, name: 'Kept' })).json();
      const record = (model: string, key: string, clientId: string) =>
        upsertOidcRecord(app.runtime.deps.db, {
          model,
          key,
          payload: '{}',
          grantId: `grant-${clientId}`,
          uid: null,
          personId: ownerId,
          clientId,
          expiresAt: app.clock.now() + 3_600_000,
        });
      await record('Grant', `g-${doomed.id}`, doomed.id);
      await record('AccessToken', `a-${doomed.id}`, doomed.id);
      await record('RefreshToken', `r-${doomed.id}`, doomed.id);
      await record('AccessToken', `a-${kept.id}`, kept.id);
      const records = (clientId: string) => app.runtime.deps.db.selectFrom('oidc_records').select('model').where('client_id', '=', clientId).execute();

      const unconfirmed = await app.api('DELETE', `/api/v1/admin/apps/${doomed.id}`, { token: ownerToken, body: { reason: 'retired' } });
      assert.equal(unconfirmed.statusCode, 403);
      assert.equal((await records(doomed.id)).length, 3, 'a refused removal removes nothing');

      const removed = await app.api('DELETE', `/api/v1/admin/apps/${doomed.id}`, { token: ownerToken, body: { ...CONFIRMATION, reason: 'retired' } });
      assert.equal(removed.statusCode, 204, removed.body);
      assert.equal(removed.body, '');
      assert.equal((await records(doomed.id)).length, 0, "the app's tokens died with it");
      assert.equal((await records(kept.id)).length, 1, "another app's tokens stay");
      const gone = await app.api('GET', `/api/v1/admin/apps/${doomed.id}`, { token: ownerToken });
      assert.equal(gone.statusCode, 404);
      assert.equal(gone.json().error.code, 'app_not_found');
      const again = await app.api('DELETE', `/api/v1/admin/apps/${doomed.id}`, { token: ownerToken, body: CONFIRMATION });
      assert.equal(again.statusCode, 404);
      const event = (await app.runtime.deps.db.selectFrom('audit_events').selectAll().where('type', '=', 'app_deleted').execute()).find(
        (e) => JSON.parse(e.details!).app_id === doomed.id,
      )!;
      assert.equal(event.reason, 'retired');
      assert.equal(event.actor_user_id, ownerId);
    });

    it('only admins: an agent gets 403 on every apps route, and changes nothing', async () => {
      const target = (await create({ ...GRAFANA, name: 'Agent target' })).json();
      await addUser(app, { account: 'acme', email: 'agent@acme.test', role: 'agent' });
      const agent = await signInToken(app, { account: 'acme', email: 'agent@acme.test' });
      const attempts: [string, string, unknown][] = [
        ['GET', '/api/v1/admin/apps', undefined],
        ['POST', '/api/v1/admin/apps', { ...GRAFANA, ...CONFIRMATION }],
        ['GET', `/api/v1/admin/apps/${target.id}`, undefined],
        ['PATCH', `/api/v1/admin/apps/${target.id}`, { name: 'Mine now', ...CONFIRMATION }],
        ['DELETE', `/api/v1/admin/apps/${target.id}`, CONFIRMATION],
      ];
      const before = await appCount();
      for (const [method, url, body] of attempts) {
        const response = await app.api(method, url, { token: agent, body });
        assert.equal(response.statusCode, 403, `${method} ${url}: ${response.body}`);
        assert.equal(response.json().error.code, 'forbidden');
      }
      for (const [method, url] of attempts) assert.equal((await app.api(method, url)).statusCode, 401, `${method} ${url} without a token`);
      assert.equal(await appCount(), before);
      assert.equal((await app.api('GET', `/api/v1/admin/apps/${target.id}`, { token: ownerToken })).json().name, 'Agent target');
    });

    it("another account's app is not found (404) for its admins, and not listed", async () => {
      const acmeApp = (await create({ ...GRAFANA, name: 'Acme only' })).json();
      await createExtraAccount(app, 'globex');
      await addUser(app, { account: 'globex', email: 'admin@globex.test', role: 'admin' });
      const globex = await signInToken(app, { account: 'globex', email: 'admin@globex.test' });
      for (const [method, body] of [
        ['GET', undefined],
        ['PATCH', { name: 'Stolen', ...CONFIRMATION }],
        ['DELETE', CONFIRMATION],
      ] as const) {
        const response = await app.api(method, `/api/v1/admin/apps/${acmeApp.id}`, { token: globex, body });
        assert.equal(response.statusCode, 404, `${method}: ${response.body}`);
        assert.equal(response.json().error.code, 'app_not_found');
      }
      const theirs = (await app.api('GET', '/api/v1/admin/apps', { token: globex })).json().apps as { id: string }[];
      assert.ok(!theirs.some((a) => a.id === acmeApp.id));
      assert.equal((await app.api('GET', `/api/v1/admin/apps/${acmeApp.id}`, { token: ownerToken })).json().name, 'Acme only');
    });

    it('the OpenAPI document describes the routes, their bodies and their answers', async () => {
      const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
      const list = spec.paths['/api/v1/admin/apps'];
      const one = spec.paths['/api/v1/admin/apps/{id}'];
      assert.ok(list.get && list.post && one.get && one.patch && one.delete);
      const created = list.post.responses['200'].content['application/json'].schema;
      for (const field of [
        'id',
        'client_id',
        'name',
        'type',
        'redirect_uris',
        'post_logout_redirect_uris',
        'backchannel_logout_uri',
        'host',
        'first_party',
        'allowed_roles',
        'required_acr',
        'created_at',
        'updated_at',
        'client_secret',
      ])
        assert.ok(field in created.properties, field);
      assert.ok(!('client_secret' in one.get.responses['200'].content['application/json'].schema.properties), 'a read never shows the secret');
      const body = list.post.requestBody.content['application/json'].schema;
      assert.deepEqual(body.required, ['name', 'type']);
      assert.ok('rotate_secret' in one.patch.requestBody.content['application/json'].schema.properties);
      assert.ok(list.get.responses['200'].content['application/json'].schema.properties.apps);
    });
  });
}
