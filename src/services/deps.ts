// What every use case is given: the ports, the clock and the configuration.
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/keys.js';
import type { PasswordHasher } from '../crypto/passwords.js';
import type { Limiter } from '../limits/limits.js';
import type { Database } from '../store/schema.js';

export interface SignInLimits {
  /** Failed passwords and passcodes per client address (IPv6 per /64). */
  failuresByAddress: Limiter;
  /** Failed passwords per account and email: past it the person is locked. */
  passwordFailuresByUser: Limiter;
  /** Wrong passwords in a row per account and email, whatever the window: every 10th
   * locks, each lock longer than the one before. */
  passwordFailureStreakByUser: Limiter;
  /** Password reset emails per account and email. */
  passwordResetsByUser: Limiter;
  /** Password reset requests per client address (IPv6 per /64). */
  passwordResetsByAddress: Limiter;
  /** Texted codes (anti SMS-pumping, SECURITY.md): per person, per phone number, per
   * client address, per account (its own daily budget) and for the whole deployment. */
  smsByUser: Limiter;
  smsByNumber: Limiter;
  smsByAddress: Limiter;
  smsByAccount: Limiter;
  smsGlobal: Limiter;
  /** Passkey sign-ins started per client address: each one is a flow row. */
  passkeyStartsByAddress: Limiter;
  /** Requests per API token: a script in a loop must not crowd out the people. */
  requestsByApiToken: Limiter;
}

/** Runs work after the request that started it has been answered. */
export interface BackgroundWork {
  run(task: () => Promise<void>): void;
  /** Waits until nothing started so far is still running. */
  settle(): Promise<void>;
}

export interface ServiceDeps {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  keys: KeyRing;
  hasher: PasswordHasher;
  limits: SignInLimits;
  background: BackgroundWork;
  config: Pick<Config, 'productName' | 'baseUrl' | 'cookieDomain' | 'mode' | 'smtp' | 'smsProvider' | 'smsDailyBudget' | 'outboundAllow'>;
  now: () => number;
}

/** Who is asking, for the audit log and the notifications. */
export interface RequestContext {
  ip: string | null;
  userAgent: string | null;
  /** The browser's long-lived device cookie, when it has one (pages only). */
  deviceId?: string | null;
}

export const NO_REQUEST_CONTEXT: RequestContext = { ip: null, userAgent: null };
