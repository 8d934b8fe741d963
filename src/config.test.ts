import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './config.js';
import { formatIpRange } from './domain/outbound-addresses.js';

describe('configuration', () => {
  it('defaults to development on SQLite in ./data, port 3000', () => {
    const config = loadConfig({}, '/srv/app');
    assert.equal(config.mode, 'development');
    assert.equal(config.port, 3000);
    assert.equal(config.databaseUrl, 'sqlite:/srv/app/data/tessera.db');
    assert.equal(config.baseUrl, 'http://localhost:3000');
    assert.equal(config.smsProvider, 'outbox');
    assert.equal(config.databasePreparedStatements, true);
  });

  it('turns PostgreSQL prepared statements off for a pooler that cannot keep them', () => {
    assert.equal(loadConfig({ TESSERA_DATABASE_PREPARED_STATEMENTS: 'off' }).databasePreparedStatements, false);
    assert.equal(loadConfig({ TESSERA_DATABASE_PREPARED_STATEMENTS: 'on' }).databasePreparedStatements, true);
  });

  it('names the bad value, and never repeats a password from a URL', () => {
    for (const [env, pattern] of [
      [{ PORT: 'abc' }, /PORT/],
      [{ TESSERA_MODE: 'staging' }, /TESSERA_MODE/],
      [{ TESSERA_DATABASE_URL: 'mysql://root:hunter2@db/x' }, /TESSERA_DATABASE_URL/],
      [{ TESSERA_REDIS_URL: 'http://user:hunter2@redis' }, /TESSERA_REDIS_URL/],
      [{ TESSERA_MODE: 'production' }, /TESSERA_ENCRYPTION_KEYS/],
      [{ TESSERA_DATABASE_PREPARED_STATEMENTS: 'false' }, /TESSERA_DATABASE_PREPARED_STATEMENTS/],
    ] as const) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && pattern.test(error.message) && !error.message.includes('hunter2'),
        JSON.stringify(env),
      );
    }
  });
});

describe('TESSERA_OUTBOUND_ALLOW', () => {
  const allowed = (raw: string | undefined) => loadConfig(raw === undefined ? {} : { TESSERA_OUTBOUND_ALLOW: raw }).outboundAllow.map(formatIpRange);

  it('is empty unless set: outgoing calls reach public addresses only', () => {
    assert.deepEqual(allowed(undefined), []);
    assert.deepEqual(allowed(''), []);
    assert.deepEqual(allowed('  '), []);
  });

  it('takes comma-separated IPv4 and IPv6 ranges; a bare address is one host', () => {
    for (const [raw, expected] of [
      ['127.0.0.0/8', ['127.0.0.0/8']],
      ['10.0.0.0/8, 192.168.10.0/24 ,fd00::/8', ['10.0.0.0/8', '192.168.10.0/24', 'fd00::/8']],
      ['169.254.169.254,::1', ['169.254.169.254/32', '::1/128']],
      ['0.0.0.0/0,::/0', ['0.0.0.0/0', '::/0']],
    ] as const) {
      assert.deepEqual(allowed(raw), expected, raw);
    }
  });

  it('refuses the start on any bad entry, naming it', () => {
    for (const [raw, message] of [
      ['10.0.0.0/8,', /TESSERA_OUTBOUND_ALLOW has an empty entry/],
      ['10.0.0.0/8,,fd00::/8', /TESSERA_OUTBOUND_ALLOW has an empty entry/],
      ['10.0.0.0/8;192.168.0.0/16', /TESSERA_OUTBOUND_ALLOW: "10\.0\.0\.0\/8;192\.168\.0\.0\/16" is not an IPv4 or IPv6 address/],
      ['intranet.example.com', /"intranet\.example\.com" is not an IPv4 or IPv6 address or range/],
      ['10.0.0.1/8', /"10\.0\.0\.1\/8" has bits set past its \/8 prefix: did you mean 10\.0\.0\.0\/8\?/],
      ['10.0.0.0/40', /"10\.0\.0\.0\/40" has a prefix length that is not a number from 0 to 32/],
      ['fd00::/200', /from 0 to 128/],
      ['10.0.0.0/8 192.168.0.0/16', /is not an IPv4 or IPv6 address/],
      ['::ffff:127.0.0.0/104', /write it as IPv4/],
      ['*', /"\*" is not an IPv4 or IPv6 address/],
    ] as const) {
      assert.throws(
        () => loadConfig({ TESSERA_OUTBOUND_ALLOW: raw }),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
        raw,
      );
    }
  });
});
