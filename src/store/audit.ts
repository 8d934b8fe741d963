// Append-only: this module inserts and reads audit events; nothing updates or deletes them.
import type { Insertable, Kysely } from 'kysely';
import { newId } from '../crypto/tokens.js';
import { preparedQuery } from './prepared.js';
import type { AuditEvent, AuditEventTable, Database } from './schema.js';

export interface AuditEntry {
  accountId: string | null;
  type: string;
  actorUserId?: string | null;
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
    subject_user_id: slot('subject_user_id'),
    ip: slot('ip'),
    user_agent: slot('user_agent'),
    reason: slot('reason'),
    details: slot('details'),
    created_at: slot('created_at'),
  }),
);

export async function appendAuditEvent(db: Kysely<Database>, entry: AuditEntry, now: number): Promise<void> {
  await auditInsert(db, {
    id: newId(),
    account_id: entry.accountId,
    type: entry.type,
    actor_user_id: entry.actorUserId ?? null,
    subject_user_id: entry.subjectUserId ?? null,
    ip: entry.ip ?? null,
    user_agent: entry.userAgent?.slice(0, 512) ?? null,
    reason: entry.reason ?? null,
    details: entry.details ? JSON.stringify(entry.details) : null,
    created_at: now,
  });
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
