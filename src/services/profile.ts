// What a person (or their admin) sees of their sign-in: role, account, 2FA state.
import type { Kysely } from 'kysely';
import { secondFactorMethods } from '../domain/sign-in-decision.js';
import type { Database, TwoFactorMethodType, User } from '../store/schema.js';
import { activeMethodTypesAndCodesLeft } from '../store/two-factor.js';
import { firstOfferedMethod } from './preferred-method.js';

export interface TwoFactorSummary {
  enabled: boolean;
  methods: TwoFactorMethodType[];
  preferred: TwoFactorMethodType | null;
  recoveryCodesLeft: number;
  lastUsedAt: number | null;
  /** Of the security keys, how many are passkeys (which sign in alone). */
  passkeys: number;
}

export async function twoFactorSummary(db: Kysely<Database>, user: User, now: number): Promise<TwoFactorSummary> {
  const active = await activeMethodTypesAndCodesLeft(db, user.id, now);
  const types = secondFactorMethods(active.types).filter((m): m is TwoFactorMethodType => m !== 'recovery_code');
  const enabled = user.two_factor_enabled === 1 && types.length > 0;
  return {
    enabled,
    methods: enabled ? types : [],
    preferred: enabled ? firstOfferedMethod(user.preferred_method, types) : null,
    recoveryCodesLeft: enabled ? active.recoveryCodesLeft : 0,
    lastUsedAt: user.last_passcode_used_at,
    passkeys: enabled ? active.passkeys : 0,
  };
}
