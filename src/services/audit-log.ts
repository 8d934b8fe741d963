// The account's audit log as admins read it: filtered, paged, exported.
import { parseFilterTime } from '../domain/dates.js';
import { ok, type Result } from '../domain/failures.js';
import { normalizeEmail } from '../domain/identity.js';
import { listAccountApiTokens } from '../store/api-tokens.js';
import { listAuditEvents } from '../store/audit.js';
import type { AuditEvent } from '../store/schema.js';
import { AccountUsers } from '../store/users.js';
import type { ServiceDeps } from './deps.js';
import type { AdminActor } from './admin-actor.js';

export interface AuditFilter {
  /** A person's id or email. */
  user?: string;
  type?: string;
  since?: string;
  until?: string;
}

export interface AuditEntryView {
  id: string;
  type: string;
  at: number;
  actor: { id: string; email: string } | null;
  /** The API token the actor acted through. */
  apiToken: { id: string; name: string } | null;
  subject: { id: string; email: string } | null;
  ip: string | null;
  userAgent: string | null;
  reason: string | null;
  details: Record<string, unknown> | null;
}

export async function readAuditLog(
  deps: ServiceDeps,
  admin: Pick<AdminActor, 'account'>,
  filter: AuditFilter,
  page: { limit: number; before: { createdAt: number; id: string } | null },
): Promise<Result<AuditEntryView[]>> {
  const since = parseFilterTime(filter.since, 'since');
  if (!since.ok) return since;
  const until = parseFilterTime(filter.until, 'until');
  if (!until.ok) return until;
  // A bare date as "until" means the whole of that day.
  const untilValue = until.value !== undefined && /^\d{4}-\d\d-\d\d$/.test(filter.until ?? '') ? until.value + 24 * 60 * 60 * 1000 - 1 : until.value;
  const users = new AccountUsers(deps.db, admin.account.id);
  let userId: string | undefined;
  if (filter.user) {
    const person = filter.user.includes('@') ? await users.findByEmail(normalizeEmail(filter.user)) : await users.findById(filter.user);
    if (!person) return ok([]);
    userId = person.id;
  }
  const events = await listAuditEvents(deps.db, {
    accountId: admin.account.id,
    userId,
    type: filter.type || undefined,
    since: since.value,
    until: untilValue,
    limit: page.limit,
    before: page.before ?? undefined,
  });
  const emails = new Map((await users.list()).map((u) => [u.id, u.email]));
  const person = (id: string | null) => (id ? { id, email: emails.get(id) ?? '(deleted)' } : null);
  const tokenNames = new Map((await listAccountApiTokens(deps.db, admin.account.id)).map((token) => [token.id, token.name]));
  const apiToken = (id: string | null) => (id ? { id, name: tokenNames.get(id) ?? '(deleted)' } : null);
  return ok(
    events.map((event: AuditEvent) => ({
      id: event.id,
      type: event.type,
      at: event.created_at,
      actor: person(event.actor_user_id),
      apiToken: apiToken(event.actor_token_id),
      subject: person(event.subject_user_id),
      ip: event.ip,
      userAgent: event.user_agent,
      reason: event.reason,
      details: event.details ? (JSON.parse(event.details) as Record<string, unknown>) : null,
    })),
  );
}

function csvField(value: string): string {
  // Quote every field, and defuse spreadsheet formulas (OWASP CSV injection).
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return `"${safe.replace(/"/g, '""')}"`;
}

export function toCsv(header: string[], rows: string[][]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function auditCsv(entries: AuditEntryView[]): string {
  return toCsv(
    // New columns go last, so spreadsheets and scripts that read these keep working.
    ['time', 'type', 'actor', 'subject', 'ip', 'browser', 'reason', 'details', 'api_token'],
    entries.map((e) => [
      new Date(e.at).toISOString(),
      e.type,
      e.actor?.email ?? '',
      e.subject?.email ?? '',
      e.ip ?? '',
      e.userAgent ?? '',
      e.reason ?? '',
      e.details ? JSON.stringify(e.details) : '',
      e.apiToken?.name ?? '',
    ]),
  );
}

/** The 2FA overview as a spreadsheet (DESIGN.md row 10). */
export function peopleCsv(
  rows: {
    email: string;
    name: string;
    role: string;
    suspended: boolean;
    enabled: boolean;
    methods: string[];
    lastUsedAt: number | null;
    recoveryCodesLeft: number;
    passkeys: number;
  }[],
): string {
  // New columns go last, so spreadsheets and scripts that read these keep working.
  return toCsv(
    ['email', 'name', 'role', 'suspended', 'two_factor', 'methods', 'last_passcode_at', 'recovery_codes_left', 'passkeys'],
    rows.map((r) => [
      r.email,
      r.name,
      r.role,
      r.suspended ? 'yes' : 'no',
      r.enabled ? 'on' : 'off',
      r.methods.join(' '),
      r.lastUsedAt === null ? '' : new Date(r.lastUsedAt).toISOString(),
      r.enabled ? String(r.recoveryCodesLeft) : '',
      r.enabled ? String(r.passkeys) : '',
    ]),
  );
}
