// A person with several methods (security key, app, text messages) picks which one
// the passcode page offers first (and whether it texts a code by itself). Not a sensitive action: it
// adds and removes nothing, so no confirmation is asked.
import { fail, ok, type Result } from '../domain/failures.js';
import { appendAuditEvent } from '../store/audit.js';
import type { TwoFactorMethodType } from '../store/schema.js';
import { listActiveFactorTypes } from '../store/two-factor.js';
import { AccountUsers } from '../store/users.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import type { SignedIn } from './sessions.js';

/** The method offered first: the person's preferred one while it is among those
 * offered, else the first offered (DESIGN.md row 2: "with one preferred"). */
export function firstOfferedMethod<Method extends string>(preferred: TwoFactorMethodType | null, offered: readonly Method[]): Method | null {
  return offered.find((method) => method === preferred) ?? offered[0] ?? null;
}

export async function setPreferredMethod(
  deps: ServiceDeps,
  signedIn: SignedIn,
  method: unknown,
  context: RequestContext,
): Promise<Result<TwoFactorMethodType>> {
  if (signedIn.user.two_factor_enabled !== 1) return fail('two_factor_not_enabled');
  return deps.db.transaction().execute(async (trx): Promise<Result<TwoFactorMethodType>> => {
    const types = await listActiveFactorTypes(trx, signedIn.user);
    const chosen = types.find((type) => type === method);
    if (!chosen)
      return fail('invalid_request', {
        field: 'method',
        message: `The preferred method must be one of yours: ${types.join(', ')}.`,
        detail: { key: 'detail.preferredMethodChoice', values: { methods: types.join(', ') } },
      });
    const now = deps.now();
    await new AccountUsers(trx, signedIn.account.id).update(signedIn.user.id, { preferred_method: chosen, updated_at: now });
    await appendAuditEvent(
      trx,
      {
        accountId: signedIn.account.id,
        type: 'two_factor_preferred_changed',
        actorUserId: signedIn.user.id,
        subjectUserId: signedIn.user.id,
        ip: context.ip,
        userAgent: context.userAgent,
        details: { method: chosen },
      },
      now,
    );
    return ok(chosen);
  });
}
