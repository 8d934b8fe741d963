import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  it('defaults to development on SQLite in ./data, port 3000', () => {
    const config = loadConfig({}, '/srv/app');
    assert.equal(config.mode, 'development');
    assert.equal(config.port, 3000);
    assert.equal(config.databaseUrl, 'sqlite:/srv/app/data/tessera.db');
    assert.equal(config.baseUrl, 'http://localhost:3000');
    assert.equal(config.smsProvider, 'outbox');
  });

  it('names the bad value, and never repeats a password from a URL', () => {
    for (const [env, pattern] of [
      [{ PORT: 'abc' }, /PORT/],
      [{ TESSERA_MODE: 'staging' }, /TESSERA_MODE/],
      [{ TESSERA_DATABASE_URL: 'mysql://root:hunter2@db/x' }, /TESSERA_DATABASE_URL/],
      [{ TESSERA_REDIS_URL: 'http://user:hunter2@redis' }, /TESSERA_REDIS_URL/],
      [{ TESSERA_MODE: 'production' }, /TESSERA_ENCRYPTION_KEYS/],
    ] as const) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && pattern.test(error.message) && !error.message.includes('hunter2'),
        JSON.stringify(env),
      );
    }
  });
});
