// A person's language and time zone, and their account's default language (DESIGN.md
// row 21, "Languages").
import { LANGUAGES, isTimeZone, parseLanguage, type Language } from '../domain/languages.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { isValidDisplayName, normalizeDisplayName } from '../domain/identity.js';
import { updateAccount } from '../store/accounts.js';
import { appendAuditEvent } from '../store/audit.js';
import { AccountUsers } from '../store/users.js';
import type { Account, User } from '../store/schema.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import type { SignedIn } from './sessions.js';

export interface Preferences {
  /** Null: the account's default, else the browser's. */
  language: Language | null;
  /** Null: UTC. */
  timeZone: string | null;
}

export function preferencesOf(user: Pick<User, 'language' | 'time_zone'>): Preferences {
  return { language: parseLanguage(user.language), timeZone: isTimeZone(user.time_zone) ? user.time_zone : null };
}

const LANGUAGE_MESSAGE = `The language must be one of ${LANGUAGES.join(', ')}, or null.`;
const LANGUAGE_DETAIL = { key: 'detail.languageChoiceOrNull', values: { languages: LANGUAGES.join(', ') } };

/** A language among ours, or null to clear the choice; undefined when the value is neither. */
function languageChange(value: unknown): Language | null | undefined {
  if (value === null || value === '') return null;
  return parseLanguage(value) ?? undefined;
}

export async function setPreferences(deps: ServiceDeps, signedIn: SignedIn, change: { language?: unknown; time_zone?: unknown }): Promise<Result<Preferences>> {
  const next = preferencesOf(signedIn.user);
  if (change.language !== undefined) {
    const language = languageChange(change.language);
    if (language === undefined) return fail('invalid_request', { field: 'language', message: LANGUAGE_MESSAGE, detail: LANGUAGE_DETAIL });
    next.language = language;
  }
  if (change.time_zone !== undefined) {
    if (change.time_zone !== null && change.time_zone !== '' && !isTimeZone(change.time_zone)) {
      return fail('invalid_request', { field: 'time_zone', message: 'The time zone must be an IANA name such as Europe/Berlin, or null.' });
    }
    next.timeZone = change.time_zone === '' ? null : (change.time_zone as string | null);
  }
  await new AccountUsers(deps.db, signedIn.account.id).update(signedIn.user.id, {
    language: next.language,
    time_zone: next.timeZone,
    updated_at: deps.now(),
  });
  return ok(next);
}

export interface AccountSettings {
  name: string;
  /** Null: each person's browser decides. */
  defaultLanguage: Language | null;
}

export function accountSettingsOf(account: Pick<Account, 'name' | 'default_language'>): AccountSettings {
  return { name: account.name, defaultLanguage: parseLanguage(account.default_language) };
}

/** An admin renames the account or sets its default language; audited. */
export async function updateAccountSettings(
  deps: ServiceDeps,
  admin: SignedIn,
  change: { name?: unknown; default_language?: unknown },
  context: RequestContext,
): Promise<Result<AccountSettings>> {
  if (admin.user.role !== 'admin' || admin.session.kind !== 'full') return fail('forbidden');
  const before = accountSettingsOf(admin.account);
  const next = { ...before };
  if (change.name !== undefined) {
    const name = typeof change.name === 'string' ? normalizeDisplayName(change.name) : '';
    if (!isValidDisplayName(name)) return fail('invalid_request', { field: 'name', message: 'The account name must be 1 to 100 characters.' });
    next.name = name;
  }
  if (change.default_language !== undefined) {
    const language = languageChange(change.default_language);
    if (language === undefined) return fail('invalid_request', { field: 'default_language', message: LANGUAGE_MESSAGE, detail: LANGUAGE_DETAIL });
    next.defaultLanguage = language;
  }
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    await updateAccount(trx, admin.account.id, { name: next.name, default_language: next.defaultLanguage, updated_at: now });
    await appendAuditEvent(
      trx,
      {
        accountId: admin.account.id,
        type: 'account_settings_changed',
        actorUserId: admin.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { before, after: next },
      },
      now,
    );
    return ok(next);
  });
}
