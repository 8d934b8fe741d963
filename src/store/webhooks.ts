// An account's webhooks and their deliveries (DESIGN.md, Automation). A delivery is
// written in the transaction of the action it tells of (queueWebhookEvent, called with
// each audit event) and drained by the webhook worker, claimed the way the outbox's
// messages are (outbox.ts claimNextMessage): by one worker of any number.
import { sql, type Insertable, type Kysely, type Updateable } from 'kysely';
import { newId } from '../crypto/tokens.js';
import type { WebhookEvent } from '../domain/automation.js';
import type { Dialect } from './database.js';
import { claimNextDue } from './queue-claims.js';
import type { Database, Webhook, WebhookDelivery, WebhookDeliveryTable, WebhookTable } from './schema.js';

export async function insertWebhook(db: Kysely<Database>, webhook: Insertable<WebhookTable>): Promise<void> {
  await db.insertInto('webhooks').values(webhook).execute();
}

export function findWebhook(db: Kysely<Database>, id: string): Promise<Webhook | undefined> {
  return db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findAccountWebhook(db: Kysely<Database>, accountId: string, id: string): Promise<Webhook | undefined> {
  return db.selectFrom('webhooks').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
}

/** An account's webhook, its row locked on PostgreSQL until the transaction ends (SQLite
 * runs one write transaction at a time). */
export function lockAccountWebhook(db: Kysely<Database>, accountId: string, id: string, dialect: Dialect): Promise<Webhook | undefined> {
  return db
    .selectFrom('webhooks')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .$if(dialect === 'postgres', (query) => query.forUpdate())
    .executeTakeFirst();
}

export function listAccountWebhooks(db: Kysely<Database>, accountId: string): Promise<Webhook[]> {
  return db.selectFrom('webhooks').selectAll().where('account_id', '=', accountId).orderBy('created_at', 'asc').orderBy('id', 'asc').execute();
}

export async function updateWebhook(db: Kysely<Database>, id: string, changes: Updateable<WebhookTable>): Promise<void> {
  await db.updateTable('webhooks').set(changes).where('id', '=', id).execute();
}

export async function deleteWebhook(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
  await db.deleteFrom('webhooks').where('id', '=', id).execute();
}

/** The webhooks of the account that want this event, paused ones included: what a
 * paused webhook misses is held for it until it is resumed. */
export async function webhooksListening(db: Kysely<Database>, accountId: string, type: WebhookEvent): Promise<{ id: string; status: Webhook['status'] }[]> {
  const webhooks = await db.selectFrom('webhooks').select(['id', 'events', 'status']).where('account_id', '=', accountId).execute();
  return webhooks.filter((webhook) => (JSON.parse(webhook.events) as string[]).includes(type)).map(({ id, status }) => ({ id, status }));
}

/** Queues one event for the given webhooks, in the caller's transaction. One id for the
 * event: the `webhook-id` every endpoint, every retry and every resend of it carries,
 * so a receiver can drop a repeat. `body` is the Standard Webhooks body. */
export async function queueWebhookEvent(
  db: Kysely<Database>,
  event: { accountId: string; type: WebhookEvent; body: string; webhooks: readonly { id: string; status: Webhook['status'] }[] },
  now: number,
): Promise<void> {
  if (event.webhooks.length === 0) return;
  const eventId = `msg_${newId()}`;
  await db
    .insertInto('webhook_deliveries')
    .values(
      event.webhooks.map((webhook) => ({
        ...newDelivery({ webhookId: webhook.id, accountId: event.accountId, eventId, eventType: event.type, payload: event.body }, now),
        status: webhook.status === 'active' ? ('pending' as const) : ('paused' as const),
      })),
    )
    .execute();
}

/** Holds a webhook's waiting deliveries while it is paused. */
export async function holdDeliveries(db: Kysely<Database>, webhookId: string): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ status: 'paused', claimed_until: null })
    .where('webhook_id', '=', webhookId)
    .where('status', '=', 'pending')
    .execute();
}

/** Sends a resumed webhook's held deliveries now. */
export async function releaseDeliveries(db: Kysely<Database>, webhookId: string, now: number): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: now })
    .where('webhook_id', '=', webhookId)
    .where('status', '=', 'paused')
    .execute();
}

function newDelivery(
  delivery: { webhookId: string; accountId: string; eventId: string; eventType: string; payload: string },
  now: number,
): Insertable<WebhookDeliveryTable> {
  return {
    id: newId(),
    webhook_id: delivery.webhookId,
    account_id: delivery.accountId,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    payload: delivery.payload,
    status: 'pending',
    attempts: 0,
    next_attempt_at: now,
    claimed_until: null,
    last_response_status: null,
    last_error: null,
    delivered_at: null,
    created_at: now,
  };
}

/** Sends a delivery again as a new one (same event id and body), listed on its own. */
export async function queueDeliveryAgain(db: Kysely<Database>, delivery: WebhookDelivery, now: number): Promise<string> {
  const again = newDelivery(
    { webhookId: delivery.webhook_id, accountId: delivery.account_id, eventId: delivery.event_id, eventType: delivery.event_type, payload: delivery.payload },
    now,
  );
  await db.insertInto('webhook_deliveries').values(again).execute();
  return again.id!;
}

export function findWebhookDelivery(db: Kysely<Database>, webhookId: string, id: string): Promise<WebhookDelivery | undefined> {
  return db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).where('id', '=', id).executeTakeFirst();
}

export function listWebhookDeliveries(
  db: Kysely<Database>,
  webhookId: string,
  page: { limit: number; before: { createdAt: number; id: string } | null },
): Promise<WebhookDelivery[]> {
  const before = page.before;
  return db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('webhook_id', '=', webhookId)
    .$if(before !== null, (query) =>
      query.where((eb) => eb.or([eb('created_at', '<', before!.createdAt), eb.and([eb('created_at', '=', before!.createdAt), eb('id', '<', before!.id)])])),
    )
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit)
    .execute();
}

/** Claims the next due delivery for one worker (queue-claims.ts). */
export function claimNextDelivery(db: Kysely<Database>, dialect: Dialect, now: number, claimForMilliseconds: number): Promise<WebhookDelivery | null> {
  return claimNextDue(db, dialect, 'webhook_deliveries', { now, forMilliseconds: claimForMilliseconds });
}

/** Each outcome is written only by the worker that still holds the claim (`claim`, the
 * claimed_until it set): one that stalled past it must not undo another's record. */
export async function markDelivered(db: Kysely<Database>, id: string, claim: number | null, responseStatus: number, now: number): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ status: 'delivered', attempts: sql`attempts + 1`, last_response_status: responseStatus, last_error: null, delivered_at: now, claimed_until: null })
    .where('id', '=', id)
    .where('claimed_until', '=', claim)
    .execute();
}

/** Puts a claimed delivery back on hold: its webhook was paused meanwhile. */
export async function markDeliveryHeld(db: Kysely<Database>, id: string, claim: number | null): Promise<void> {
  await db.updateTable('webhook_deliveries').set({ status: 'paused', claimed_until: null }).where('id', '=', id).where('claimed_until', '=', claim).execute();
}

export async function markDeliveryFailed(
  db: Kysely<Database>,
  id: string,
  claim: number | null,
  outcome: { attempts: number; responseStatus: number | null; error: string; nextAttemptAt: number; giveUp: boolean },
): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({
      status: outcome.giveUp ? 'failed' : 'pending',
      attempts: outcome.attempts,
      last_response_status: outcome.responseStatus,
      last_error: outcome.error.slice(0, 500),
      next_attempt_at: outcome.nextAttemptAt,
      claimed_until: null,
    })
    .where('id', '=', id)
    .where('claimed_until', '=', claim)
    .execute();
}

/** A good delivery ends the webhook's run of failures (a no-op write when there was none). */
export async function clearWebhookFailing(db: Kysely<Database>, id: string): Promise<void> {
  await db.updateTable('webhooks').set({ failing_since: null }).where('id', '=', id).where('failing_since', 'is not', null).execute();
}

/** Starts a webhook's run of failures, unless one is already running. */
export async function markWebhookFailing(db: Kysely<Database>, id: string, now: number): Promise<void> {
  await db.updateTable('webhooks').set({ failing_since: now }).where('id', '=', id).where('failing_since', 'is', null).execute();
}

/** Pauses an active webhook; false when it was not active (another worker paused it). */
export async function pauseWebhook(db: Kysely<Database>, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('webhooks')
    .set({ status: 'paused', updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Forgets finished deliveries (delivered, or given up) made before `before`. */
export async function pruneFinishedDeliveries(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db.deleteFrom('webhook_deliveries').where('status', 'in', ['delivered', 'failed']).where('created_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
