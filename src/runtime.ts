// Wires the configuration to the real parts: database, keys, hasher, limits,
// senders, the outbox worker and the HTTP app.
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { checkKeyIdsKnown, keyFilePath, loadKeyRing, type KeyRing } from './crypto/keys.js';
import { holdsData, sealedKeyIds } from './store/sealed-values.js';
import { PasswordHasher } from './crypto/passwords.js';
import { OutboxWorker } from './delivery/outbox-worker.js';
import { OutboundClient } from './delivery/outbound.js';
import { WebhookWorker } from './delivery/webhook-worker.js';
import { recordWebhookFailure, webhookEndpoint } from './services/webhooks.js';
import { chooseBackchannelLogoutSender, type SignLogoutToken } from './delivery/backchannel-logout-sender.js';
import { DevelopmentOutboxSender, DisabledSender, type OutboxSenders, type Sender } from './delivery/senders.js';
import { SmtpSender } from './delivery/smtp-sender.js';
import { chooseSmsSender } from './delivery/sms-senders.js';
import { PASSWORD_FAILURES_BEFORE_LOCK } from './domain/passcode-attempts.js';
import { MAX_SMS_DAILY_BUDGET, SMS_QUOTAS } from './domain/sms-codes.js';
import { BackgroundTasks } from './background-tasks.js';
import { API_TOKEN_REQUESTS_PER_MINUTE } from './services/api-tokens.js';
import { logoutTokenSigner } from './services/signing-keys.js';
import { buildApp } from './http/app.js';
import { LimitStore } from './limits/limits.js';
import type { ServiceDeps, SignInLimits } from './services/deps.js';
import { migrateToLatest, openStore, type Store } from './store/database.js';

export interface Runtime {
  config: Config;
  store: Store;
  keys: KeyRing;
  deps: ServiceDeps;
  limitStore: LimitStore;
  worker: OutboxWorker;
  webhookWorker: WebhookWorker;
  app: FastifyInstance;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  now?: () => number;
  logStream?: NodeJS.WritableStream;
  /** Answers as the handlers built them, unfiltered by their schemas (AppOptions). */
  serializeWithoutSchemas?: boolean;
  /** Replaces the senders chosen from configuration (tests capture deliveries). */
  senders?: Partial<OutboxSenders>;
  /** Signs back-channel logout tokens; by default, with the OpenID Connect signing keys
   * (services/signing-keys.ts logoutTokenSigner). */
  signLogoutToken?: SignLogoutToken;
  /** Run the outbox worker on a timer (the server does; tests drain it by hand). */
  startWorker?: boolean;
}

export function createSignInLimits(limitStore: LimitStore, config: Pick<Config, 'smsDailyBudget'>): SignInLimits {
  const day = 24 * 60 * 60;
  return {
    // 100 failed passwords or passcodes per 15 minutes per address or IPv6 /64
    // (DESIGN.md, API): only failures count, so a busy office is not locked out.
    failuresByAddress: limitStore.limiter({ name: 'failures-by-address', points: 100, windowInSeconds: 15 * 60 }),
    // 10 wrong passwords per 15 minutes lock the person (quietly: same answer), for
    // longer each time (services/password-attempts.ts).
    passwordFailuresByUser: limitStore.limiter({ name: 'password-failures-by-user', points: PASSWORD_FAILURES_BEFORE_LOCK, windowInSeconds: 15 * 60 }),
    // Counted, never refused: the run of wrong passwords since the last right one (a
    // week without any ends it), which sets when a lock comes and how long it lasts.
    passwordFailureStreakByUser: limitStore.limiter({ name: 'password-failure-streak-by-user', points: 1_000_000, windowInSeconds: 7 * day }),
    passwordResetsByUser: limitStore.limiter({ name: 'password-resets-by-user', points: 3, windowInSeconds: 60 * 60 }),
    // Enough for an office sharing one address, not for mailing a list of people.
    passwordResetsByAddress: limitStore.limiter({ name: 'password-resets-by-address', points: 30, windowInSeconds: 60 * 60 }),
    // Texted codes (anti SMS-pumping): every text counts, sent or not yet.
    smsByUser: limitStore.limiter({ name: 'sms-by-user', ...SMS_QUOTAS.perPerson }),
    smsByNumber: limitStore.limiter({ name: 'sms-by-number', ...SMS_QUOTAS.perNumber }),
    smsByAddress: limitStore.limiter({ name: 'sms-by-address', ...SMS_QUOTAS.perAddress }),
    // Each account's own budget is checked per hit (accounts.sms_daily_budget).
    smsByAccount: limitStore.limiter({ name: 'sms-by-account', points: MAX_SMS_DAILY_BUDGET, windowInSeconds: day }),
    smsGlobal: limitStore.limiter({ name: 'sms-global', points: config.smsDailyBudget, windowInSeconds: day }),
    // A sign-in page asks for one on each view (the email field's passkey suggestions).
    passkeyStartsByAddress: limitStore.limiter({ name: 'passkey-starts-by-address', points: 120, windowInSeconds: 60 }),
    // Ten a second on average, bursts included: a sync of thousands of people pages
    // through in well under a minute.
    requestsByApiToken: limitStore.limiter({ name: 'requests-by-api-token', points: API_TOKEN_REQUESTS_PER_MINUTE, windowInSeconds: 60 }),
  };
}

/** Email: SMTP whenever it is configured, in any mode; otherwise the development
 * outbox in development, and off (messages fail, listed as failed) in production.
 * Back-channel logout: really sent in both modes (through the guarded outbound client,
 * TESSERA_OUTBOUND_ALLOW), once there is a signer for its tokens. */
export function chooseSenders(config: Config, signLogoutToken?: SignLogoutToken): OutboxSenders {
  const email: Sender = config.smtp
    ? new SmtpSender(config.smtp)
    : config.mode === 'development'
      ? new DevelopmentOutboxSender()
      : new DisabledSender('email (TESSERA_SMTP_URL)');
  const sms: Sender = chooseSmsSender(config);
  return { email, sms, backchannel: chooseBackchannelLogoutSender(config, signLogoutToken) };
}

/** The key ring, checked against what the database holds (SECURITY.md: a lost key file
 * is never silently replaced). */
export async function openKeyRing(config: Pick<Config, 'dataDir' | 'encryptionKeys' | 'hmacKey'>, store: Store): Promise<KeyRing> {
  const keys = loadKeyRing({
    dataDir: config.dataDir,
    encryptionKeys: config.encryptionKeys,
    hmacKey: config.hmacKey,
    mayCreate: !(await holdsData(store.db)),
  });
  checkKeyIdsKnown(keys, await sealedKeyIds(store.db, store.dialect), config.encryptionKeys !== null ? 'TESSERA_ENCRYPTION_KEYS' : keyFilePath(config.dataDir));
  return keys;
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const store = openStore(config.databaseUrl, { preparedStatements: config.databasePreparedStatements });
  try {
    await migrateToLatest(store.db, store.dialect);
  } catch (error) {
    await store.close();
    throw error;
  }
  let keys: KeyRing;
  try {
    keys = await openKeyRing(config, store);
  } catch (error) {
    await store.close();
    throw error;
  }
  const limitStore = config.redisUrl ? LimitStore.redis(config.redisUrl, config.redisKeyPrefix) : LimitStore.memory();
  let log: FastifyInstance['log'] | null = null;
  const background = new BackgroundTasks((error) => log?.error({ err: { message: (error as Error)?.message } }, 'background task failed'));
  const deps: ServiceDeps = {
    db: store.db,
    dialect: store.dialect,
    keys,
    hasher: new PasswordHasher(config.hashConcurrency),
    limits: createSignInLimits(limitStore, config),
    background,
    config,
    now: options.now ?? Date.now,
  };
  const app = await buildApp({ deps, limitStore, config, logStream: options.logStream, serializeWithoutSchemas: options.serializeWithoutSchemas });
  log = app.log;
  const signLogoutToken = options.signLogoutToken ?? logoutTokenSigner({ db: store.db, dialect: store.dialect, keys, now: deps.now, issuer: config.baseUrl });
  const senders: OutboxSenders = { ...chooseSenders(config, signLogoutToken), ...options.senders };
  const worker = new OutboxWorker({
    db: store.db,
    dialect: store.dialect,
    keys,
    senders,
    now: deps.now,
    onError: (error) => app.log.error({ err: { message: (error as Error).message } }, 'outbox worker failed'),
    // No content (links, codes) in the log: the outbox row holds it, encrypted.
    onDeliveryFailed: (failure) =>
      app.log.warn(
        {
          message_id: failure.id,
          channel: failure.channel,
          purpose: failure.purpose,
          attempts: failure.attempts,
          error: failure.error,
          next_attempt_at: failure.nextAttemptAt === null ? null : new Date(failure.nextAttemptAt).toISOString(),
        },
        failure.gaveUp ? 'outbox message failed for good' : 'outbox message not delivered; will retry',
      ),
  });
  const webhookWorker = new WebhookWorker({
    db: store.db,
    dialect: store.dialect,
    client: new OutboundClient({ allowed: config.outboundAllow }),
    now: deps.now,
    endpointOf: (id) => webhookEndpoint(deps, id),
    onWebhookFailing: (id, error) => recordWebhookFailure(deps, id, error),
    onError: (error) => app.log.error({ err: { message: (error as Error).message } }, 'webhook worker failed'),
  });
  if (options.startWorker) {
    worker.start();
    webhookWorker.start();
  }
  return {
    config,
    store,
    keys,
    deps,
    limitStore,
    worker,
    webhookWorker,
    app,
    async close() {
      await app.close();
      await background.settle();
      await worker.stop();
      await webhookWorker.stop();
      for (const sender of new Set(Object.values(senders))) await sender.close?.();
      await limitStore.close();
      await store.close();
    },
  };
}
