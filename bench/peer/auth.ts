// The peer: better-auth with its twoFactor plugin on SQLite (better-sqlite3, WAL,
// synchronous NORMAL) or on PostgreSQL (a node-postgres Pool, its `pg` dialect) with
// its secondary storage in Redis, password hashing swapped to the same argon2id as
// Tessera's (@node-rs/argon2, m=19456 KiB, t=2, p=1), its rate limiter off. Written
// from better-auth's documentation (installation, SQLite and PostgreSQL adapters,
// secondary storage, emailAndPassword's password.hash/verify, the 2FA plugin, rate
// limit, Node integration).
import { hash, verify } from '@node-rs/argon2';
import Database from 'better-sqlite3';
import { betterAuth } from 'better-auth';
import { twoFactor } from 'better-auth/plugins';
import { Redis } from 'ioredis';
import pg from 'pg';

type SecondaryStorage = NonNullable<Parameters<typeof betterAuth>[0]['secondaryStorage']>;

// `Algorithm` is a const enum in @node-rs/argon2's types: 2 is Argon2id.
export const ARGON2ID_OPTIONS = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export interface PeerSettings {
  /** A SQLite file, or a postgres:// URL. */
  database: string;
  /** Redis for the secondary storage (sessions and verification values), with PostgreSQL. */
  redisUrl: string | null;
  redisPrefix: string;
  port: number;
  secret: string;
}

export function peerSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): PeerSettings {
  const database = env.BENCH_PEER_DATABASE;
  const secret = env.BENCH_PEER_SECRET;
  const port = Number(env.PORT);
  if (!database || !secret || !Number.isInteger(port)) throw new Error('BENCH_PEER_DATABASE, BENCH_PEER_SECRET and PORT are needed');
  return { database, redisUrl: env.BENCH_PEER_REDIS_URL || null, redisPrefix: env.BENCH_PEER_REDIS_PREFIX ?? 'betterauth-bench:', port, secret };
}

export function isPostgresUrl(database: string): boolean {
  return database.startsWith('postgres://') || database.startsWith('postgresql://');
}

/** better-auth's secondary storage interface over ioredis (its documentation's Redis
 * example, with the atomic getAndDelete and increment it asks for). */
function redisStorage(url: string, prefix: string): SecondaryStorage {
  const redis = new Redis(url);
  const key = (name: string) => prefix + name;
  return {
    get: (name) => redis.get(key(name)),
    getAndDelete: (name) => redis.getdel(key(name)),
    async increment(name, ttlInSeconds) {
      const [[, value]] = (await redis.multi().incr(key(name)).expire(key(name), ttlInSeconds, 'NX').exec()) as [[Error | null, number]];
      return value;
    },
    set: (name, value, ttlInSeconds) => (ttlInSeconds ? redis.set(key(name), value, 'EX', ttlInSeconds) : redis.set(key(name), value)),
    async delete(name) {
      await redis.del(key(name));
    },
  };
}

export function openPeerDatabase(path: string): Database.Database {
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  return database;
}

export function createPeerAuth(settings: PeerSettings) {
  return betterAuth({
    appName: 'Bench',
    baseURL: `http://127.0.0.1:${settings.port}`,
    secret: settings.secret,
    // A node-postgres Pool is better-auth's PostgreSQL configuration (default size, 10
    // connections, as Tessera's).
    database: isPostgresUrl(settings.database) ? new pg.Pool({ connectionString: settings.database }) : openPeerDatabase(settings.database),
    ...(settings.redisUrl ? { secondaryStorage: redisStorage(settings.redisUrl, settings.redisPrefix) } : {}),
    emailAndPassword: {
      enabled: true,
      password: {
        hash: (password) => hash(password, ARGON2ID_OPTIONS),
        verify: ({ hash: stored, password }) => verify(stored, password),
      },
    },
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    plugins: [twoFactor({ issuer: 'Bench' })],
  });
}
