// An account's webhooks (DESIGN.md, Automation): added by an admin with their fresh
// confirmation (a webhook sends the account's security events out of the building),
// its signing secret shown once; changed, paused, resumed, removed; its deliveries
// listed and sent again. And what the webhook worker reports back: a day of failures
// pauses the webhook and tells the account's admins.
import type { Kysely, Updateable } from 'kysely';
import { decryptSecret, encryptSecret, sealedPlace } from '../crypto/secret-box.js';
import { newId } from '../crypto/tokens.js';
import { newWebhookSecret } from '../crypto/webhook-signatures.js';
import { mails } from '../delivery/email-templates.js';
import {
  MAX_WEBHOOKS_PER_ACCOUNT,
  WEBHOOK_PAUSE_AFTER_FAILING_FOR_MILLISECONDS,
  checkWebhookEvents,
  checkWebhookSettings,
  checkWebhookUrl,
  isWebhookEvent,
  type WebhookEvent,
} from '../domain/automation.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { checkOutboundAddress, parseIpAddress } from '../domain/outbound-addresses.js';
import { appendAuditEvent } from '../store/audit.js';
import type { Database, Webhook, WebhookDelivery, WebhookTable } from '../store/schema.js';
import { AccountUsers } from '../store/users.js';
import {
  deleteWebhook as deleteWebhookRows,
  findAccountWebhook,
  findWebhook,
  findWebhookDelivery,
  insertWebhook,
  listAccountWebhooks,
  holdDeliveries,
  listWebhookDeliveries,
  lockAccountWebhook,
  markWebhookFailing,
  pauseWebhook,
  queueDeliveryAgain,
  releaseDeliveries,
  updateWebhook as updateWebhookRow,
} from '../store/webhooks.js';
import { confirmedPersonAction } from './admin-confirmation.js';
import type { Confirmation } from './confirmation.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { emailUser } from './notify.js';
import type { SignedIn } from './sessions.js';
import { findAccountById } from '../store/accounts.js';

export interface WebhookView {
  id: string;
  url: string;
  events: WebhookEvent[];
  status: Webhook['status'];
  /** The first failed delivery since the last good one. */
  failingSince: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface WebhookDeliveryView {
  id: string;
  eventId: string;
  event: string;
  status: WebhookDelivery['status'];
  attempts: number;
  lastResponseStatus: number | null;
  lastError: string | null;
  nextAttemptAt: number | null;
  deliveredAt: number | null;
  createdAt: number;
}

/** Another account's webhook is no more found than one that never was. */
function noSuchWebhook<T = never>(): Result<T> {
  return fail('not_found', { message: 'There is no such webhook in this account.' });
}

function webhookView(row: Webhook): WebhookView {
  return {
    id: row.id,
    url: row.url,
    events: (JSON.parse(row.events) as unknown[]).filter(isWebhookEvent),
    status: row.status,
    failingSince: row.failing_since,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function deliveryView(row: WebhookDelivery): WebhookDeliveryView {
  return {
    id: row.id,
    eventId: row.event_id,
    event: row.event_type,
    status: row.status,
    attempts: row.attempts,
    lastResponseStatus: row.last_response_status,
    lastError: row.last_error,
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at : null,
    deliveredAt: row.delivered_at,
    createdAt: row.created_at,
  };
}

function secretPlace(webhookId: string) {
  return sealedPlace('webhooks', 'secret_ciphertext', webhookId);
}

/** The secret a delivery is signed with (the worker's only way to it). */
export function webhookSecretOf(deps: Pick<ServiceDeps, 'keys'>, webhook: Webhook): string {
  return decryptSecret(deps.keys, webhook.secret_ciphertext, secretPlace(webhook.id));
}

/** A literal address that no delivery could reach is refused at once; a host name is
 * checked at every delivery, since what it resolves to can change. */
function checkReachable(deps: Pick<ServiceDeps, 'config'>, url: string): Result<string> {
  const { hostname } = new URL(url);
  const literal = parseIpAddress(hostname === 'localhost' ? '127.0.0.1' : hostname.replace(/^\[|\]$/g, ''));
  if (!literal) return ok(url);
  const verdict = checkOutboundAddress(literal, deps.config.outboundAllow);
  return verdict.allowed
    ? ok(url)
    : fail('invalid_request', {
        field: 'url',
        message: `Webhooks cannot call ${verdict.what}${verdict.allowable ? ' unless the operator allows it (TESSERA_OUTBOUND_ALLOW)' : ''}. Use a public https:// address.`,
        detail: { key: 'detail.webhook.unreachable', values: { address: hostname, allowable: verdict.allowable ? 'yes' : 'no' } },
      });
}

/** A webhook's address as the audit log and emails name it: its origin only. Many
 * receivers carry a secret in the path or query (a Slack or Zapier hook). */
function addressForRecords(url: string): string {
  return new URL(url).origin;
}

function webhookAudit(trx: Kysely<Database>, admin: SignedIn, context: RequestContext, now: number) {
  return (type: 'webhook_created' | 'webhook_updated' | 'webhook_deleted', webhook: { id: string; url: string }, details: Record<string, unknown> = {}) =>
    appendAuditEvent(
      trx,
      {
        accountId: admin.account.id,
        type,
        actorUserId: admin.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { webhook_id: webhook.id, address: addressForRecords(webhook.url), ...details },
      },
      now,
    );
}

export async function listWebhooks(deps: Pick<ServiceDeps, 'db'>, admin: SignedIn): Promise<WebhookView[]> {
  return (await listAccountWebhooks(deps.db, admin.account.id)).map(webhookView);
}

export async function getWebhook(deps: Pick<ServiceDeps, 'db'>, admin: SignedIn, id: string): Promise<Result<WebhookView>> {
  const row = await findAccountWebhook(deps.db, admin.account.id, id);
  return row ? ok(webhookView(row)) : noSuchWebhook();
}

export async function createWebhook(
  deps: ServiceDeps,
  admin: SignedIn,
  input: { url?: unknown; events?: unknown; confirmation?: Confirmation },
  context: RequestContext,
): Promise<Result<{ webhook: WebhookView; secret: string }>> {
  const settings = checkWebhookSettings(input);
  if (!settings.ok) return settings;
  const reachable = checkReachable(deps, settings.value.url);
  if (!reachable.ok) return reachable;
  if ((await listAccountWebhooks(deps.db, admin.account.id)).length >= MAX_WEBHOOKS_PER_ACCOUNT)
    return fail('invalid_request', {
      message: `An account may have at most ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks.`,
      detail: { key: 'detail.webhookLimit', values: { max: MAX_WEBHOOKS_PER_ACCOUNT } },
    });
  return confirmedPersonAction(deps, admin, { confirmation: input.confirmation, context }, async (trx) => {
    const now = deps.now();
    const id = newId();
    const secret = newWebhookSecret();
    const row: Webhook = {
      id,
      account_id: admin.account.id,
      url: settings.value.url,
      events: JSON.stringify(settings.value.events),
      secret_ciphertext: encryptSecret(deps.keys, secret, secretPlace(id)),
      status: 'active',
      failing_since: null,
      created_by_user_id: admin.user.id,
      created_at: now,
      updated_at: now,
    };
    await insertWebhook(trx, row);
    await webhookAudit(trx, admin, context, now)('webhook_created', row, { events: settings.value.events });
    return ok({ webhook: webhookView(row), secret });
  });
}

export interface WebhookChange {
  url?: unknown;
  events?: unknown;
  /** false pauses; true resumes (and forgets the run of failures). */
  active?: unknown;
  rotateSecret?: unknown;
  confirmation?: Confirmation;
}

/** A new address or a new secret changes where the events go or who can read them, so
 * it takes the admin's confirmation; the events chosen, pausing and resuming do not. */
export async function updateWebhook(
  deps: ServiceDeps,
  admin: SignedIn,
  id: string,
  change: WebhookChange,
  context: RequestContext,
): Promise<Result<{ webhook: WebhookView; secret: string | null }>> {
  const current = await findAccountWebhook(deps.db, admin.account.id, id);
  if (!current) return noSuchWebhook();
  const url = change.url === undefined ? ok(current.url) : checkWebhookUrl(change.url);
  if (!url.ok) return url;
  const reachable = url.value === current.url ? url : checkReachable(deps, url.value);
  if (!reachable.ok) return reachable;
  const events = change.events === undefined ? ok(webhookView(current).events) : checkWebhookEvents(change.events);
  if (!events.ok) return events;
  if (change.active !== undefined && typeof change.active !== 'boolean')
    return fail('invalid_request', { field: 'active', message: 'active is true or false.' });
  if (change.rotateSecret !== undefined && typeof change.rotateSecret !== 'boolean')
    return fail('invalid_request', { field: 'rotate_secret', message: 'rotate_secret is true or false.' });
  const apply = async (trx: Kysely<Database>): Promise<Result<{ webhook: WebhookView; secret: string | null }>> => {
    // Read again, locked, in the transaction: only what this request changes is
    // written, so a change made meanwhile (a rotated secret, a pause) is not undone.
    const locked = await lockAccountWebhook(trx, admin.account.id, id, deps.dialect);
    if (!locked) return noSuchWebhook();
    const now = deps.now();
    const secret = change.rotateSecret === true ? newWebhookSecret() : null;
    const changes: Updateable<WebhookTable> = {};
    if (change.url !== undefined && url.value !== locked.url) changes.url = url.value;
    if (change.events !== undefined && JSON.stringify(events.value) !== locked.events) changes.events = JSON.stringify(events.value);
    if (secret !== null) changes.secret_ciphertext = encryptSecret(deps.keys, secret, secretPlace(id));
    const status = change.active === undefined ? locked.status : change.active ? 'active' : 'paused';
    if (status !== locked.status) {
      changes.status = status;
      // Resumed: a fresh start; what it missed goes now.
      if (status === 'active') changes.failing_since = null;
    }
    const changed = [
      ...(changes.url !== undefined ? ['url'] : []),
      ...(changes.events !== undefined ? ['events'] : []),
      ...(changes.status !== undefined ? [status === 'active' ? 'resumed' : 'paused'] : []),
      ...(secret !== null ? ['secret'] : []),
    ];
    if (changed.length > 0) {
      await updateWebhookRow(trx, id, { ...changes, updated_at: now });
      if (changes.status === 'paused') await holdDeliveries(trx, id);
      if (changes.status === 'active') await releaseDeliveries(trx, id, now);
      await webhookAudit(trx, admin, context, now)('webhook_updated', locked, { changed });
    }
    const next = (await findWebhook(trx, id))!;
    return ok({ webhook: webhookView(next), secret });
  };
  const needsConfirmation = url.value !== current.url || change.rotateSecret === true;
  return needsConfirmation ? confirmedPersonAction(deps, admin, { confirmation: change.confirmation, context }, apply) : deps.db.transaction().execute(apply);
}

/** Removes a webhook and its deliveries; nothing more is sent to it. */
export async function deleteWebhook(deps: ServiceDeps, admin: SignedIn, id: string, context: RequestContext): Promise<Result<null>> {
  return deps.db.transaction().execute(async (trx) => {
    const webhook = await findAccountWebhook(trx, admin.account.id, id);
    if (!webhook) return noSuchWebhook<null>();
    await deleteWebhookRows(trx, id);
    await webhookAudit(trx, admin, context, deps.now())('webhook_deleted', webhook);
    return ok(null);
  });
}

export async function listDeliveries(
  deps: Pick<ServiceDeps, 'db'>,
  admin: SignedIn,
  webhookId: string,
  page: { limit: number; before: { createdAt: number; id: string } | null },
): Promise<Result<WebhookDeliveryView[]>> {
  const webhook = await findAccountWebhook(deps.db, admin.account.id, webhookId);
  if (!webhook) return noSuchWebhook();
  return ok((await listWebhookDeliveries(deps.db, webhookId, page)).map(deliveryView));
}

/** Sends one delivery again, now, as a new delivery of the same event (same id and body). */
export async function resendDelivery(deps: ServiceDeps, admin: SignedIn, webhookId: string, deliveryId: string): Promise<Result<WebhookDeliveryView>> {
  return deps.db.transaction().execute(async (trx) => {
    const webhook = await findAccountWebhook(trx, admin.account.id, webhookId);
    const delivery = webhook ? await findWebhookDelivery(trx, webhookId, deliveryId) : undefined;
    if (!webhook || !delivery) return fail<WebhookDeliveryView>('not_found', { message: 'There is no such delivery of this webhook.' });
    if (webhook.status !== 'active')
      return fail<WebhookDeliveryView>('invalid_request', { message: 'Resume the webhook before you send anything to it again.' });
    const againId = await queueDeliveryAgain(trx, delivery, deps.now());
    const again = await findWebhookDelivery(trx, webhookId, againId);
    return ok(deliveryView(again!));
  });
}

/** A delivery of this webhook failed. The first failure since the last good delivery
 * starts the clock; past a day of them the webhook is paused, audited, and the
 * account's admins are emailed, once (the pause is one conditional change). */
export async function recordWebhookFailure(deps: ServiceDeps, webhookId: string, lastError: string | null): Promise<'failing' | 'paused'> {
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    const webhook = await findWebhook(trx, webhookId);
    if (!webhook || webhook.status !== 'active') return 'failing';
    if (webhook.failing_since === null) {
      await markWebhookFailing(trx, webhookId, now);
      return 'failing';
    }
    if (now - webhook.failing_since < WEBHOOK_PAUSE_AFTER_FAILING_FOR_MILLISECONDS) return 'failing';
    if (!(await pauseWebhook(trx, webhookId, now))) return 'paused';
    await holdDeliveries(trx, webhookId);
    await appendAuditEvent(
      trx,
      {
        accountId: webhook.account_id,
        type: 'webhook_paused',
        details: { webhook_id: webhook.id, url: webhook.url, failing_since: new Date(webhook.failing_since).toISOString() },
      },
      now,
    );
    const account = await findAccountById(trx, webhook.account_id);
    const admins = (await new AccountUsers(trx, webhook.account_id).list()).filter((user) => user.role === 'admin' && user.suspended_at === null);
    for (const admin of admins) {
      await emailUser(trx, deps, {
        account: account!,
        user: admin,
        purpose: 'webhook_paused',
        context: { ip: null, userAgent: null, deviceId: null },
        compose: (c) => mails.webhookPaused(c, { address: addressForRecords(webhook.url), lastError }),
      });
    }
    return 'paused';
  });
}

/** Where the worker sends a webhook's next delivery, and with which secret. */
export async function webhookEndpoint(
  deps: Pick<ServiceDeps, 'db' | 'keys'>,
  id: string,
): Promise<{ url: string; secret: string; active: boolean; failing: boolean } | null> {
  const webhook = await findWebhook(deps.db, id);
  return webhook
    ? { url: webhook.url, secret: webhookSecretOf(deps, webhook), active: webhook.status === 'active', failing: webhook.failing_since !== null }
    : null;
}
