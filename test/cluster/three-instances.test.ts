// Several stateless instances on one PostgreSQL and one Redis behave as one
// (issue "several instances"): enrol on A, sign in on B, replay on C; a recovery code
// raced across all three; failure counters and password locks shared; and Redis or
// PostgreSQL going away answers 503, never a pass, and recovers by itself.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { createAccount } from '../../src/services/accounts.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { createUser } from '../../src/services/users.js';
import { Authenticator } from '../support/authenticator.js';
import { isOutage } from '../../src/http/app.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { freePort } from '../support/browser.js';
import { POSTGRES_URL, REDIS_URL, STRONG_PASSWORD, postgresDatabaseUrl, skipReason } from '../support/harness.js';

const skip = skipReason(!POSTGRES_URL || !REDIS_URL, 'Three-instance suite skipped: it needs TESSERA_TEST_DATABASE_URL and TESSERA_TEST_REDIS_URL');

interface Instance {
  name: string;
  url: string;
  runtime: Runtime;
}

const KEYS = {
  TESSERA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  TESSERA_HMAC_KEY: randomBytes(32).toString('base64'),
};

async function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `tessera-${name}-`));
  const config = loadConfig(
    { PORT: String(port), TESSERA_BASE_URL: `http://127.0.0.1:${port}`, TESSERA_DATA_DIR: dataDir, TESSERA_LOG_LEVEL: 'silent', ...KEYS, ...env },
    dataDir,
  );
  const runtime = await createRuntime(config);
  await runtime.app.listen({ host: '127.0.0.1', port });
  const close = runtime.close.bind(runtime);
  runtime.close = async () => {
    await close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { name, url: `http://127.0.0.1:${port}`, runtime };
}

async function call(
  instance: Instance,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  ip?: string,
): Promise<{ status: number; json: any; headers: Headers }> {
  const response = await fetch(`${instance.url}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(ip ? { 'x-test-ip': ip } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null, headers: response.headers };
}

function signIn(instance: Instance, email: string, password = STRONG_PASSWORD) {
  return call(instance, 'POST', '/api/v1/sign-in', { account: 'acme', email, password });
}

describe('three instances on one PostgreSQL and one Redis', { skip }, () => {
  let a: Instance;
  let b: Instance;
  let c: Instance;
  let dropDatabase: () => Promise<void> = async () => {};
  const env: Record<string, string> = {};

  before(
    async () => {
      const database = await postgresDatabaseUrl();
      dropDatabase = database.drop;
      Object.assign(env, {
        TESSERA_DATABASE_URL: database.url,
        TESSERA_REDIS_URL: REDIS_URL!,
        TESSERA_REDIS_KEY_PREFIX: `cluster-${randomBytes(6).toString('hex')}`,
      });
      [a, b, c] = await Promise.all([startInstance('a', env), startInstance('b', env), startInstance('c', env)]);
      const deps = a.runtime.deps;
      assert.ok((await createAccount(deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
      for (const email of ['ann@acme.test', 'race@acme.test', 'lock@acme.test', 'pw@acme.test']) {
        assert.ok((await createUser(deps, { account: 'acme', email, role: 'agent', password: STRONG_PASSWORD }, NO_REQUEST_CONTEXT)).ok);
      }
    },
    { timeout: 60_000 },
  );

  after(async () => {
    await Promise.all([a, b, c].filter(Boolean).map((instance) => instance.runtime.close().catch(() => {})));
    await dropDatabase();
  });

  async function enrolOn(instance: Instance, email: string): Promise<{ authenticator: Authenticator; recoveryCodes: string[] }> {
    const token = (await signIn(instance, email)).json.session_token;
    const started = await call(instance, 'POST', '/api/v1/me/two-factor/totp', undefined, token);
    const authenticator = new Authenticator(started.json.otpauth_uri);
    const verified = await call(instance, 'POST', '/api/v1/me/two-factor/totp/verify', { code: authenticator.code(Date.now()) }, token);
    assert.equal(verified.status, 200);
    return { authenticator, recoveryCodes: verified.json.recovery_codes };
  }

  it('a person enrols on A, signs in on B, and the same code replayed on C is refused', async () => {
    const { authenticator } = await enrolOn(a, 'ann@acme.test');
    const code = authenticator.code(Date.now(), 1); // the enrolment spent this step's code
    const onB = await call(b, 'POST', '/api/v1/sign-in/two-factor', {
      challenge_token: (await signIn(b, 'ann@acme.test')).json.challenge_token,
      method: 'totp',
      code,
    });
    assert.equal(onB.json.status, 'signed_in');
    assert.equal((await call(c, 'GET', '/api/v1/me', undefined, onB.json.session_token)).status, 200, 'a session from B works on C');
    const onC = await call(c, 'POST', '/api/v1/sign-in/two-factor', {
      challenge_token: (await signIn(c, 'ann@acme.test')).json.challenge_token,
      method: 'totp',
      code,
    });
    assert.equal(onC.status, 400);
    assert.equal(onC.json.error.code, 'invalid_code');
  });

  it('30 parallel uses of one recovery code spread over A, B and C give exactly one session', { timeout: 60_000 }, async () => {
    const { recoveryCodes } = await enrolOn(b, 'race@acme.test');
    const instances = [a, b, c];
    const challenges: { instance: Instance; token: string }[] = [];
    for (let i = 0; i < 30; i += 1) {
      const instance = instances[i % 3]!;
      challenges.push({ instance, token: (await signIn(instance, 'race@acme.test')).json.challenge_token });
    }
    const answers = await Promise.all(
      challenges.map(({ instance, token }) =>
        call(instance, 'POST', '/api/v1/sign-in/two-factor', { challenge_token: token, method: 'recovery_code', code: recoveryCodes[0] }),
      ),
    );
    assert.equal(answers.filter((answer) => answer.status === 200).length, 1);
    for (const answer of answers) assert.ok(answer.status === 200 || answer.status === 400 || answer.status === 429, JSON.stringify(answer.json));
  });

  it('wrong passcodes spread over the instances lock at the same count as on one', { timeout: 60_000 }, async () => {
    const { authenticator } = await enrolOn(c, 'lock@acme.test');
    const instances = [a, b, c];
    for (let i = 0; i < 9; i += 1) {
      const instance = instances[i % 3]!;
      const answer = await call(instance, 'POST', '/api/v1/sign-in/two-factor', {
        challenge_token: (await signIn(instance, 'lock@acme.test')).json.challenge_token,
        method: 'totp',
        code: '000000' === authenticator.code(Date.now()) ? '111111' : '000000',
      });
      assert.equal(answer.status, 400, `failure ${i + 1} is a plain wrong code`);
    }
    const tenth = await call(a, 'POST', '/api/v1/sign-in/two-factor', {
      challenge_token: (await signIn(a, 'lock@acme.test')).json.challenge_token,
      method: 'recovery_code',
      code: 'zzzz-zzzz-zzzz-zzzz',
    });
    assert.equal(tenth.status, 429, 'the tenth failure locks');
    const right = await call(b, 'POST', '/api/v1/sign-in/two-factor', {
      challenge_token: (await signIn(b, 'lock@acme.test')).json.challenge_token,
      method: 'totp',
      code: authenticator.code(Date.now(), 1),
    });
    assert.equal(right.status, 429, 'locked on every instance, even for the right code');
    assert.ok(Number(right.headers.get('retry-after')) > 0);
  });

  it('wrong passwords spread over the instances lock the person everywhere (Redis)', { timeout: 60_000 }, async () => {
    const instances = [a, b, c];
    for (let i = 0; i < 10; i += 1) assert.equal((await signIn(instances[i % 3]!, 'pw@acme.test', 'wrong password here')).status, 401);
    const right = await signIn(c, 'pw@acme.test');
    assert.equal(right.status, 401, 'the right password is refused while locked, answered like a wrong one');
    assert.equal(right.json.error.code, 'invalid_credentials');
  });
});

describe('outages of Redis and PostgreSQL', { skip }, () => {
  let redis: ChildProcess | null = null;
  let redisPort = 0;
  let instance: Instance;
  let databaseCut: Instance;
  let databaseProxy: TcpProxy;
  let dropDatabase: () => Promise<void> = async () => {};

  const startRedis = async () => {
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 50; i += 1) {
      const ready = await fetch(`http://127.0.0.1:${redisPort}`).then(
        () => true,
        (error: { cause?: { code?: string } }) => error.cause?.code !== 'ECONNREFUSED',
      );
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('redis-server did not start');
  };

  const waitFor = async (check: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.fail(`timed out waiting until ${what}`);
  };

  before(
    async () => {
      redisPort = await freePort();
      await startRedis();
      const database = await postgresDatabaseUrl();
      dropDatabase = database.drop;
      instance = await startInstance('outage', { TESSERA_DATABASE_URL: database.url, TESSERA_REDIS_URL: `redis://127.0.0.1:${redisPort}` });
      assert.ok((await createAccount(instance.runtime.deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
      assert.ok(
        (await createUser(instance.runtime.deps, { account: 'acme', email: 'ann@acme.test', role: 'agent', password: STRONG_PASSWORD }, NO_REQUEST_CONTEXT)).ok,
      );
      await waitFor(async () => (await call(instance, 'GET', '/readyz')).status === 200, 'ready');
      // A second instance reaches PostgreSQL through a proxy the test can cut.
      const target = new URL(POSTGRES_URL!);
      databaseProxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
      const proxied = new URL(database.url);
      proxied.host = `127.0.0.1:${databaseProxy.port}`;
      databaseCut = await startInstance('cut-db', { TESSERA_DATABASE_URL: proxied.toString(), TESSERA_REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    },
    { timeout: 60_000 },
  );

  after(async () => {
    redis?.kill('SIGKILL');
    await instance?.runtime.close().catch(() => {});
    await databaseCut?.runtime.close().catch(() => {});
    await databaseProxy?.close();
    await dropDatabase();
  });

  it('Redis down: sign-in answers 503 (limits fail closed), /readyz says why, and it recovers by itself', { timeout: 60_000 }, async () => {
    assert.equal((await signIn(instance, 'ann@acme.test')).status, 200);
    redis!.kill('SIGKILL');
    await waitFor(async () => (await signIn(instance, 'ann@acme.test')).status === 503, 'sign-in answers 503');
    const down = await signIn(instance, 'ann@acme.test');
    assert.equal(down.json.error.code, 'service_unavailable');
    const ready = await call(instance, 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.json.error.message, /limit store unreachable/);
    assert.equal((await call(instance, 'GET', '/healthz')).status, 200, 'alive all along');
    await startRedis();
    await waitFor(async () => (await signIn(instance, 'ann@acme.test')).status === 200, 'sign-in works again');
    assert.equal((await call(instance, 'GET', '/readyz')).status, 200);
  });

  it('PostgreSQL unreachable: 503 with the error shape, /readyz says why, nothing crashes, and it recovers', { timeout: 60_000 }, async () => {
    assert.equal((await signIn(databaseCut, 'ann@acme.test')).status, 200);
    await databaseProxy.cut();
    const answer = await signIn(databaseCut, 'ann@acme.test');
    assert.equal(answer.status, 503, JSON.stringify(answer.json));
    assert.equal(answer.json.error.code, 'service_unavailable');
    const ready = await call(databaseCut, 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.json.error.message, /database/);
    assert.equal((await call(databaseCut, 'GET', '/healthz')).status, 200, 'alive all along');
    await databaseProxy.restore();
    await waitFor(async () => (await signIn(databaseCut, 'ann@acme.test')).status === 200, 'sign-in works again');
  });

  it('an instance cannot start without its database, and says why', async () => {
    const deadPort = await freePort();
    const dead = await startInstance('dead-db', {
      TESSERA_DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPort}/nothing`,
      TESSERA_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    }).catch((error: unknown) => error);
    assert.ok(dead instanceof Error);
    assert.ok(isOutage(dead), `a connection error: ${(dead as Error).message}`);
  });
});
