// A dump of the database holds no seed, no recovery code, no token, no password
// (SECURITY.md): every secret is a hash, an HMAC or AES-256-GCM ciphertext.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD, addUser, setUpAccount, signIn, signInToken, startTestApp } from '../support/harness.js';

describe('secrets at rest', () => {
  it('the SQLite files of the data directory hold none of the secrets the flows produced', async () => {
    const app = await startTestApp();
    const secrets: string[] = [STRONG_PASSWORD];
    try {
      const owner = await setUpAccount(app);
      secrets.push(owner.token);
      await addUser(app, { account: 'acme', email: 'ann@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'ann@acme.test' });
      secrets.push(token);
      const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
      secrets.push(started.secret, started.secret.toLowerCase(), Buffer.from(new Authenticator(started.otpauth_uri).totp.secret.bytes).toString('base64'));
      const authenticator = new Authenticator(started.otpauth_uri);
      const verified = (await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } })).json();
      for (const code of verified.recovery_codes as string[]) secrets.push(code, code.replace(/-/g, '').toUpperCase());
      const challenge = (await signIn(app, { account: 'acme', email: 'ann@acme.test' })).json().challenge_token;
      secrets.push(challenge);
      const confirm = { method: 'password', code: STRONG_PASSWORD };
      const apiToken = (
        await app.api('POST', '/api/v1/admin/api-tokens', {
          token: owner.token,
          body: { name: 'HR sync', scopes: ['users:read'], expires_in_days: 30, ...confirm },
        })
      ).json().token as string;
      secrets.push(apiToken, apiToken.slice('tsr_'.length + 22));
      const webhookSecret = (
        await app.api('POST', '/api/v1/admin/webhooks', {
          token: owner.token,
          body: { url: 'https://hooks.example.com/tessera', events: ['user.suspended'], ...confirm },
        })
      ).json().secret as string;
      secrets.push(webhookSecret, webhookSecret.slice('whsec_'.length));
      await app.api('POST', '/api/v1/password-reset', { body: { account: 'acme', email: 'ann@acme.test' } });
      const reset = (await app.outbox()).find((m) => /reset/i.test(m.subject))!;
      secrets.push(new URL(/http\S+token=\S+/.exec(reset.body)![0]).searchParams.get('token')!);
      const dataDir = app.config.dataDir;
      const files = readdirSync(dataDir).filter((name) => name.startsWith('tessera.db'));
      assert.ok(files.length >= 1);
      const dump = files.map((name) => readFileSync(join(dataDir, name)).toString('latin1')).join('\n');
      const sqlDump = spawnSync('sqlite3', [join(dataDir, 'tessera.db'), '.dump'], { encoding: 'utf8' });
      const text = dump + (sqlDump.status === 0 ? sqlDump.stdout : '');
      for (const secret of secrets) {
        assert.ok(secret.length >= 8);
        assert.ok(!text.includes(secret), `the database files contain a secret (${secret.slice(0, 4)}…)`);
        // Token halves too: the id is fine to store, the secret half is not.
        const secretHalf = secret.split('.')[1];
        if (secretHalf) assert.ok(!text.includes(secretHalf), 'the secret half of a token is in the database');
      }
      assert.match(text, /v2\.k[a-z0-9]+\./, 'seeds are stored as versioned AES-GCM ciphertext with their key id');
    } finally {
      await app.close();
    }
  });
});

describe('key rotation', () => {
  it('bin/tessera keys rotate re-encrypts every seed under a new key, and sign-in still works', async () => {
    const app = await startTestApp();
    try {
      await setUpAccount(app);
      await addUser(app, { account: 'acme', email: 'ann@acme.test' });
      const token = await signInToken(app, { account: 'acme', email: 'ann@acme.test' });
      const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
      const authenticator = new Authenticator(started.otpauth_uri);
      await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } });
      const before = JSON.parse(readFileSync(join(app.config.dataDir, 'keys.json'), 'utf8')).encryption_keys as { id: string }[];
      const env = { ...process.env, TESSERA_DATA_DIR: app.config.dataDir, TESSERA_DATABASE_URL: app.config.databaseUrl, NODE_ENV: 'test' };
      const rotated = spawnSync(process.execPath, ['bin/tessera', 'keys', 'rotate', '--json'], { encoding: 'utf8', env });
      assert.equal(rotated.status, 0, rotated.stderr);
      const report = JSON.parse(rotated.stdout);
      assert.ok(report.reencrypted >= 1);
      assert.notEqual(report.active_key, before[0]!.id);
      const pruned = spawnSync(process.execPath, ['bin/tessera', 'keys', 'rotate', '--prune', '--json'], { encoding: 'utf8', env });
      assert.equal(pruned.status, 0, pruned.stderr);
      const after = JSON.parse(readFileSync(join(app.config.dataDir, 'keys.json'), 'utf8')).encryption_keys as { id: string }[];
      assert.deepEqual(
        after.map((k) => k.id),
        [report.active_key],
      );
      const rows = await app.runtime.store.db.selectFrom('two_factor_methods').select('secret_ciphertext').execute();
      for (const row of rows) assert.ok(row.secret_ciphertext!.startsWith(`v2.${report.active_key}.`));
      // A fresh runtime reads the rotated key file; the seed still verifies.
      await app.runtime.close();
      const again = await startTestApp({ env: { TESSERA_DATA_DIR: app.config.dataDir, TESSERA_DATABASE_URL: app.config.databaseUrl }, clock: app.clock });
      try {
        app.clock.advance(30_000);
        const challenge = (await signIn(again, { account: 'acme', email: 'ann@acme.test' })).json().challenge_token;
        const done = await again.api('POST', '/api/v1/sign-in/two-factor', {
          body: { challenge_token: challenge, method: 'totp', code: authenticator.code(app.clock.now()) },
        });
        assert.equal(done.json().status, 'signed_in', done.body);
      } finally {
        await again.runtime.close();
      }
    } finally {
      await app.close().catch(() => {});
    }
  });
});

describe('sealed values are bound to their place', () => {
  it("a seed copied into another person's row does not open there: neither code signs in", async () => {
    const app = await startTestApp();
    try {
      await setUpAccount(app);
      const people: { email: string; authenticator: Authenticator }[] = [];
      for (const email of ['ann@acme.test', 'bob@acme.test']) {
        await addUser(app, { account: 'acme', email });
        const token = await signInToken(app, { account: 'acme', email });
        const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
        const authenticator = new Authenticator(started.otpauth_uri);
        assert.equal(
          (await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } })).statusCode,
          200,
        );
        people.push({ email, authenticator });
      }
      const db = app.runtime.deps.db;
      const rows = await db
        .selectFrom('two_factor_methods')
        .innerJoin('users', 'users.id', 'two_factor_methods.user_id')
        .select(['two_factor_methods.id', 'users.email', 'secret_ciphertext'])
        .execute();
      const ann = rows.find((row) => row.email === 'ann@acme.test')!;
      const bob = rows.find((row) => row.email === 'bob@acme.test')!;
      // Someone who can write to the database gives Bob's row Ann's seed.
      await db.updateTable('two_factor_methods').set({ secret_ciphertext: ann.secret_ciphertext }).where('id', '=', bob.id).execute();
      for (const person of people) {
        app.clock.advance(30_000);
        const challenge = (await signIn(app, { account: 'acme', email: 'bob@acme.test' })).json().challenge_token;
        const answer = await app.api('POST', '/api/v1/sign-in/two-factor', {
          body: { challenge_token: challenge, method: 'totp', code: person.authenticator.code(app.clock.now()) },
        });
        assert.equal(answer.statusCode, 400, `${person.email}'s code: ${answer.body}`);
        assert.equal(answer.json().error.code, 'invalid_code', 'refused like a wrong code, never a 500');
      }
    } finally {
      await app.close();
    }
  });
});
