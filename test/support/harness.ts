// Test harness: a real Tessera (real database, real hashing, real HTTP stack through
// app.inject) with a clock the test controls. Runs on SQLite, and on PostgreSQL too
// when TESSERA_TEST_DATABASE_URL is set.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { LightMyRequestResponse } from 'fastify';
import { loadConfig, type Config } from '../../src/config.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/runtime.js';
import { issueSetupLink } from '../../src/services/accounts.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { createAccount } from '../../src/services/accounts.js';
import { createUser } from '../../src/services/users.js';
import { readOutbox, type OutboxEntry } from '../../src/services/dev-outbox.js';

export type DialectName = 'sqlite' | 'postgres';

export const POSTGRES_URL = process.env.TESSERA_TEST_DATABASE_URL ?? null;
export const REDIS_URL = process.env.TESSERA_TEST_REDIS_URL ?? null;

/** CI sets this: there, a suite that would skip for want of PostgreSQL, Redis or
 * Chromium fails instead. */
export const REQUIRE_FULL_SUITE = process.env.TESSERA_REQUIRE_FULL_SUITE === '1';

export function skipReason(missing: boolean, reason: string): string | false {
  if (!missing) return false;
  if (REQUIRE_FULL_SUITE) throw new Error(`${reason}, and TESSERA_REQUIRE_FULL_SUITE=1 forbids skipping`);
  return reason;
}

/** The dialects to run storage and flow suites on, and why one is missing. */
export function dialects(): { name: DialectName; skip: string | false }[] {
  return [
    { name: 'sqlite', skip: false },
    { name: 'postgres', skip: skipReason(!POSTGRES_URL, 'PostgreSQL suite skipped: TESSERA_TEST_DATABASE_URL is not set') },
  ];
}

export class Clock {
  constructor(public time = Date.UTC(2026, 10, 28, 12, 0, 0)) {}
  now = (): number => this.time;
  advance(milliseconds: number): void {
    this.time += milliseconds;
  }
}

export interface TestApp {
  runtime: Runtime;
  clock: Clock;
  config: Config;
  logs: string[];
  inject: Runtime['app']['inject'];
  api(
    method: string,
    url: string,
    options?: { token?: string; body?: unknown; ip?: string; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
  outbox(): Promise<OutboxEntry[]>;
  close(): Promise<void>;
}

export async function postgresDatabaseUrl(): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL! });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = new URL(POSTGRES_URL!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL! });
      await client.connect();
      await client.query(`drop schema ${schema} cascade`);
      await client.end();
    },
  };
}

export async function startTestApp(
  options: { dialect?: DialectName; env?: Record<string, string>; clock?: Clock; runtime?: RuntimeOptions; redis?: boolean } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  let dropDatabase: () => Promise<void> = async () => {};
  let databaseUrl = `sqlite:${join(dataDir, 'tessera.db')}`;
  if (options.dialect === 'postgres') {
    const database = await postgresDatabaseUrl();
    databaseUrl = database.url;
    dropDatabase = database.drop;
  }
  const config = loadConfig(
    {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_DATABASE_URL: databaseUrl,
      TESSERA_LOG_LEVEL: 'info',
      ...(options.redis && REDIS_URL ? { TESSERA_REDIS_URL: REDIS_URL } : {}),
      TESSERA_REDIS_KEY_PREFIX: `test-${randomBytes(6).toString('hex')}`,
      ...options.env,
    },
    dataDir,
  );
  const clock = options.clock ?? new Clock();
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(String(chunk));
      callback();
    },
  });
  let runtime: Runtime;
  try {
    runtime = await createRuntime(config, { now: clock.now, logStream, ...options.runtime });
    await runtime.app.ready();
  } catch (error) {
    await dropDatabase();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const inject = runtime.app.inject.bind(runtime.app);
  return {
    runtime,
    clock,
    config,
    logs,
    inject,
    api(method, url, request = {}) {
      return inject({
        method: method as 'GET',
        url,
        // A different loopback address per request unless a test names one, so the
        // per-address limit only bites in the tests about it.
        remoteAddress: request.ip ?? `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 250)}`,
        headers: {
          ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
          ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
          'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
          ...request.headers,
        },
        ...(request.body !== undefined ? { payload: JSON.stringify(request.body) } : {}),
      });
    },
    outbox: () => readOutbox(runtime.deps),
    async close() {
      await runtime.close();
      await dropDatabase();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const STRONG_PASSWORD = 'correct horse battery staple';
export const OTHER_STRONG_PASSWORD = 'violet lamp harbour 42 quietly';

/** An account with an owner (admin), signed in through the setup flow. */
export async function setUpAccount(app: TestApp, input: { slug?: string; email?: string } = {}): Promise<{ token: string; slug: string; email: string }> {
  const slug = input.slug ?? 'acme';
  const email = input.email ?? 'owner@acme.test';
  const link = await issueSetupLink(app.runtime.deps);
  if (!link) throw new Error('setup already done');
  const token = new URL(link).searchParams.get('token')!;
  const response = await app.api('POST', '/api/v1/setup', {
    body: { token, account_name: 'Acme Support', account_slug: slug, name: 'Olive Owner', email, password: STRONG_PASSWORD },
  });
  if (response.statusCode !== 200) throw new Error(`setup failed: ${response.body}`);
  return { token: response.json().session_token, slug, email };
}

/** Creates an account directly (for a second account), with no owner. */
export async function createExtraAccount(app: TestApp, slug: string): Promise<void> {
  const result = await createAccount(app.runtime.deps, { slug, name: `${slug} team` }, NO_REQUEST_CONTEXT);
  if (!result.ok) throw new Error(result.failure.code);
}

export async function addUser(
  app: TestApp,
  input: { account: string; email: string; role?: 'admin' | 'agent' | 'end_user'; password?: string },
): Promise<void> {
  const result = await createUser(
    app.runtime.deps,
    { account: input.account, email: input.email, role: input.role ?? 'agent', password: input.password ?? STRONG_PASSWORD },
    NO_REQUEST_CONTEXT,
  );
  if (!result.ok) throw new Error(result.failure.code);
}

export async function signIn(app: TestApp, input: { account: string; email: string; password?: string; ip?: string }): Promise<LightMyRequestResponse> {
  return app.api('POST', '/api/v1/sign-in', {
    body: { account: input.account, email: input.email, password: input.password ?? STRONG_PASSWORD },
    ip: input.ip,
  });
}

export async function signInToken(app: TestApp, input: { account: string; email: string; password?: string }): Promise<string> {
  const response = await signIn(app, input);
  const body = response.json();
  if (body.status !== 'signed_in') throw new Error(`expected signed_in, got ${response.body}`);
  return body.session_token;
}

export function linkFrom(text: string, path: string): string {
  const match = new RegExp(`https?://[^\\s]+${path.replace(/\//g, '\\/')}\\?token=[A-Za-z0-9_.%-]+`).exec(text);
  if (!match) throw new Error(`no ${path} link in: ${text}`);
  return match[0];
}

export function tokenFromLink(link: string): string {
  return new URL(link).searchParams.get('token')!;
}

export function expectErrorShape(body: unknown): asserts body is { error: { code: string; message: string } } {
  const error = (body as { error?: { code?: unknown; message?: unknown } })?.error;
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string' || !/^[a-z_]+$/.test(error.code)) {
    throw new Error(`not the API error shape: ${JSON.stringify(body)}`);
  }
}
