// Append-only: this module inserts and reads audit events; nothing updates or deletes them.
import type { Insertable, Kysely } from 'kysely';
import { newId } from '../crypto/tokens.js';
import { webhookBody, webhookEventOf, type WebhookEvent } from '../domain/automation.js';
import { preparedQuery } from './prepared.js';
import type { AuditEvent, AuditEventTable, Database } from './schema.js';
import { queueWebhookEvent, webhooksListening } from './webhooks.js';

export interface AuditEntry {
  accountId: string | null;
  type: string;
  actorUserId?: string | null;
  /** The API token the actor acted through. */
  actorTokenId?: string | null;
  subjectUserId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  reason?: string | null;
  details?: Record<string, unknown> | null;
}

const auditInsert = preparedQuery<Required<Insertable<AuditEventTable>>, never>((db, slot) =>
  db.insertInto('audit_events').values({
    id: slot('id'),
    account_id: slot('account_id'),
    type: slot('type'),
    actor_user_id: slot('actor_user_id'),
    actor_token_id: slot('actor_token_id'),
    subject_user_id: slot('subject_user_id'),
    ip: slot('ip'),
    user_agent: slot('user_agent'),
    reason: slot('reason'),
    details: slot('details'),
    created_at: slot('created_at'),
  }),
);

/** Writes an audit event, and, when it is one that webhooks hear, queues it for the
 * account's webhooks in the same transaction: the delivery exists exactly when the
 * action does. */
export async function appendAuditEvent(db: Kysely<Database>, entry: AuditEntry, now: number): Promise<void> {
  await auditInsert(db, {
    id: newId(),
    account_id: entry.accountId,
    type: entry.type,
    actor_user_id: entry.actorUserId ?? null,
    actor_token_id: entry.actorTokenId ?? null,
    subject_user_id: entry.subjectUserId ?? null,
    ip: entry.ip ?? null,
    user_agent: entry.userAgent?.slice(0, 512) ?? null,
    reason: entry.reason ?? null,
    details: entry.details ? JSON.stringify(entry.details) : null,
    created_at: now,
  });
  const event = webhookEventOf(entry.type, entry.details);
  if (event && entry.accountId) await queueAuditEventForWebhooks(db, { ...entry, accountId: entry.accountId }, event, now);
}

async function queueAuditEventForWebhooks(db: Kysely<Database>, entry: AuditEntry & { accountId: string }, event: WebhookEvent, now: number): Promise<void> {
  const webhooks = await webhooksListening(db, entry.accountId, event);
  if (webhooks.length === 0) return;
  const subjectId = entry.subjectUserId ?? null;
  const subject = subjectId ? await db.selectFrom('users').select(['id', 'email']).where('id', '=', subjectId).executeTakeFirst() : undefined;
  const fact = {
    accountId: entry.accountId,
    subject: subject ? { id: subject.id, email: subject.email } : null,
    actor: { userId: entry.actorUserId ?? null, tokenId: entry.actorTokenId ?? null },
    ip: entry.ip ?? null,
    reason: entry.reason ?? null,
    details: entry.details ?? null,
  };
  await queueWebhookEvent(db, { accountId: entry.accountId, type: event, body: webhookBody(event, fact, now), webhooks }, now);
}

export interface AuditQuery {
  accountId: string;
  userId?: string;
  type?: string;
  since?: number;
  until?: number;
  limit: number;
  before?: { createdAt: number; id: string };
}

export function listAuditEvents(db: Kysely<Database>, query: AuditQuery): Promise<AuditEvent[]> {
  let select = db.selectFrom('audit_events').selectAll().where('account_id', '=', query.accountId);
  if (query.userId) {
    const userId = query.userId;
    select = select.where((eb) => eb.or([eb('actor_user_id', '=', userId), eb('subject_user_id', '=', userId)]));
  }
  if (query.type) select = select.where('type', '=', query.type);
  if (query.since !== undefined) select = select.where('created_at', '>=', query.since);
  if (query.until !== undefined) select = select.where('created_at', '<=', query.until);
  if (query.before) {
    const { createdAt, id } = query.before;
    select = select.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]));
  }
  return select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
}
