// The peer: better-auth with its twoFactor plugin on SQLite (better-sqlite3, WAL,
// synchronous NORMAL), password hashing swapped to the same argon2id as Tessera's
// (@node-rs/argon2, m=19456 KiB, t=2, p=1), its rate limiter off. Written from
// better-auth's documentation (installation, SQLite adapter, emailAndPassword's
// password.hash/verify, the 2FA plugin, rate limit, Node integration).
import { hash, verify } from '@node-rs/argon2';
import Database from 'better-sqlite3';
import { betterAuth } from 'better-auth';
import { twoFactor } from 'better-auth/plugins';

// `Algorithm` is a const enum in @node-rs/argon2's types: 2 is Argon2id.
export const ARGON2ID_OPTIONS = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export interface PeerSettings {
  databasePath: string;
  port: number;
  secret: string;
}

export function peerSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): PeerSettings {
  const databasePath = env.BENCH_PEER_DATABASE;
  const secret = env.BENCH_PEER_SECRET;
  const port = Number(env.PORT);
  if (!databasePath || !secret || !Number.isInteger(port)) throw new Error('BENCH_PEER_DATABASE, BENCH_PEER_SECRET and PORT are needed');
  return { databasePath, port, secret };
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
    database: openPeerDatabase(settings.databasePath),
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
