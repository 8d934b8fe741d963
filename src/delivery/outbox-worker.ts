// Drains the outbox: claims due messages, hands each to its channel's sender, and
// retries failures with exponential backoff.
import type { Kysely } from 'kysely';
import type { KeyRing } from '../crypto/keys.js';
import type { Database, OutboxChannel } from '../store/schema.js';
import { claimMessage, findDueMessageIds, markAttemptFailed, markSent, readPayload } from '../store/outbox.js';
import type { Sender } from './senders.js';

const CLAIM_IN_MILLISECONDS = 60_000;
const MAX_ATTEMPTS = 8;

export function backoffInMilliseconds(attempts: number): number {
  return Math.min(1000 * 2 ** (attempts - 1), 10 * 60_000);
}

export interface OutboxWorkerOptions {
  db: Kysely<Database>;
  keys: KeyRing;
  senders: Record<OutboxChannel, Sender>;
  now: () => number;
  intervalInMilliseconds?: number;
  onError?: (error: unknown) => void;
}

export class OutboxWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(private readonly options: OutboxWorkerOptions) {}

  start(): void {
    if (this.timer) return;
    const interval = this.options.intervalInMilliseconds ?? 500;
    this.timer = setInterval(() => {
      void this.drain().catch((error) => this.options.onError?.(error));
    }, interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => 0);
  }

  /** Delivers every due message once; returns how many were sent. */
  drain(): Promise<number> {
    this.running ??= this.drainOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async drainOnce(): Promise<number> {
    const { db, keys, senders, now } = this.options;
    let sent = 0;
    for (const { id } of await findDueMessageIds(db, now(), 50)) {
      const message = await claimMessage(db, id, now(), CLAIM_IN_MILLISECONDS);
      if (!message) continue;
      const sender = senders[message.channel];
      try {
        const payload = readPayload(keys, message);
        if (!payload) throw new Error('message has no payload');
        await sender.send(payload);
        await markSent(db, id, now(), sender.keepsPayload);
        sent += 1;
      } catch (error) {
        const attempts = message.attempts + 1;
        await markAttemptFailed(db, id, {
          attempts,
          nextAttemptAt: now() + backoffInMilliseconds(attempts),
          error: error instanceof Error ? error.message : String(error),
          giveUp: attempts >= MAX_ATTEMPTS,
        });
      }
    }
    return sent;
  }
}
