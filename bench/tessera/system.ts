// Tessera under test: a separate `node bin/tessera serve` process in production mode on
// SQLite, seeded by direct inserts that copy what a real enrolment stored.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import pg from 'pg';
import { issueToken } from '../../src/crypto/tokens.js';
import { CHALLENGE_LIFETIME_IN_MILLISECONDS } from '../../src/domain/policy.js';
import { insertFlow } from '../../src/store/sign-in-flows.js';
import { openStore } from '../../src/store/database.js';
import { HttpClient } from '../lib/http.js';
import type { OpResult } from '../lib/load.js';
import { nodeArgs, run, startServer, stopServer, type Server } from '../lib/proc.js';
import {
  BENCH_APPLICATION_NAME,
  REDIS_URL,
  createDatabase,
  databaseUrl,
  dropDatabase,
  dropRedisPrefix,
  insertRows,
  secondaryIndexes,
  throwawayName,
} from '../lib/postgres.js';
import { freePort, type Challenge, type SignInResult, type Store, type SystemUnderTest } from '../lib/system.js';
import { base32Decode, hotp, stepAt } from '../lib/totp.js';
import { ACCOUNT_SLUG, PASSWORD, UserPool, emailOf, keyDeriver } from '../lib/users.js';

export const TESSERA_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(TESSERA_ROOT, 'bin', 'tessera');

/** The node flags `npm start` gives the server (package.json), so the benchmark runs
 * it exactly as npm start does. */
export function startFlags(): string[] {
  const start = (JSON.parse(readFileSync(join(TESSERA_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const flags = /node ((?:--\S+ )*)bin\/tessera serve/.exec(start);
  if (!flags) throw new Error(`package.json's start script does not run bin/tessera serve: ${start}`);
  return flags[1]!.split(' ').filter((flag) => flag.length > 0);
}
const TEMPLATE_EMAIL = 'template@bench.test';
const USER_AGENT = 'tessera-bench/1';
/** TOTP seeds are 20 bytes (RFC 4226 §4, Tessera's TOTP_SECRET_BYTES). */
const SEED_BYTES = 20;
const SEED_LABEL = 'tessera';

export interface TesseraKeys {
  encryptionKeys: string;
  hmacKey: string;
}

/** How the benchmarks run a Tessera server: production mode on loopback, its own data
 * directory and keys, none of this shell's TESSERA_ settings. */
export function tesseraEnv(dataDir: string, port: number, keys: TesseraKeys): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('TESSERA_')) env[name] = value;
  }
  return {
    ...env,
    NODE_ENV: 'production',
    TESSERA_MODE: 'production',
    TESSERA_HOST: '127.0.0.1',
    TESSERA_BASE_URL: `http://127.0.0.1:${port}`,
    PORT: String(port),
    TESSERA_DATA_DIR: dataDir,
    TESSERA_ENCRYPTION_KEYS: keys.encryptionKeys,
    TESSERA_HMAC_KEY: keys.hmacKey,
    // Fastify logs two lines per request at "info"; the peer logs none.
    TESSERA_LOG_LEVEL: 'warn',
  };
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** Signs the template user in and enrols an authenticator app through the real API. */
async function enrolTemplate(origin: string): Promise<void> {
  const http = new HttpClient(origin, 1);
  try {
    const signIn = await http.request('POST', '/api/v1/sign-in', { json: { account: ACCOUNT_SLUG, email: TEMPLATE_EMAIL, password: PASSWORD } });
    const token = asRecord(signIn.body).session_token;
    if (signIn.status !== 200 || typeof token !== 'string') throw new Error(`template sign-in failed: ${signIn.status} ${JSON.stringify(signIn.body)}`);
    const auth = { authorization: `Bearer ${token}` };
    const start = await http.request('POST', '/api/v1/me/two-factor/totp', { headers: auth, json: {} });
    const secret = asRecord(start.body).secret;
    if (start.status !== 200 || typeof secret !== 'string') throw new Error(`template enrolment failed: ${start.status} ${JSON.stringify(start.body)}`);
    const code = hotp(base32Decode(secret), stepAt(Date.now()));
    const verify = await http.request('POST', '/api/v1/me/two-factor/totp/verify', { headers: auth, json: { code } });
    const codes = asRecord(verify.body).recovery_codes;
    if (verify.status !== 200 || !Array.isArray(codes)) throw new Error(`template activation failed: ${verify.status} ${JSON.stringify(verify.body)}`);
  } finally {
    await http.close();
  }
}

type Row = Record<string, unknown>;

/** A positional insert of rows shaped like `template`, and a row builder that copies
 * the template's values and overrides some. */
function cloner(database: Database.Database, table: string, template: Row) {
  const columns = Object.keys(template);
  const statement = database.prepare(`insert into ${table} (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`);
  const base = columns.map((c) => template[c]);
  const at = (column: string): number => {
    const index = columns.indexOf(column);
    if (index < 0) throw new Error(`${table}.${column} is not a column any more: update bench/tessera/system.ts`);
    return index;
  };
  return { statement, base, at };
}

type Batch = { from: number; to: number; out: string[] };

/**
 * The cryptography of `count` users in batches of 10,000 on two helper threads
 * (seed-worker.mjs), each batch handed to `insert` with its thread's lane (0 or 1):
 * a lane inserts one batch at a time while its thread makes the next.
 */
async function seedBatches(
  input: { keys: TesseraKeys; seed: Buffer; count: number; log: (line: string) => void },
  insert: (batch: Batch, lane: number) => void | Promise<void>,
): Promise<{ insertMs: number }> {
  const workers = [0, 1].map(
    () =>
      new Worker(new URL('./seed-worker.mjs', import.meta.url), {
        workerData: { ...input.keys, seed: input.seed.toString('base64'), label: SEED_LABEL, seedBytes: SEED_BYTES },
      }),
  );
  const nextMessage = <T>(worker: Worker) =>
    new Promise<T>((resolve, reject) => {
      const onError = (error: Error) => {
        worker.off('message', onMessage);
        reject(error);
      };
      const onMessage = (message: T) => {
        worker.off('error', onError);
        resolve(message);
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
    });
  const batchSize = 10_000;
  let next = 0;
  let inserted = 0;
  let insertMs = 0;
  let lastLog = Date.now();
  const started = Date.now();
  const takeRange = () => {
    if (next >= input.count) return null;
    const range = { from: next, to: Math.min(input.count, next + batchSize) };
    next = range.to;
    return range;
  };
  const request = (worker: Worker, range: { from: number; to: number }) => {
    const reply = nextMessage<Batch>(worker);
    worker.postMessage(range);
    return reply;
  };
  try {
    await Promise.all(workers.map((worker) => nextMessage(worker)));
    await Promise.all(
      workers.map(async (worker, lane) => {
        const first = takeRange();
        let pending = first ? request(worker, first) : null;
        while (pending) {
          const batch = await pending;
          const range = takeRange();
          pending = range ? request(worker, range) : null;
          const t0 = performance.now();
          await insert(batch, lane);
          insertMs += performance.now() - t0;
          inserted += batch.to - batch.from;
          if (Date.now() - lastLog > 30_000) {
            lastLog = Date.now();
            input.log(`  seeded ${inserted} of ${input.count} users (${((Date.now() - started) / 1000).toFixed(0)} s)`);
          }
        }
      }),
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  return { insertMs };
}

/**
 * Inserts `count` users with an active authenticator app and 10 recovery codes, each
 * row a copy of the template user's (enrolled through the API just before) with its
 * own ids, email, name, encrypted seed and recovery-code HMACs. One argon2id hash (the
 * template's, same password) serves every user: verifying it costs the same. Two
 * helper threads do the cryptography (seed-worker.mjs) while this one inserts.
 */
export async function seedTesseraUsers(input: {
  databasePath: string;
  keys: TesseraKeys;
  seed: Buffer;
  count: number;
  log: (line: string) => void;
}): Promise<string[]> {
  const database = new Database(input.databasePath);
  // A bulk load with the server stopped: no journal, no fsync, one writer. The
  // database goes back to WAL (what Tessera uses) at the end.
  database.pragma('journal_mode = OFF');
  database.pragma('synchronous = OFF');
  database.pragma('locking_mode = EXCLUSIVE');
  database.pragma('cache_size = -2000000');
  database.pragma('foreign_keys = OFF');
  const user = database.prepare('select * from users where email = ?').get(TEMPLATE_EMAIL) as Row | undefined;
  if (!user) throw new Error('template user missing');
  const method = database.prepare("select * from two_factor_methods where user_id = ? and status = 'active'").get(user.id) as Row | undefined;
  const codes = database.prepare("select * from recovery_codes where user_id = ? and kind = 'user'").all(user.id) as Row[];
  if (!method || method.type !== 'totp' || user.two_factor_enabled !== 1 || user.preferred_method !== 'totp' || codes.length !== 10) {
    throw new Error(`the template enrolment does not look as expected: ${JSON.stringify({ user, method, codes: codes.length })}`);
  }
  // Secondary indexes are dropped for the load and made again afterwards from their
  // own SQL (sorting once is much faster than millions of random B-tree inserts).
  const indexes = database
    .prepare("select name, sql from sqlite_master where type = 'index' and sql is not null and tbl_name in ('users', 'two_factor_methods', 'recovery_codes')")
    .all() as { name: string; sql: string }[];
  for (const index of indexes) database.exec(`drop index "${index.name}"`);
  const users = cloner(database, 'users', user);
  const methods = cloner(database, 'two_factor_methods', method);
  const recovery = codes.map((code) => cloner(database, 'recovery_codes', code));
  const u = { id: users.at('id'), email: users.at('email'), name: users.at('name') };
  const m = { id: methods.at('id'), user: methods.at('user_id'), secret: methods.at('secret_ciphertext'), step: methods.at('last_used_step') };
  const r = { id: recovery[0]!.at('id'), user: recovery[0]!.at('user_id'), hmac: recovery[0]!.at('code_hmac') };
  // Enrolled a minute ago: the last used step is behind the current one.
  const lastUsedStep = stepAt(Date.now()) - 2;
  const ids: string[] = new Array(input.count);
  const perUser = 3 + 2 * codes.length;
  const insertBatch = database.transaction((batch: Batch) => {
    for (let index = batch.from, k = 0; index < batch.to; index++, k += perUser) {
      const out = batch.out;
      const id = out[k]!;
      ids[index] = id;
      const userRow = users.base.slice();
      userRow[u.id] = id;
      userRow[u.email] = emailOf(index);
      userRow[u.name] = `Bench User ${index}`;
      users.statement.run(userRow);
      const methodRow = methods.base.slice();
      methodRow[m.id] = out[k + 1];
      methodRow[m.user] = id;
      methodRow[m.secret] = out[k + 2];
      methodRow[m.step] = lastUsedStep;
      methods.statement.run(methodRow);
      for (let n = 0; n < recovery.length; n++) {
        const codeRow = recovery[n]!.base.slice();
        codeRow[r.id] = out[k + 3 + 2 * n];
        codeRow[r.user] = id;
        codeRow[r.hmac] = out[k + 4 + 2 * n];
        recovery[n]!.statement.run(codeRow);
      }
    }
  });

  const started = Date.now();
  const { insertMs } = await seedBatches(input, (batch) => insertBatch(batch));
  const indexStart = performance.now();
  for (const index of indexes) database.exec(index.sql);
  input.log(`  indexes made again in ${((performance.now() - indexStart) / 1000).toFixed(1)} s`);
  input.log(`  seeded ${input.count} users in ${((Date.now() - started) / 1000).toFixed(1)} s (inserts ${(insertMs / 1000).toFixed(1)} s)`);
  database.pragma('locking_mode = NORMAL');
  database.pragma('journal_mode = WAL');
  database.close();
  return ids;
}

/**
 * The same users on PostgreSQL: each batch's rows go in as three multi-row inserts
 * (insertRows), two connections at once (one per helper thread). Foreign keys are not
 * checked during the load (session_replication_role = replica, for these connections
 * only) and the secondary indexes are dropped and made again from their own SQL, as on
 * SQLite; the tables are analysed at the end, as autovacuum would after a bulk load.
 */
export async function seedTesseraUsersPostgres(input: {
  databaseUrl: string;
  keys: TesseraKeys;
  seed: Buffer;
  count: number;
  log: (line: string) => void;
}): Promise<string[]> {
  const lanes = [0, 1].map(() => new pg.Client({ connectionString: input.databaseUrl, application_name: BENCH_APPLICATION_NAME }));
  await Promise.all(lanes.map((client) => client.connect()));
  try {
    const main = lanes[0]!;
    const user = (await main.query<Row>('select * from users where email = $1', [TEMPLATE_EMAIL])).rows[0];
    if (!user) throw new Error('template user missing');
    const method = (await main.query<Row>("select * from two_factor_methods where user_id = $1 and status = 'active'", [user.id])).rows[0];
    const codes = (await main.query<Row>("select * from recovery_codes where user_id = $1 and kind = 'user'", [user.id])).rows;
    if (!method || method.type !== 'totp' || user.two_factor_enabled !== 1 || user.preferred_method !== 'totp' || codes.length !== 10) {
      throw new Error(`the template enrolment does not look as expected: ${JSON.stringify({ user, method, codes: codes.length })}`);
    }
    const tables = ['users', 'two_factor_methods', 'recovery_codes'];
    const indexes = await secondaryIndexes(main, tables);
    for (const index of indexes) await main.query(`drop index "${index.name}"`);
    for (const client of lanes) await client.query("set session_replication_role = 'replica'");
    const lastUsedStep = stepAt(Date.now()) - 2;
    const ids: string[] = new Array(input.count);
    const perUser = 3 + 2 * codes.length;
    const started = Date.now();
    const { insertMs } = await seedBatches(input, async (batch, lane) => {
      const userRows: Row[] = [];
      const methodRows: Row[] = [];
      const codeRows: Row[] = [];
      for (let index = batch.from, k = 0; index < batch.to; index++, k += perUser) {
        const out = batch.out;
        const id = out[k]!;
        ids[index] = id;
        userRows.push({ ...user, id, email: emailOf(index), name: `Bench User ${index}` });
        methodRows.push({ ...method, id: out[k + 1], user_id: id, secret_ciphertext: out[k + 2], last_used_step: lastUsedStep });
        for (let n = 0; n < codes.length; n++) codeRows.push({ ...codes[n], id: out[k + 3 + 2 * n], user_id: id, code_hmac: out[k + 4 + 2 * n] });
      }
      const client = lanes[lane]!;
      await client.query('begin');
      await insertRows(client, 'users', userRows);
      await insertRows(client, 'two_factor_methods', methodRows);
      await insertRows(client, 'recovery_codes', codeRows);
      await client.query('commit');
    });
    for (const client of lanes) await client.query("set session_replication_role = 'origin'");
    const indexStart = performance.now();
    await Promise.all(
      lanes.map(async (client, lane) => {
        for (const index of indexes.filter((_, i) => i % lanes.length === lane)) await client.query(index.sql);
      }),
    );
    input.log(`  indexes made again in ${((performance.now() - indexStart) / 1000).toFixed(1)} s`);
    await main.query(`analyze ${tables.map((t) => `"${t}"`).join(', ')}`);
    input.log(`  seeded ${input.count} users in ${((Date.now() - started) / 1000).toFixed(1)} s (inserts ${(insertMs / 1000).toFixed(1)} s)`);
    return ids;
  } finally {
    await Promise.all(lanes.map((client) => client.end()));
  }
}

/** What `npm start` runs (the build into dist/, then bin/tessera, which runs it), on
 * a database migrated and holding the bench account with one person in it (password
 * PASSWORD), made through the CLI; answers how to start the server. */
export async function prepareTessera(input: {
  env: Record<string, string>;
  port: number;
  logFile: string;
  person: { email: string; role: 'agent' | 'admin'; name: string };
}): Promise<() => Promise<Server>> {
  const { env, person } = input;
  const cli = (args: string[], stdin?: string) => run(process.execPath, [BIN, ...args], { cwd: TESSERA_ROOT, env, input: stdin });
  await run(process.execPath, [join(TESSERA_ROOT, 'scripts', 'build.mjs')], { cwd: TESSERA_ROOT, env });
  await cli(['migrate']);
  await cli(['account', 'create', '--slug', ACCOUNT_SLUG, '--name', 'Bench Support']);
  await cli(['user', 'create', '--account', ACCOUNT_SLUG, '--email', person.email, '--role', person.role, '--name', person.name, '--password-stdin'], PASSWORD);
  return () =>
    startServer({
      name: 'tessera',
      command: process.execPath,
      args: [...startFlags(), ...nodeArgs(), BIN, 'serve'],
      cwd: TESSERA_ROOT,
      env,
      port: input.port,
      readyPath: '/healthz',
      logFile: input.logFile,
    });
}

export async function startTessera(input: {
  users: number;
  workDir: string;
  logFile: string;
  log: (line: string) => void;
  connections: number;
  /** The data directory's name under workDir (default `tessera-<users>`). */
  dataDirName?: string;
  /** More settings for the server (e.g. TESSERA_COOKIE_DOMAIN for forward-auth.ts). */
  env?: Record<string, string>;
  /** SQLite in the data directory (the default), or a fresh PostgreSQL database with
   * the limits in Redis, both dropped when the system stops (unless `keep`). */
  store?: Store;
  keep?: boolean;
}): Promise<SystemUnderTest & { seedSeconds: number; databaseUrl: string; databasePath: string | null }> {
  const store = input.store ?? 'sqlite';
  const dataDir = join(input.workDir, input.dataDirName ?? `tessera-${input.users}`);
  mkdirSync(dataDir, { recursive: true });
  const keys: TesseraKeys = { encryptionKeys: `k1:${randomBytes(32).toString('base64')}`, hmacKey: randomBytes(32).toString('base64') };
  const port = await freePort();
  const databaseName = store === 'postgres' ? throwawayName('tessera') : null;
  const redisPrefix = databaseName ? databaseName.replace(/_/g, '-') : null;
  const storeEnv: Record<string, string> =
    databaseName && redisPrefix ? { TESSERA_DATABASE_URL: databaseUrl(databaseName), TESSERA_REDIS_URL: REDIS_URL, TESSERA_REDIS_KEY_PREFIX: redisPrefix } : {};
  const env = { ...tesseraEnv(dataDir, port, keys), ...storeEnv, ...input.env };
  const dropStore = async () => {
    if (!databaseName || !redisPrefix || input.keep) return;
    await dropDatabase(databaseName);
    await dropRedisPrefix(redisPrefix);
  };
  if (databaseName) await createDatabase(databaseName);
  try {
    const serve = await prepareTessera({ env, port, logFile: input.logFile, person: { email: TEMPLATE_EMAIL, role: 'agent', name: 'Template' } });
    const first = await serve();
    try {
      await enrolTemplate(first.origin);
    } finally {
      await stopServer(first);
    }
    const seed = randomBytes(32);
    const keyOf = keyDeriver(SEED_LABEL, SEED_BYTES, seed);
    const databasePath = databaseName ? null : join(dataDir, 'tessera.db');
    // The bench's own connections name themselves, so the backend CPU probe leaves them out.
    const benchUrl = databaseName ? databaseUrl(databaseName, BENCH_APPLICATION_NAME) : `sqlite:${databasePath}`;
    const seedStart = Date.now();
    const ids = databasePath
      ? await seedTesseraUsers({ databasePath, keys, seed, count: input.users, log: input.log })
      : await seedTesseraUsersPostgres({ databaseUrl: benchUrl, keys, seed, count: input.users, log: input.log });
    const seedSeconds = (Date.now() - seedStart) / 1000;
    const server = await serve();
    return new TesseraSystem(
      server,
      new HttpClient(server.origin, input.connections),
      new UserPool(input.users, keyOf),
      ids,
      { store, url: benchUrl, path: databasePath, name: databaseName, drop: dropStore },
      seedSeconds,
    );
  } catch (error) {
    await dropStore();
    throw error;
  }
}

function statusOf(result: { status: number }): number {
  return result.status;
}

class TesseraSystem implements SystemUnderTest {
  readonly key = 'tessera' as const;
  readonly label = 'Tessera';
  readonly users: number;

  constructor(
    readonly server: Server,
    readonly http: HttpClient,
    readonly pool: UserPool,
    private readonly ids: string[],
    private readonly database: { store: Store; url: string; path: string | null; name: string | null; drop: () => Promise<void> },
    readonly seedSeconds: number,
  ) {
    this.users = pool.size;
  }

  get store(): Store {
    return this.database.store;
  }

  /** Tessera's database as the bench opens it (openStore's URL). */
  get databaseUrl(): string {
    return this.database.url;
  }

  /** The SQLite file (SQLite only). */
  get databasePath(): string | null {
    return this.database.path;
  }

  /** The PostgreSQL database whose backends serve the server (PostgreSQL only). */
  get databaseName(): string | null {
    return this.database.name;
  }

  private async completeChallenge(user: number, challengeToken: string): Promise<SignInResult> {
    const code = this.pool.code(user);
    if (code === null) return { ok: false, status: -1 };
    const response = await this.http.request('POST', '/api/v1/sign-in/two-factor', { json: { challenge_token: challengeToken, method: 'totp', code } });
    const body = asRecord(response.body);
    const ok = response.status === 200 && body.status === 'signed_in' && typeof body.session_token === 'string';
    return { ok, status: statusOf(response), credential: ok ? (body.session_token as string) : undefined };
  }

  async fullSignIn(): Promise<SignInResult> {
    const user = this.pool.take();
    if (user === null) return { ok: false, status: -1, exhausted: true };
    try {
      const first = await this.http.request('POST', '/api/v1/sign-in', { json: { account: ACCOUNT_SLUG, email: emailOf(user), password: PASSWORD } });
      const body = asRecord(first.body);
      if (first.status !== 200 || body.status !== 'two_factor_required' || typeof body.challenge_token !== 'string')
        return { ok: false, status: first.status === 200 ? -2 : first.status };
      return await this.completeChallenge(user, body.challenge_token);
    } finally {
      this.pool.release(user);
    }
  }

  /** What the password step stores (a sign-in flow waiting for its second factor:
   * Tessera's own issueToken and insertFlow), written straight to the database, so that making tens of
   * thousands of challenges does not cost tens of thousands of argon2id hashes. */
  async prepareChallenges(count: number): Promise<Challenge[]> {
    const users = this.pool.takeMany(count);
    const store = openStore(this.databaseUrl);
    const challenges: Challenge[] = [];
    try {
      const row = await store.db.selectFrom('accounts').select('id').where('slug', '=', ACCOUNT_SLUG).executeTakeFirstOrThrow();
      const now = Date.now();
      await store.db.transaction().execute(async (trx) => {
        for (const user of users) {
          const issued = issueToken();
          await insertFlow(trx, {
            id: issued.id,
            accountId: row.id,
            userId: this.ids[user]!,
            secretHash: issued.secretHash,
            state: 'second_factor',
            proofs: JSON.stringify([{ kind: 'password', at: now }]),
            returnTo: null,
            requiredAcr: null,
            maxAgeSeconds: null,
            promptLogin: false,
            now,
            expiresAt: now + CHALLENGE_LIFETIME_IN_MILLISECONDS,
            ip: '127.0.0.1',
            userAgent: USER_AGENT,
          });
          challenges.push({ user, token: issued.token });
        }
      });
    } finally {
      await store.close();
    }
    return challenges;
  }

  async secondStep(challenge: Challenge): Promise<OpResult> {
    try {
      return await this.completeChallenge(challenge.user, challenge.token);
    } finally {
      this.pool.release(challenge.user);
    }
  }

  async sessionCheck(credential: string): Promise<OpResult> {
    const response = await this.http.request('GET', '/api/v1/me', { headers: { authorization: `Bearer ${credential}` } });
    return { ok: response.status === 200 && asRecord(response.body).email !== undefined, status: response.status };
  }

  async revokeAndCheck(credential: string): Promise<boolean> {
    const out = await this.http.request('POST', '/api/v1/sign-out', { headers: { authorization: `Bearer ${credential}` }, json: {} });
    if (out.status !== 200) return false;
    const after = await this.http.request('GET', '/api/v1/me', { headers: { authorization: `Bearer ${credential}` } });
    return after.status === 401;
  }

  async stop(): Promise<void> {
    await this.http.close();
    await stopServer(this.server);
    await this.database.drop();
  }
}
