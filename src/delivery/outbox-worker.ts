// Drains the outbox: claims due messages one at a time, hands each to its channel's
// sender, and retries failures with exponential backoff. Several workers (several
// server instances) may drain one database: a message is claimed by exactly one of
// them (src/store/outbox.ts, claimNextMessage).
//
// Delivery is at least once, never "at most once": a worker that sends a message and
// then cannot record it (the database went away at that instant) leaves the claim to
// run out, and the message goes again. Every other case sends once.
import type { Kysely } from 'kysely';
import type { KeyRing } from '../crypto/keys.js';
import type { Dialect } from '../store/database.js';
import type { Database, OutboxChannel, OutboxMessage } from '../store/schema.js';
import { claimNextMessage, markAttemptFailed, markSent, readPayload, type OutboxPayloads } from '../store/outbox.js';
import { PeriodicDrain } from './periodic-drain.js';
import { PermanentDeliveryError, type OutboxSenders, type Sender } from './senders.js';

const CLAIM_IN_MILLISECONDS = 60_000;
/** Well inside the claim: a send still running when its claim ran out could be taken
 * by another worker and go out twice. */
const SEND_TIMEOUT_IN_MILLISECONDS = 30_000;
/** 1 s, 2 s, 4 s … capped at 10 minutes: 20 attempts cover about two hours of outage. */
const MAX_ATTEMPTS = 20;
/** Bounds one drain, so a flood of new messages cannot keep it running for ever. */
const MESSAGES_PER_DRAIN = 500;

const MINUTE = 60_000;
/** A message whose code or link has expired is not worth sending late: a passcode
 * arriving after 10 minutes only confuses (the retries otherwise run for two hours). */
const MAX_AGE_BY_PURPOSE: Record<string, number> = {
  sms_sign_in_code: 10 * MINUTE,
  sms_enrolment_code: 10 * MINUTE,
  sms_confirmation_code: 10 * MINUTE,
  email_confirmation: 10 * MINUTE,
  password_reset: 60 * MINUTE,
};

export function backoffInMilliseconds(attempts: number): number {
  return Math.min(1000 * 2 ** (attempts - 1), 10 * 60_000);
}

export interface DeliveryFailure {
  id: string;
  channel: OutboxChannel;
  purpose: string;
  attempts: number;
  error: string;
  /** No more attempts: the message is marked failed. */
  gaveUp: boolean;
  nextAttemptAt: number | null;
}

export interface OutboxWorkerOptions {
  db: Kysely<Database>;
  keys: KeyRing;
  senders: OutboxSenders;
  now: () => number;
  /** Picks the claim statement (FOR UPDATE SKIP LOCKED on PostgreSQL); defaults to SQLite's. */
  dialect?: Dialect;
  intervalInMilliseconds?: number;
  sendTimeoutInMilliseconds?: number;
  /** A drain broke off (the database is unreachable); the next tick tries again. */
  onError?: (error: unknown) => void;
  /** One attempt at one message failed; the others carry on. */
  onDeliveryFailed?: (failure: DeliveryFailure) => void;
}

export class OutboxWorker extends PeriodicDrain {
  constructor(private readonly options: OutboxWorkerOptions) {
    super();
  }

  override start(): void {
    super.start(this.options.intervalInMilliseconds);
  }

  protected drainFailed(error: unknown): void {
    this.options.onError?.(error);
  }

  protected async drainOnce(): Promise<number> {
    const { db, now } = this.options;
    let sent = 0;
    for (let i = 0; i < MESSAGES_PER_DRAIN; i += 1) {
      // A failure here (database unreachable) ends this drain; the timer tries again.
      const message = await claimNextMessage(db, this.options.dialect ?? 'sqlite', now(), CLAIM_IN_MILLISECONDS);
      if (!message) break;
      try {
        if (await this.deliver(message)) sent += 1;
      } catch (error) {
        // Recording the outcome failed. The claim runs out and the message is tried
        // again; the rest of the queue does not wait for it.
        this.report(() => this.options.onError?.(error));
      }
    }
    return sent;
  }

  private async deliver(message: OutboxMessage): Promise<boolean> {
    const { db, keys, senders, now } = this.options;
    // Each channel's sender takes that channel's payload: enqueueMessage writes the
    // channel and the payload together (NewOutboxMessage), and readPayload reads them so.
    const sender: Sender<OutboxPayloads[OutboxChannel]> | undefined = senders[message.channel];
    try {
      if (!sender) throw new PermanentDeliveryError(`no sender for channel "${message.channel}"`);
      const maxAge = MAX_AGE_BY_PURPOSE[message.purpose];
      if (maxAge !== undefined && now() - message.created_at > maxAge) {
        throw new PermanentDeliveryError(`not sent: its code or link expired before it could be delivered`);
      }
      const payload = readPayload(keys, message);
      if (!payload) throw new PermanentDeliveryError('message has no payload');
      await this.withTimeout((signal) => sender.send(payload, { messageId: message.id, signal }));
    } catch (error) {
      await this.recordFailure(message, error);
      return false;
    }
    await markSent(db, message.id, now(), sender.keepsPayload);
    return true;
  }

  private async recordFailure(message: OutboxMessage, error: unknown): Promise<void> {
    const attempts = message.attempts + 1;
    const gaveUp = error instanceof PermanentDeliveryError || attempts >= MAX_ATTEMPTS;
    const nextAttemptAt = this.options.now() + backoffInMilliseconds(attempts);
    const text = error instanceof Error ? error.message : String(error);
    await markAttemptFailed(this.options.db, message.id, { attempts, nextAttemptAt, error: text, giveUp: gaveUp });
    this.report(() =>
      this.options.onDeliveryFailed?.({
        id: message.id,
        channel: message.channel,
        purpose: message.purpose,
        attempts,
        error: text,
        gaveUp,
        nextAttemptAt: gaveUp ? null : nextAttemptAt,
      }),
    );
  }

  /** Runs one send, giving up (and aborting it) after the send timeout. */
  private withTimeout(send: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const timeoutInMilliseconds = this.options.sendTimeoutInMilliseconds ?? SEND_TIMEOUT_IN_MILLISECONDS;
    const controller = new AbortController();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new Error(`no answer within ${timeoutInMilliseconds} ms`);
        controller.abort(error);
        reject(error);
      }, timeoutInMilliseconds);
      Promise.resolve()
        .then(() => send(controller.signal))
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });
  }
}
