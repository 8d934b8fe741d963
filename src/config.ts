// The one reader of process.env. Every setting is validated here, at start, with a
// clear message per bad value; the rest of the code receives a typed Config.
import { isAbsolute, resolve } from 'node:path';
import { parseIpRange, type IpRange } from './domain/outbound-addresses.js';

export type Mode = 'development' | 'production';

export interface SmtpConfig {
  url: string;
  from: string;
}

export interface TwilioConfig {
  accountSid: string;
  authToken: string;
  from: string | null;
  messagingServiceSid: string | null;
  apiBaseUrl: string;
}

export interface SmsWebhookConfig {
  url: string;
  secret: string;
}

export type SmsProvider = 'outbox' | 'twilio' | 'webhook' | 'off';

export interface Config {
  mode: Mode;
  host: string;
  port: number;
  baseUrl: string;
  /** TESSERA_COOKIE_DOMAIN: the parent domain of Tessera and the hosts it guards by
   * forward-auth, which the forward-auth cookie is sent to; null: forward-auth is off. */
  cookieDomain: string | null;
  dataDir: string;
  databaseUrl: string;
  /** TESSERA_DATABASE_PREPARED_STATEMENTS: PostgreSQL statements prepared once per
   * connection (store/named-statements.ts); off behind a pooler that cannot keep them. */
  databasePreparedStatements: boolean;
  redisUrl: string | null;
  /** Prefix of every Redis key, so several deployments (or test runs) can share one Redis. */
  redisKeyPrefix: string;
  productName: string;
  /** `id:base64key` pairs, first is the active key; null means "use the key file in dataDir". */
  encryptionKeys: string | null;
  /** Base64 key for HMAC of recovery codes; null means "use the key file in dataDir". */
  hmacKey: string | null;
  trustProxy: string | boolean;
  logLevel: string;
  smtp: SmtpConfig | null;
  smsProvider: SmsProvider;
  twilio: TwilioConfig | null;
  smsWebhook: SmsWebhookConfig | null;
  /** Text messages the whole deployment may send per day, whatever the account (anti
   * SMS-pumping: a ceiling on what an attacker can cost the operator). */
  smsDailyBudget: number;
  /** Password hashing concurrency (defaults to the number of cores). */
  hashConcurrency: number;
  /** When set, GET /metrics asks for `Authorization: Bearer <it>`; null leaves it open
   * (for a listen address that only the metrics collector reaches). */
  metricsToken: string | null;
  /** Private, loopback and other non-public ranges that outgoing calls (back-channel
   * logout, webhooks) may reach all the same; empty: public addresses only. */
  outboundAllow: IpRange[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function readPort(env: Env): number {
  const raw = env.PORT ?? '3000';
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 0 || port > 65535) {
    throw new ConfigError(`PORT must be a number from 0 to 65535, got "${raw}"`);
  }
  return port;
}

function readMode(env: Env): Mode {
  const raw = env.TESSERA_MODE ?? 'development';
  if (raw !== 'development' && raw !== 'production') {
    throw new ConfigError(`TESSERA_MODE must be "development" or "production", got "${raw}"`);
  }
  return raw;
}

/** A URL as it may be printed: database and Redis URLs carry passwords. */
function withoutCredentials(raw: string): string {
  return raw.replace(/\/\/[^/@\s]*@/, '//…@');
}

function readUrl(name: string, raw: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${withoutCredentials(raw)}"`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got "${withoutCredentials(raw)}"`);
  }
  return raw;
}

/** A parent domain of TESSERA_BASE_URL's host: `example.com` for auth.example.com. */
function readCookieDomain(raw: string | undefined, baseUrl: string): string | null {
  if (raw === undefined || raw.trim() === '') return null;
  const domain = raw.trim().toLowerCase().replace(/^\./, '');
  if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/.test(domain)) {
    throw new ConfigError(`TESSERA_COOKIE_DOMAIN must be a domain name with at least one dot, like example.com, got "${raw}"`);
  }
  const host = new URL(baseUrl).hostname;
  if (host !== domain && !host.endsWith(`.${domain}`)) {
    throw new ConfigError(`TESSERA_COOKIE_DOMAIN (${domain}) must be TESSERA_BASE_URL's host (${host}) or a parent domain of it`);
  }
  return domain;
}

function readPreparedStatements(raw: string | undefined): boolean {
  if (raw === undefined || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new ConfigError(`TESSERA_DATABASE_PREPARED_STATEMENTS must be "on" or "off", got "${raw}"`);
}

function readTrustProxy(raw: string | undefined): string | boolean {
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  // A comma-separated list of addresses or CIDR ranges of the proxies to trust
  // (better-auth CVE-2026-45364: never trust X-Forwarded-For from anyone else).
  return raw;
}

function readSmsProvider(env: Env, mode: Mode): SmsProvider {
  const raw = env.TESSERA_SMS_PROVIDER ?? (mode === 'development' ? 'outbox' : 'off');
  if (!['outbox', 'twilio', 'webhook', 'off'].includes(raw)) {
    throw new ConfigError(`TESSERA_SMS_PROVIDER must be outbox, twilio, webhook or off, got "${raw}"`);
  }
  return raw as SmsProvider;
}

/** The from address of every mail: `Name <address>` or a bare address. */
function readSmtpFrom(raw: string): string {
  const from = raw.trim();
  const address = /<([^<>]*)>$/.exec(from)?.[1] ?? from;
  if (/[\r\n]/.test(from) || !/^[^\s@<>",;]+@[^\s@<>",;]+$/.test(address)) {
    throw new ConfigError(`TESSERA_SMTP_FROM must be an address like "Tessera <no-reply@example.com>", got "${from}"`);
  }
  return from;
}

/** SMTP is on when TESSERA_SMTP_URL is set. Errors never repeat the URL: it may hold a password. */
function readSmtp(env: Env, productName: string, baseUrl: string): SmtpConfig | null {
  const raw = env.TESSERA_SMTP_URL;
  if (!raw) {
    if (env.TESSERA_SMTP_FROM) throw new ConfigError('TESSERA_SMTP_FROM is set but TESSERA_SMTP_URL is not: set TESSERA_SMTP_URL to send email over SMTP');
    return null;
  }
  const example = 'smtp://user:password@smtp.example.com:587 (or smtps://… for TLS from the start)';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`TESSERA_SMTP_URL must be a URL like ${example}`);
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ConfigError(`TESSERA_SMTP_URL must start with smtp:// or smtps://, got "${url.protocol}//…"`);
  }
  if (!url.hostname) throw new ConfigError(`TESSERA_SMTP_URL has no host name; expected a URL like ${example}`);
  const displayName = productName.replace(/["\\]/g, '\\$&');
  const from = readSmtpFrom(env.TESSERA_SMTP_FROM ?? `"${displayName}" <no-reply@${new URL(baseUrl).hostname}>`);
  return { url: raw, from };
}

function readRedisKeyPrefix(raw: string | undefined): string {
  const prefix = raw ?? 'tessera';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) throw new ConfigError(`TESSERA_REDIS_KEY_PREFIX must be 1-64 letters, digits, _ . : or -, got "${prefix}"`);
  return prefix;
}

/** TESSERA_OUTBOUND_ALLOW: comma-separated CIDRs (`10.0.0.0/8,fd00::/8`); a bare address
 * is one host. Any bad entry stops the start: a typo must not silently leave a range
 * open or shut. */
function readOutboundAllow(raw: string | undefined): IpRange[] {
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const text = entry.trim();
    if (text === '') throw new ConfigError('TESSERA_OUTBOUND_ALLOW has an empty entry; expected comma-separated ranges like "10.0.0.0/8,fd00::/8"');
    const parsed = parseIpRange(text);
    if (!parsed.ok) throw new ConfigError(`TESSERA_OUTBOUND_ALLOW: "${text}" ${parsed.reason}`);
    return parsed.range;
  });
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const mode = readMode(env);
  const port = readPort(env);
  const host = env.TESSERA_HOST ?? (mode === 'development' ? '127.0.0.1' : '0.0.0.0');
  const dataDirRaw = env.TESSERA_DATA_DIR ?? './data';
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw);
  const baseUrl = readUrl('TESSERA_BASE_URL', env.TESSERA_BASE_URL ?? `http://localhost:${port}`, ['http:', 'https:']).replace(/\/+$/, '');
  const databaseUrl = env.TESSERA_DATABASE_URL
    ? readUrl('TESSERA_DATABASE_URL', env.TESSERA_DATABASE_URL, ['postgres:', 'postgresql:', 'sqlite:', 'file:'])
    : `sqlite:${resolve(dataDir, 'tessera.db')}`;
  const redisUrl = env.TESSERA_REDIS_URL ? readUrl('TESSERA_REDIS_URL', env.TESSERA_REDIS_URL, ['redis:', 'rediss:']) : null;
  const productName = (env.TESSERA_PRODUCT_NAME ?? 'Tessera').trim();
  if (productName.length === 0 || productName.length > 60) {
    throw new ConfigError('TESSERA_PRODUCT_NAME must be 1 to 60 characters');
  }
  const smtp = readSmtp(env, productName, baseUrl);
  const smsProvider = readSmsProvider(env, mode);
  let twilio: TwilioConfig | null = null;
  if (smsProvider === 'twilio') {
    const accountSid = env.TESSERA_TWILIO_ACCOUNT_SID;
    const authToken = env.TESSERA_TWILIO_AUTH_TOKEN;
    const from = env.TESSERA_TWILIO_FROM ?? null;
    const messagingServiceSid = env.TESSERA_TWILIO_MESSAGING_SERVICE_SID ?? null;
    if (!accountSid || !authToken || (!from && !messagingServiceSid)) {
      throw new ConfigError(
        'TESSERA_SMS_PROVIDER=twilio needs TESSERA_TWILIO_ACCOUNT_SID, TESSERA_TWILIO_AUTH_TOKEN and TESSERA_TWILIO_FROM or TESSERA_TWILIO_MESSAGING_SERVICE_SID',
      );
    }
    twilio = {
      accountSid,
      authToken,
      from,
      messagingServiceSid,
      apiBaseUrl: readUrl('TESSERA_TWILIO_API_URL', env.TESSERA_TWILIO_API_URL ?? 'https://api.twilio.com', ['http:', 'https:']),
    };
  }
  let smsWebhook: SmsWebhookConfig | null = null;
  if (smsProvider === 'webhook') {
    if (!env.TESSERA_SMS_WEBHOOK_URL || !env.TESSERA_SMS_WEBHOOK_SECRET) {
      throw new ConfigError('TESSERA_SMS_PROVIDER=webhook needs TESSERA_SMS_WEBHOOK_URL and TESSERA_SMS_WEBHOOK_SECRET');
    }
    smsWebhook = {
      url: readUrl('TESSERA_SMS_WEBHOOK_URL', env.TESSERA_SMS_WEBHOOK_URL, ['http:', 'https:']),
      secret: env.TESSERA_SMS_WEBHOOK_SECRET,
    };
  }
  const smsDailyBudgetRaw = env.TESSERA_SMS_DAILY_BUDGET ?? '10000';
  const smsDailyBudget = Number(smsDailyBudgetRaw);
  if (!/^\d+$/.test(smsDailyBudgetRaw) || !Number.isSafeInteger(smsDailyBudget) || smsDailyBudget < 1 || smsDailyBudget > 100_000_000) {
    throw new ConfigError(`TESSERA_SMS_DAILY_BUDGET must be a whole number from 1 to 100000000, got "${smsDailyBudgetRaw}"`);
  }
  if (mode === 'production' && !env.TESSERA_ENCRYPTION_KEYS) {
    throw new ConfigError('TESSERA_ENCRYPTION_KEYS is required in production (see README, "Keys")');
  }
  if (mode === 'production' && !env.TESSERA_HMAC_KEY) {
    throw new ConfigError('TESSERA_HMAC_KEY is required in production (see README, "Keys")');
  }
  const hashConcurrencyRaw = env.TESSERA_HASH_CONCURRENCY;
  let hashConcurrency = 0;
  if (hashConcurrencyRaw !== undefined) {
    hashConcurrency = Number(hashConcurrencyRaw);
    if (!Number.isInteger(hashConcurrency) || hashConcurrency < 1 || hashConcurrency > 256) {
      throw new ConfigError(`TESSERA_HASH_CONCURRENCY must be a whole number from 1 to 256, got "${hashConcurrencyRaw}"`);
    }
  }
  const metricsToken = env.TESSERA_METRICS_TOKEN ?? null;
  if (metricsToken !== null && !/^[\x21-\x7e]{16,256}$/.test(metricsToken)) {
    throw new ConfigError('TESSERA_METRICS_TOKEN must be 16 to 256 printable characters without spaces');
  }
  return {
    mode,
    host,
    port,
    baseUrl,
    cookieDomain: readCookieDomain(env.TESSERA_COOKIE_DOMAIN, baseUrl),
    dataDir,
    databaseUrl,
    databasePreparedStatements: readPreparedStatements(env.TESSERA_DATABASE_PREPARED_STATEMENTS),
    redisUrl,
    redisKeyPrefix: readRedisKeyPrefix(env.TESSERA_REDIS_KEY_PREFIX),
    productName,
    encryptionKeys: env.TESSERA_ENCRYPTION_KEYS ?? null,
    hmacKey: env.TESSERA_HMAC_KEY ?? null,
    trustProxy: readTrustProxy(env.TESSERA_TRUST_PROXY),
    logLevel: env.TESSERA_LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'silent' : 'info'),
    smtp,
    smsProvider,
    twilio,
    smsWebhook,
    smsDailyBudget,
    hashConcurrency,
    metricsToken,
    outboundAllow: readOutboundAllow(env.TESSERA_OUTBOUND_ALLOW),
  };
}
