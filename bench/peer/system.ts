// The peer under test: better-auth in its own process (peer/server.ts), seeded by
// direct inserts that copy what its own enrolment stored for a template user.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { symmetricEncrypt } from 'better-auth/crypto';
import { HttpClient, cookieHeader, cookiePairs } from '../lib/http.js';
import type { OpResult } from '../lib/load.js';
import { nodeArgs, run, startServer, stopServer, type Server } from '../lib/proc.js';
import pg from 'pg';
import { BENCH_APPLICATION_NAME, REDIS_URL, createDatabase, databaseUrl, dropDatabase, dropRedisPrefix, insertRows, throwawayName } from '../lib/postgres.js';
import { freePort, type Challenge, type SignInResult, type Store, type SystemUnderTest } from '../lib/system.js';
import { hotp, keyFromOtpauthUri, stepAt } from '../lib/totp.js';
import { PASSWORD, UserPool, emailOf, keyDeriver } from '../lib/users.js';

const BENCH_ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER = join(BENCH_ROOT, 'peer', 'server.ts');
const TEMPLATE_EMAIL = 'template@bench.test';
/** better-auth's secret alphabet (generateRandomString's default: a-z, 0-9, A-Z, - and _). */
const SECRET_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_';
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

type Row = Record<string, unknown>;

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function randomString(alphabet: string, length: number, bytes: Buffer = randomBytes(length)): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}

/** User i's TOTP secret as better-auth stores it (a 32-character string, used as the
 * HMAC key as is) and the key bytes an authenticator app gets from the otpauth URI. */
function peerSecrets(seed: Buffer) {
  const derive = keyDeriver('peer', 32, seed);
  const secretOf = (index: number) => randomString(SECRET_ALPHABET, 32, derive(index));
  return { secretOf, keyOf: (index: number) => Buffer.from(secretOf(index), 'utf8') };
}

function peerEnv(database: string, port: number, secret: string, redis: { url: string; prefix: string } | null): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('BETTER_AUTH') && !name.startsWith('BENCH_PEER_')) env[name] = value;
  }
  return {
    ...env,
    NODE_ENV: 'production',
    BETTER_AUTH_TELEMETRY: '0',
    BENCH_PEER_DATABASE: database,
    BENCH_PEER_SECRET: secret,
    ...(redis ? { BENCH_PEER_REDIS_URL: redis.url, BENCH_PEER_REDIS_PREFIX: redis.prefix } : {}),
    PORT: String(port),
  };
}

/** Signs the template user up and enrols an authenticator app through the real API. */
async function enrolTemplate(origin: string): Promise<void> {
  const http = new HttpClient(origin, 1);
  const headers = (cookies: Map<string, string>) => ({ origin, cookie: cookieHeader(cookies) });
  try {
    const signUp = await http.request('POST', '/api/auth/sign-up/email', {
      headers: { origin },
      json: { email: TEMPLATE_EMAIL, password: PASSWORD, name: 'Template' },
    });
    if (signUp.status !== 200) throw new Error(`peer template sign-up failed: ${signUp.status} ${JSON.stringify(signUp.body)}`);
    let cookies = cookiePairs(signUp.setCookies);
    const enable = await http.request('POST', '/api/auth/two-factor/enable', { headers: headers(cookies), json: { password: PASSWORD } });
    const uri = asRecord(enable.body).totpURI;
    if (enable.status !== 200 || typeof uri !== 'string') throw new Error(`peer template enable failed: ${enable.status} ${JSON.stringify(enable.body)}`);
    cookies = new Map([...cookies, ...cookiePairs(enable.setCookies)]);
    const code = hotp(keyFromOtpauthUri(uri), stepAt(Date.now()));
    const verify = await http.request('POST', '/api/auth/two-factor/verify-totp', { headers: headers(cookies), json: { code } });
    if (verify.status !== 200) throw new Error(`peer template verification failed: ${verify.status} ${JSON.stringify(verify.body)}`);
  } finally {
    await http.close();
  }
}

function cloner(database: Database.Database, table: string, template: Row) {
  const columns = Object.keys(template);
  const statement = database.prepare(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`);
  const base = columns.map((c) => template[c]);
  const at = (column: string): number => {
    const index = columns.indexOf(column);
    if (index < 0) throw new Error(`${table}.${column} is not a column: update bench/peer/system.ts`);
    return index;
  };
  return { statement, base, at };
}

/** Copies the template's user, credential account and twoFactor rows for `count` users,
 * each with its own ids, email, encrypted TOTP secret and encrypted backup codes
 * (better-auth's own symmetricEncrypt, under the same secret). */
export async function seedPeerUsers(input: { databasePath: string; secret: string; count: number; secretOf: (index: number) => string }): Promise<void> {
  const database = new Database(input.databasePath);
  database.pragma('synchronous = OFF');
  database.pragma('cache_size = -1000000');
  const user = database.prepare('select * from "user" where email = ?').get(TEMPLATE_EMAIL) as Row | undefined;
  if (!user) throw new Error('peer template user missing');
  const account = database.prepare('select * from "account" where "userId" = ? and "providerId" = ?').get(user.id, 'credential') as Row | undefined;
  const twoFactor = database.prepare('select * from "twoFactor" where "userId" = ?').get(user.id) as Row | undefined;
  if (!account || !twoFactor || user.twoFactorEnabled !== 1 || twoFactor.verified !== 1) {
    throw new Error(`the peer template enrolment does not look as expected: ${JSON.stringify({ user, account, twoFactor })}`);
  }
  const users = cloner(database, 'user', user);
  const accounts = cloner(database, 'account', account);
  const factors = cloner(database, 'twoFactor', twoFactor);
  const idLength = String(user.id).length;
  const accountIdIsUserId = account.accountId === user.id;
  const batchSize = 5_000;
  for (let from = 0; from < input.count; from += batchSize) {
    const to = Math.min(input.count, from + batchSize);
    const rows: { user: unknown[]; account: unknown[]; factor: unknown[] }[] = [];
    for (let index = from; index < to; index++) {
      const id = randomString(ID_ALPHABET, idLength);
      const userRow = users.base.slice();
      userRow[users.at('id')] = id;
      userRow[users.at('email')] = emailOf(index);
      userRow[users.at('name')] = `Bench User ${index}`;
      const accountRow = accounts.base.slice();
      accountRow[accounts.at('id')] = randomString(ID_ALPHABET, idLength);
      accountRow[accounts.at('userId')] = id;
      if (accountIdIsUserId) accountRow[accounts.at('accountId')] = id;
      const backupCodes = Array.from({ length: 10 }, () => {
        const code = randomString(ID_ALPHABET, 10);
        return `${code.slice(0, 5)}-${code.slice(5)}`;
      });
      const factorRow = factors.base.slice();
      factorRow[factors.at('id')] = randomString(ID_ALPHABET, idLength);
      factorRow[factors.at('userId')] = id;
      factorRow[factors.at('secret')] = await symmetricEncrypt({ key: input.secret, data: input.secretOf(index) });
      factorRow[factors.at('backupCodes')] = await symmetricEncrypt({ key: input.secret, data: JSON.stringify(backupCodes) });
      rows.push({ user: userRow, account: accountRow, factor: factorRow });
    }
    database.transaction(() => {
      for (const row of rows) {
        users.statement.run(row.user);
        accounts.statement.run(row.account);
        factors.statement.run(row.factor);
      }
    })();
  }
  database.pragma('wal_checkpoint(TRUNCATE)');
  database.close();
}

/** The same copies on PostgreSQL, 5,000 users a statement per table (insertRows). */
export async function seedPeerUsersPostgres(input: { databaseUrl: string; secret: string; count: number; secretOf: (index: number) => string }): Promise<void> {
  const client = new pg.Client({ connectionString: input.databaseUrl, application_name: BENCH_APPLICATION_NAME });
  await client.connect();
  try {
    const user = (await client.query<Row>('select * from "user" where email = $1', [TEMPLATE_EMAIL])).rows[0];
    if (!user) throw new Error('peer template user missing');
    const account = (await client.query<Row>('select * from "account" where "userId" = $1 and "providerId" = $2', [user.id, 'credential'])).rows[0];
    const twoFactor = (await client.query<Row>('select * from "twoFactor" where "userId" = $1', [user.id])).rows[0];
    if (!account || !twoFactor || user.twoFactorEnabled !== true || twoFactor.verified !== true) {
      throw new Error(`the peer template enrolment does not look as expected: ${JSON.stringify({ user, account, twoFactor })}`);
    }
    const idLength = String(user.id).length;
    const accountIdIsUserId = account.accountId === user.id;
    const batchSize = 5_000;
    for (let from = 0; from < input.count; from += batchSize) {
      const to = Math.min(input.count, from + batchSize);
      const users: Row[] = [];
      const accounts: Row[] = [];
      const factors: Row[] = [];
      for (let index = from; index < to; index++) {
        const id = randomString(ID_ALPHABET, idLength);
        users.push({ ...user, id, email: emailOf(index), name: `Bench User ${index}` });
        accounts.push({ ...account, id: randomString(ID_ALPHABET, idLength), userId: id, ...(accountIdIsUserId ? { accountId: id } : {}) });
        const backupCodes = Array.from({ length: 10 }, () => {
          const code = randomString(ID_ALPHABET, 10);
          return `${code.slice(0, 5)}-${code.slice(5)}`;
        });
        factors.push({
          ...twoFactor,
          id: randomString(ID_ALPHABET, idLength),
          userId: id,
          secret: await symmetricEncrypt({ key: input.secret, data: input.secretOf(index) }),
          backupCodes: await symmetricEncrypt({ key: input.secret, data: JSON.stringify(backupCodes) }),
        });
      }
      await client.query('begin');
      await insertRows(client, 'user', users);
      await insertRows(client, 'account', accounts);
      await insertRows(client, 'twoFactor', factors);
      await client.query('commit');
    }
    await client.query('analyze "user", "account", "twoFactor"');
  } finally {
    await client.end();
  }
}

export async function startPeer(input: {
  users: number;
  workDir: string;
  logFile: string;
  connections: number;
  /** SQLite (the default), or a fresh PostgreSQL database with the secondary storage
   * in Redis, both dropped when the peer stops (unless `keep`). */
  store?: Store;
  keep?: boolean;
}): Promise<SystemUnderTest & { seedSeconds: number }> {
  const store = input.store ?? 'sqlite';
  const dir = join(input.workDir, `peer-${input.users}`);
  mkdirSync(dir, { recursive: true });
  const databaseName = store === 'postgres' ? throwawayName('betterauth') : null;
  const redisPrefix = databaseName ? `${databaseName.replace(/_/g, '-')}:` : null;
  const database = databaseName ? databaseUrl(databaseName) : join(dir, 'peer.db');
  const secret = randomBytes(32).toString('base64');
  const port = await freePort();
  const env = peerEnv(database, port, secret, redisPrefix ? { url: REDIS_URL, prefix: redisPrefix } : null);
  const dropStore = async () => {
    if (!databaseName || !redisPrefix || input.keep) return;
    await dropDatabase(databaseName);
    await dropRedisPrefix(redisPrefix);
  };
  if (databaseName) await createDatabase(databaseName);
  try {
    const node = [process.execPath, [...nodeArgs(), '--import', 'tsx', SERVER]] as const;
    await run(node[0], [...node[1], 'migrate'], { cwd: BENCH_ROOT, env });
    const serve = () =>
      startServer({ name: 'better-auth', command: node[0], args: [...node[1]], cwd: BENCH_ROOT, env, port, readyPath: '/healthz', logFile: input.logFile });
    const first = await serve();
    try {
      await enrolTemplate(first.origin);
    } finally {
      await stopServer(first);
    }
    const { secretOf, keyOf } = peerSecrets(randomBytes(32));
    const seedStart = Date.now();
    if (databaseName) await seedPeerUsersPostgres({ databaseUrl: databaseUrl(databaseName, BENCH_APPLICATION_NAME), secret, count: input.users, secretOf });
    else await seedPeerUsers({ databasePath: database, secret, count: input.users, secretOf });
    const seedSeconds = (Date.now() - seedStart) / 1000;
    const server = await serve();
    return new PeerSystem(
      server,
      new HttpClient(server.origin, input.connections),
      new UserPool(input.users, keyOf),
      seedSeconds,
      store,
      databaseName,
      dropStore,
    );
  } catch (error) {
    await dropStore();
    throw error;
  }
}

class PeerSystem implements SystemUnderTest {
  readonly key = 'peer' as const;
  readonly label = 'better-auth';
  readonly users: number;

  constructor(
    readonly server: Server,
    readonly http: HttpClient,
    readonly pool: UserPool,
    readonly seedSeconds: number,
    readonly store: Store,
    readonly databaseName: string | null,
    private readonly dropStore: () => Promise<void>,
  ) {
    this.users = pool.size;
  }

  private get origin(): string {
    return this.server.origin;
  }

  /** The password step: the Cookie header carrying the two-factor cookie, or a failure. */
  private async passwordStep(user: number): Promise<{ cookie: string } | { status: number }> {
    const response = await this.http.request('POST', '/api/auth/sign-in/email', {
      headers: { origin: this.origin },
      json: { email: emailOf(user), password: PASSWORD },
    });
    if (response.status !== 200 || asRecord(response.body).twoFactorRedirect !== true) return { status: response.status === 200 ? -2 : response.status };
    return { cookie: cookieHeader(cookiePairs(response.setCookies)) };
  }

  private async verify(user: number, cookie: string): Promise<SignInResult> {
    const code = this.pool.code(user);
    if (code === null) return { ok: false, status: -1 };
    const response = await this.http.request('POST', '/api/auth/two-factor/verify-totp', { headers: { origin: this.origin, cookie }, json: { code } });
    const ok = response.status === 200 && typeof asRecord(response.body).token === 'string';
    return { ok, status: response.status, credential: ok ? cookieHeader(cookiePairs(response.setCookies)) : undefined };
  }

  async fullSignIn(): Promise<SignInResult> {
    const user = this.pool.take();
    if (user === null) return { ok: false, status: -1, exhausted: true };
    try {
      const first = await this.passwordStep(user);
      if ('status' in first) return { ok: false, status: first.status };
      return await this.verify(user, first.cookie);
    } finally {
      this.pool.release(user);
    }
  }

  /** better-auth keeps its sign-in challenge in its verification table behind a signed
   * cookie, so challenges are made through its own password step (16 at a time). */
  async prepareChallenges(count: number, log: (line: string) => void): Promise<Challenge[]> {
    const users = this.pool.takeMany(count);
    const challenges: Challenge[] = [];
    let next = 0;
    let failed = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < users.length && failed < 100) {
          const user = users[next++]!;
          const result = await this.passwordStep(user);
          if ('cookie' in result) challenges.push({ user, token: result.cookie });
          else {
            failed += 1;
            this.pool.release(user);
          }
        }
      }),
    );
    for (const user of users.slice(next)) this.pool.release(user);
    log(`  made ${challenges.length} better-auth challenges in ${((Date.now() - started) / 1000).toFixed(0)} s${failed ? ` (${failed} failed)` : ''}`);
    return challenges;
  }

  async secondStep(challenge: Challenge): Promise<OpResult> {
    try {
      return await this.verify(challenge.user, challenge.token);
    } finally {
      this.pool.release(challenge.user);
    }
  }

  async sessionCheck(credential: string): Promise<OpResult> {
    const response = await this.http.request('GET', '/api/auth/get-session', { headers: { cookie: credential } });
    return { ok: response.status === 200 && asRecord(asRecord(response.body).session).id !== undefined, status: response.status };
  }

  async revokeAndCheck(credential: string): Promise<boolean> {
    const out = await this.http.request('POST', '/api/auth/sign-out', { headers: { origin: this.origin, cookie: credential }, json: {} });
    if (out.status !== 200) return false;
    const after = await this.http.request('GET', '/api/auth/get-session', { headers: { cookie: credential } });
    return after.status !== 200 || asRecord(after.body).session === undefined;
  }

  async stop(): Promise<void> {
    await this.http.close();
    await stopServer(this.server);
    await this.dropStore();
  }
}
