// What the workloads need from a system under test. Tessera and the peer each
// implement it over their own HTTP API; the workloads and the load client are shared.
import { createServer } from 'node:net';
import type { HttpClient } from './http.js';
import type { OpResult } from './load.js';
import type { Server } from './proc.js';
import type { UserPool } from './users.js';

export interface Challenge {
  user: number;
  /** Tessera: the challenge token; better-auth: the Cookie header carrying its two-factor cookie. */
  token: string;
}

export interface SignInResult extends OpResult {
  /** What authenticates a session check: a bearer token or a Cookie header. */
  credential?: string;
}

/** Where the systems keep their data: SQLite files, or PostgreSQL with Redis beside it. */
export type Store = 'sqlite' | 'postgres';

export interface SystemUnderTest {
  key: 'tessera' | 'peer';
  label: string;
  store: Store;
  /** The PostgreSQL database serving the system (null on SQLite): its backends' CPU is measured. */
  databaseName: string | null;
  users: number;
  server: Server;
  http: HttpClient;
  pool: UserPool;
  /** Password → challenge → TOTP code → session, for the next free user. */
  fullSignIn(): Promise<SignInResult>;
  /** Challenges waiting for their second step, for `count` free users (fewer if users run out). */
  prepareChallenges(count: number, log: (line: string) => void): Promise<Challenge[]>;
  secondStep(challenge: Challenge): Promise<OpResult>;
  sessionCheck(credential: string): Promise<OpResult>;
  /** Ends the session; true when the next session check with it is refused. */
  revokeAndCheck(credential: string): Promise<boolean>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
