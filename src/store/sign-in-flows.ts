// Sign-in flows: one row per sign-in, from its first proof to its session. The client
// holds `id.secret` (the API's `challenge_token`, the passcode page's cookie); only
// SHA-256(secret) is stored. Each step is taken by one conditional update, so of two
// requests finishing the same flow exactly one does.
import { sql, type Kysely } from 'kysely';
import { FLOW_COLUMNS } from './columns.js';
import { ownedRowReader } from './joined-rows.js';
import { preparedQuery } from './prepared.js';
import type { UserRef } from './users.js';
import type { Database, FlowState, SignInFlow } from './schema.js';

export interface NewFlow {
  id: string;
  accountId: string | null;
  userId: string | null;
  secretHash: string;
  state: FlowState;
  /** JSON of the proofs given so far. */
  proofs: string;
  returnTo: string | null;
  requiredAcr: string | null;
  maxAgeSeconds: number | null;
  promptLogin: boolean;
  now: number;
  expiresAt: number;
  ip: string | null;
  userAgent: string | null;
  /** A passkey sign-in's challenge (state passkey). */
  passkeyChallenge?: string | null;
}

export async function insertFlow(db: Kysely<Database>, flow: NewFlow): Promise<void> {
  const done = flow.state === 'done';
  await db
    .insertInto('sign_in_flows')
    .values({
      id: flow.id,
      account_id: flow.accountId,
      user_id: flow.userId,
      secret_hash: flow.secretHash,
      state: flow.state,
      proofs: flow.proofs,
      return_to: flow.returnTo,
      required_acr: flow.requiredAcr,
      max_age_seconds: flow.maxAgeSeconds,
      prompt_login: flow.promptLogin ? 1 : 0,
      attempts: 0,
      created_at: flow.now,
      expires_at: flow.expiresAt,
      completed_at: done ? flow.now : null,
      ip: flow.ip,
      user_agent: flow.userAgent?.slice(0, 512) ?? null,
      passkey_challenge: flow.passkeyChallenge ?? null,
    })
    .execute();
}

/** A passkey sign-in's challenge, used up by this call: of two requests checking
 * assertions against one flow, one gets it. */
export async function takePasskeyChallenge(db: Kysely<Database>, id: string): Promise<string | null> {
  const row = await db.selectFrom('sign_in_flows').select('passkey_challenge').where('id', '=', id).executeTakeFirst();
  const challenge = row?.passkey_challenge ?? null;
  if (challenge === null) return null;
  const taken = await db
    .updateTable('sign_in_flows')
    .set({ passkey_challenge: null })
    .where('id', '=', id)
    .where('passkey_challenge', '=', challenge)
    .executeTakeFirst();
  return Number(taken.numUpdatedRows) === 1 ? challenge : null;
}

/** Names the person and account of a passkey sign-in and records its outcome, once. */
export async function settlePasskeyFlow(
  db: Kysely<Database>,
  input: { id: string; accountId: string; userId: string; to: FlowState; proofs: string; now: number; expiresAt: number },
): Promise<boolean> {
  const result = await db
    .updateTable('sign_in_flows')
    .set({
      account_id: input.accountId,
      user_id: input.userId,
      state: input.to,
      proofs: input.proofs,
      expires_at: input.expiresAt,
      completed_at: input.to === 'done' ? input.now : null,
    })
    .where('id', '=', input.id)
    .where('state', '=', 'passkey')
    .where((eb) => eb.or([eb('account_id', 'is', null), eb('account_id', '=', input.accountId)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export function findFlow(db: Kysely<Database>, id: string): Promise<SignInFlow | undefined> {
  return db.selectFrom('sign_in_flows').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The flow with its person and account, in one read (the second step of sign-in opens
 * one on every request). */
export const findFlowWithOwner = ownedRowReader<SignInFlow>('sign_in_flows', 'f', FLOW_COLUMNS);

/** The same, with the person's row locked for the rest of the transaction (the second
 * step counts a wrong code or takes the flow under that lock). */
export const findFlowWithLockedOwner = ownedRowReader<SignInFlow>('sign_in_flows', 'f', FLOW_COLUMNS, { lockOwner: true });

/**
 * Takes a flow from one state to the next, with the proofs it now holds, once: the
 * update applies only while the flow is still in `from` and unexpired, so exactly one
 * of several parallel requests moves it. `expiresAt` replaces the expiry when given
 * (a flow waiting for an enrolment lives as long as the setup-only session).
 */
export async function advanceFlow(
  db: Kysely<Database>,
  input: { id: string; from: FlowState; to: FlowState; proofs: string; now: number; expiresAt?: number },
): Promise<boolean> {
  const result = await flowAdvance(db, {
    id: input.id,
    from: input.from,
    to: input.to,
    proofs: input.proofs,
    now: input.now,
    completedAt: input.to === 'done' ? input.now : null,
    expiresAt: input.expiresAt ?? null,
  });
  return Number(result.numAffectedRows) === 1;
}

/** The second step of every sign-in runs it: built once (prepared.ts). */
const flowAdvance = preparedQuery<
  { id: string; from: FlowState; to: FlowState; proofs: string; now: number; completedAt: number | null; expiresAt: number | null },
  never
>((db, slot) =>
  db
    .updateTable('sign_in_flows')
    .set({
      state: slot('to'),
      proofs: slot('proofs'),
      completed_at: sql<number | null>`coalesce(${slot('completedAt')}, completed_at)`,
      expires_at: sql<number>`coalesce(${slot('expiresAt')}, expires_at)`,
    })
    .where('id', '=', slot('id'))
    .where('state', '=', slot('from'))
    .where('expires_at', '>', slot('now')),
);

/** Counts a wrong code on the flow and locks it at the limit; returns the new count. */
export async function countFlowFailure(db: Kysely<Database>, id: string, limit: number): Promise<number> {
  const row = await db
    .updateTable('sign_in_flows')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('id', '=', id)
    .returning('attempts')
    .executeTakeFirst();
  const attempts = row?.attempts ?? limit;
  if (attempts >= limit) {
    await db.updateTable('sign_in_flows').set({ state: 'locked' }).where('id', '=', id).where('state', '=', 'second_factor').execute();
  }
  return attempts;
}

/** Ends a person's unfinished flows: a finished sign-in, a password change, a suspension
 * or an admin's help leaves none of them open. */
export async function expireUserFlows(db: Kysely<Database>, user: UserRef): Promise<void> {
  await db
    .updateTable('sign_in_flows')
    .set({ state: 'expired' })
    .where('account_id', '=', user.account_id)
    .where('user_id', '=', user.id)
    .where('state', 'in', ['second_factor', 'enrolment'])
    .execute();
}
