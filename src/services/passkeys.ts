// Signing in with a passkey alone (DESIGN.md row 18): a discoverable credential with
// user verification proves the device and the PIN or fingerprint that unlocks it, and
// cannot be phished; the sign-in flow counts it as both factors (`amr` hwk, user, mfa;
// `acr` phishing-resistant). The ceremony starts before anyone is known: the flow holds
// its challenge, and the credential the browser picks names the person.
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { issueToken, parseToken, secretMatches } from '../crypto/tokens.js';
import { fail, ok, type Result } from '../domain/failures.js';
import { limitKeyForAddress } from '../domain/network.js';
import { findAccountById } from '../store/accounts.js';
import { insertFlow, takePasskeyChallenge, findFlow } from '../store/sign-in-flows.js';
import { findCredential } from '../store/webauthn.js';
import { findUserById } from '../store/users.js';
import type { RequestContext, ServiceDeps } from './deps.js';
import { underAddressLimit } from './address-limit.js';
import { checkAssertion, credentialJson, relyingParty, simpleWebAuthn } from './factors/security-key.js';
import { countCodeFailure, lockUserRow, passcodeLock } from './second-factor.js';
import { finishPasskeyFlow, type SignInOutcome } from './sign-in-flow.js';

/** A touch takes seconds; five minutes covers a slow unlock. */
const PASSKEY_CEREMONY_IN_MILLISECONDS = 5 * 60 * 1000;

export interface PasskeySignInStart {
  flowToken: string;
  options: PublicKeyCredentialRequestOptionsJSON;
}

/** Step 1: a flow waiting for a passkey, and the browser's options (no credential list:
 * the browser offers the person's passkeys for this site). `accountId` fixes the
 * account (an app of that account asked). */
export async function startPasskeySignIn(
  deps: ServiceDeps,
  input: { accountId?: string | null; returnTo?: string | null },
  context: RequestContext,
): Promise<Result<PasskeySignInStart>> {
  const rp = relyingParty(deps.config);
  if (!rp) return fail('webauthn_unavailable');
  const started = await deps.limits.passkeyStartsByAddress.hit(limitKeyForAddress(context.ip));
  if (!started.allowed) return fail('rate_limited', { retryAfterSeconds: started.retryAfterSeconds });
  const { generateAuthenticationOptions } = await simpleWebAuthn();
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    userVerification: 'required',
    timeout: PASSKEY_CEREMONY_IN_MILLISECONDS,
    allowCredentials: [],
  });
  const flow = issueToken();
  const now = deps.now();
  await insertFlow(deps.db, {
    id: flow.id,
    accountId: input.accountId ?? null,
    userId: null,
    secretHash: flow.secretHash,
    state: 'passkey',
    proofs: '[]',
    returnTo: input.returnTo ?? null,
    requiredAcr: null,
    maxAgeSeconds: null,
    promptLogin: false,
    now,
    expiresAt: now + PASSKEY_CEREMONY_IN_MILLISECONDS,
    ip: context.ip,
    userAgent: context.userAgent,
    passkeyChallenge: options.challenge,
  });
  return ok({ flowToken: flow.token, options });
}

const NOT_SIGNED_IN = 'That passkey could not sign you in. Try again, or sign in with your email and password.';

/** What the person's own user handle looks like in an assertion: their opaque id. */
function userHandleOf(userId: string): string {
  return Buffer.from(userId, 'utf8').toString('base64url');
}

/** Step 2: the browser's assertion. Only a credential added as a passkey, of a person
 * still in, whose account allows it (and, when fixed, is the flow's), signs in alone;
 * a passkey that only proved presence is sent to the password. */
export async function finishPasskeySignIn(
  deps: ServiceDeps,
  input: { flowToken: unknown; credential: unknown },
  context: RequestContext,
): Promise<Result<SignInOutcome>> {
  const parsed = parseToken(input.flowToken);
  if (!parsed) return fail('invalid_challenge');
  const credential = credentialJson(input.credential);
  return underAddressLimit(deps, context, () =>
    deps.db.transaction().execute(async (trx): Promise<Result<SignInOutcome>> => {
      const now = deps.now();
      const flow = await findFlow(trx, parsed.id);
      if (!flow || !secretMatches(parsed.secret, flow.secret_hash) || flow.state !== 'passkey' || flow.expires_at <= now) return fail('invalid_challenge');
      // The challenge is used up first: a replayed or failed assertion gets no second try.
      const challenge = await takePasskeyChallenge(trx, flow.id);
      if (!challenge) return fail('invalid_challenge');
      if (!credential) return fail('invalid_code', { message: NOT_SIGNED_IN });
      const key = await findCredential(trx, credential.id as string);
      if (!key || key.type !== 'webauthn' || key.status !== 'active' || key.webauthn_passkey !== 1) return fail('invalid_code', { message: NOT_SIGNED_IN });
      const found = await findUserById(trx, key.user_id);
      const user = found && found.account_id === key.account_id ? await lockUserRow(trx, deps, found) : undefined;
      const account = user ? await findAccountById(trx, user.account_id) : undefined;
      if (!user || !account || user.suspended_at !== null) return fail('invalid_code', { message: NOT_SIGNED_IN });
      if (flow.account_id !== null && flow.account_id !== account.id) return fail('invalid_code', { message: NOT_SIGNED_IN });
      if (account.passkey_sign_in !== 1) {
        return fail('invalid_code', {
          message: `${account.name} does not allow signing in with a passkey alone. Sign in with your email and password.`,
          detail: { key: 'detail.passkeySignInOff', values: { account: account.name } },
        });
      }
      const response = credential.response as Record<string, unknown>;
      if (response.userHandle !== userHandleOf(user.id)) return fail('invalid_code', { message: NOT_SIGNED_IN });
      const locked = passcodeLock(user, now);
      if (locked) return locked;
      const checked = await checkAssertion(trx, deps, { user, key, credential, expectedChallenge: challenge, context });
      if (checked === 'wrong') return countCodeFailure(trx, deps, user, 'passkey', context, NOT_SIGNED_IN);
      if (checked === 'refused') return fail('invalid_code', { message: NOT_SIGNED_IN });
      if (!checked.userVerified) {
        return fail('passkey_not_verified', {
          message: 'Your passkey did not check your PIN, fingerprint or face, so it cannot sign you in alone. Sign in with your email and password.',
        });
      }
      return finishPasskeyFlow(trx, deps, { flow, account, user, context });
    }),
  );
}

export { userHandleOf };
