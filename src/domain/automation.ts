// What an account may automate (DESIGN.md row 20, "Automation"): the scopes of its API
// tokens, the events its webhooks can hear, and the checks of what an admin types for
// either. Pure rules; the services store and enforce them.
import { LOOPBACK_HOSTS } from './apps.js';
import { fail, ok, type Result } from './failures.js';
import { isValidDisplayName, normalizeDisplayName } from './identity.js';

export const API_TOKEN_SCOPES = ['users:read', 'users:write', 'audit:read', 'policy:read', 'policy:write', 'apps:write'] as const;
export type ApiTokenScope = (typeof API_TOKEN_SCOPES)[number];

export const MAX_API_TOKEN_DAYS = 365;
export const MAX_WEBHOOKS_PER_ACCOUNT = 20;

export const WEBHOOK_EVENTS = [
  'user.invited',
  'user.created',
  'user.suspended',
  'user.role_changed',
  'two_factor.enabled',
  'two_factor.disabled',
  'two_factor.reset_by_admin',
  'recovery_code.issued_by_admin',
  'sign_in.locked',
  'sign_in.new_computer',
  'security_policy.changed',
  'app.created',
  'app.deleted',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Each webhook event is an audit event seen from outside: the audit log is written in
 * the action's transaction, and so is every delivery of its webhook event. */
const WEBHOOK_EVENT_OF_AUDIT_TYPE: Readonly<Record<string, WebhookEvent>> = {
  user_invited: 'user.invited',
  user_created: 'user.created',
  user_suspended: 'user.suspended',
  role_changed: 'user.role_changed',
  two_factor_enabled: 'two_factor.enabled',
  two_factor_disabled: 'two_factor.disabled',
  two_factor_reset_by_admin: 'two_factor.reset_by_admin',
  admin_recovery_code_issued: 'recovery_code.issued_by_admin',
  sign_in_locked: 'sign_in.locked',
  new_device_sign_in: 'sign_in.new_computer',
  security_policy_changed: 'security_policy.changed',
  app_created: 'app.created',
  app_deleted: 'app.deleted',
};

/** The webhook event an audit event is, if any. A resent invitation is not news. */
export function webhookEventOf(auditType: string, details: Record<string, unknown> | null | undefined): WebhookEvent | null {
  if (auditType === 'user_invited' && details?.resent === true) return null;
  return Object.hasOwn(WEBHOOK_EVENT_OF_AUDIT_TYPE, auditType) ? WEBHOOK_EVENT_OF_AUDIT_TYPE[auditType]! : null;
}

export function isApiTokenScope(value: unknown): value is ApiTokenScope {
  return typeof value === 'string' && (API_TOKEN_SCOPES as readonly string[]).includes(value);
}

export function isWebhookEvent(value: unknown): value is WebhookEvent {
  return typeof value === 'string' && (WEBHOOK_EVENTS as readonly string[]).includes(value);
}

function checkName(raw: unknown, what: string): Result<string> {
  const name = typeof raw === 'string' ? normalizeDisplayName(raw) : '';
  return isValidDisplayName(name)
    ? ok(name)
    : fail('invalid_request', {
        field: 'name',
        message: `Give the ${what} a name of 1 to 100 characters.`,
        detail: { key: 'detail.automation.nameLength', values: { what } },
      });
}

/** A list of known values, each once, at least one. */
function checkChoices<T extends string>(
  raw: unknown,
  field: string,
  isKnown: (value: unknown) => value is T,
  words: { what: string; known: readonly string[] },
): Result<T[]> {
  if (!Array.isArray(raw) || raw.length === 0)
    return fail('invalid_request', {
      field,
      message: `Choose at least one ${words.what}.`,
      detail: { key: 'detail.automation.chooseOne', values: { what: words.what } },
    });
  const chosen: T[] = [];
  for (const item of raw) {
    if (!isKnown(item))
      return fail('invalid_request', {
        field,
        message: `Unknown ${words.what} ${JSON.stringify(item)}: use ${words.known.join(', ')}.`,
        detail: { key: 'detail.automation.unknownChoice', values: { what: words.what, given: JSON.stringify(item), known: words.known.join(', ') } },
      });
    if (!chosen.includes(item)) chosen.push(item);
  }
  return ok(chosen);
}

export interface ApiTokenSettings {
  name: string;
  scopes: ApiTokenScope[];
  expiresInDays: number;
}

export function checkApiTokenSettings(input: { name?: unknown; scopes?: unknown; expiresInDays?: unknown }): Result<ApiTokenSettings> {
  const name = checkName(input.name, 'token');
  if (!name.ok) return name;
  const scopes = checkChoices(input.scopes, 'scopes', isApiTokenScope, { what: 'scope', known: API_TOKEN_SCOPES });
  if (!scopes.ok) return scopes;
  const days = input.expiresInDays;
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_API_TOKEN_DAYS)
    return fail('invalid_request', {
      field: 'expires_in_days',
      message: `A token lasts 1 to ${MAX_API_TOKEN_DAYS} days.`,
      detail: { key: 'detail.apiTokenDays', values: { max: MAX_API_TOKEN_DAYS } },
    });
  return ok({ name: name.value, scopes: scopes.value, expiresInDays: days });
}

export function checkWebhookEvents(raw: unknown): Result<WebhookEvent[]> {
  return checkChoices(raw, 'events', isWebhookEvent, { what: 'event', known: WEBHOOK_EVENTS });
}

/** Plain http only reaches this computer (LOOPBACK_HOSTS, as for apps), for trying a
 * receiver out; everything else must be https. Where the address leads is checked
 * again at every delivery (delivery/outbound.ts), since a name can resolve elsewhere later. */
const MAX_WEBHOOK_URL_LENGTH = 2000;

export function checkWebhookUrl(raw: unknown): Result<string> {
  const invalid = (message: string) => fail<string>('invalid_request', { field: 'url', message });
  if (typeof raw !== 'string' || raw.trim() === '') return invalid('Give the address that receives the events, such as https://hooks.example.com/tessera.');
  const text = raw.trim();
  if (text.length > MAX_WEBHOOK_URL_LENGTH)
    return fail('invalid_request', {
      field: 'url',
      message: `The address may be at most ${MAX_WEBHOOK_URL_LENGTH} characters.`,
      detail: { key: 'detail.webhook.urlTooLong', values: { max: MAX_WEBHOOK_URL_LENGTH } },
    });
  if (!/^[\x21-\x7e]+$/.test(text))
    return invalid('The address holds a space or a character outside ASCII: percent-encode it (and write an international host name in punycode).');
  if (text.includes('\\')) return invalid('The address cannot hold a backslash.');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return invalid('The address is not a full URL: write it with https:// in front.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return invalid('The address must start with https://.');
  if (url.username !== '' || url.password !== '') return invalid('The address cannot hold a user name or password (user@host).');
  if (url.hash !== '' || text.includes('#')) return invalid('The address cannot hold a fragment (#).');
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname))
    return invalid('The address must use https: http:// is only for 127.0.0.1, localhost or [::1].');
  return ok(url.href);
}

export interface WebhookSettings {
  url: string;
  events: WebhookEvent[];
}

export function checkWebhookSettings(input: { url?: unknown; events?: unknown }): Result<WebhookSettings> {
  const url = checkWebhookUrl(input.url);
  if (!url.ok) return url;
  const events = checkWebhookEvents(input.events);
  if (!events.ok) return events;
  return ok({ url: url.value, events: events.value });
}

const SECOND = 1000;
const HOUR = 60 * 60 * SECOND;
/** Deliveries are retried for a day (DESIGN.md, Automation), then given up. */
export const WEBHOOK_RETRY_WINDOW_IN_MILLISECONDS = 24 * HOUR;
/** A webhook whose deliveries have failed for this long without one success is paused. */
export const WEBHOOK_PAUSE_AFTER_FAILING_FOR_MILLISECONDS = 24 * HOUR;

/** 5 s, 10 s, 20 s … then hourly: about thirty attempts in the day. */
export function webhookRetryDelay(attempts: number): number {
  return Math.min(5 * SECOND * 2 ** Math.max(0, attempts - 1), HOUR);
}

/** What a webhook event says: ids and facts, never a secret or a code (the audit
 * event's details hold none either: SECURITY.md, audit log). */
export interface WebhookFact {
  accountId: string;
  subject: { id: string; email: string } | null;
  actor: { userId: string | null; tokenId: string | null } | null;
  ip: string | null;
  reason: string | null;
  details: Record<string, unknown> | null;
}

/** The body of a delivery, as the Standard Webhooks specification shapes it. */
export function webhookBody(type: WebhookEvent, fact: WebhookFact, at: number): string {
  return JSON.stringify({
    type,
    timestamp: new Date(at).toISOString(),
    data: {
      account_id: fact.accountId,
      user: fact.subject,
      actor:
        fact.actor && (fact.actor.userId !== null || fact.actor.tokenId !== null) ? { user_id: fact.actor.userId, api_token_id: fact.actor.tokenId } : null,
      ip: fact.ip,
      reason: fact.reason,
      details: fact.details ?? {},
    },
  });
}
