// Drains the webhooks' deliveries (DESIGN.md, Automation): claims due deliveries, a few
// in flight at once (any number of workers, each delivery claimed by one: store/webhooks.ts),
// signs each per the Standard Webhooks specification and POSTs it through the guarded
// client (outbound.ts: never to a private or loopback address the operator did not
// allow, never following a redirect). A 2xx answer delivers; anything else is tried
// again with backoff for a day, then given up.
//
// Delivery is at least once: a worker killed between the receiver's answer and the
// record of it leaves its claim to run out, and the delivery goes again, with the same
// `webhook-id`, which receivers use to drop a repeat (the specification's advice).
import type { Kysely } from 'kysely';
import { webhookSignature } from '../crypto/webhook-signatures.js';
import { WEBHOOK_RETRY_WINDOW_IN_MILLISECONDS, webhookRetryDelay } from '../domain/automation.js';
import type { Dialect } from '../store/database.js';
import type { Database, WebhookDelivery } from '../store/schema.js';
import { claimNextDelivery, clearWebhookFailing, markDelivered, markDeliveryFailed, markDeliveryHeld, pruneFinishedDeliveries } from '../store/webhooks.js';
import { OutboundError, type OutboundClient } from './outbound.js';
import { PeriodicDrain } from './periodic-drain.js';

const CLAIM_IN_MILLISECONDS = 60_000;
const DELIVERIES_PER_DRAIN = 500;
/** Finished deliveries stay listed for admins this long, then are forgotten (checked
 * hourly), so the table does not grow for ever. */
export const WEBHOOK_DELIVERIES_KEPT_FOR_MILLISECONDS = 30 * 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MILLISECONDS = 60 * 60 * 1000;
/** Deliveries in flight at once per worker: a receiver that never answers holds one
 * lane for its timeout (10 s), not the whole queue of every account. */
export const WEBHOOK_LANES = 4;

/** Where a webhook's deliveries go, read at each delivery so a change holds at once. */
export interface WebhookEndpoint {
  url: string;
  secret: string;
  active: boolean;
  /** Its deliveries have been failing (failing_since is set): a success ends that. */
  failing: boolean;
}

export interface WebhookWorkerOptions {
  db: Kysely<Database>;
  dialect: Dialect;
  client: OutboundClient;
  now: () => number;
  endpointOf: (webhookId: string) => Promise<WebhookEndpoint | null>;
  /** A delivery failed (the webhook may be paused by it). */
  onWebhookFailing: (webhookId: string, error: string) => Promise<unknown>;
  intervalInMilliseconds?: number;
  claimInMilliseconds?: number;
  onError?: (error: unknown) => void;
}

type Outcome =
  | { delivered: true; status: number; endedFailing: boolean }
  | { delivered: false; held: true }
  | { delivered: false; held?: false; status: number | null; error: string; retry: boolean };

export class WebhookWorker extends PeriodicDrain {
  constructor(private readonly options: WebhookWorkerOptions) {
    super();
  }

  override start(): void {
    super.start(this.options.intervalInMilliseconds);
  }

  protected drainFailed(error: unknown): void {
    this.options.onError?.(error);
  }

  private lastPrunedAt = Number.NEGATIVE_INFINITY;

  protected async drainOnce(): Promise<number> {
    const { db, dialect, now } = this.options;
    if (now() - this.lastPrunedAt >= PRUNE_EVERY_MILLISECONDS) {
      this.lastPrunedAt = now();
      await pruneFinishedDeliveries(db, now() - WEBHOOK_DELIVERIES_KEPT_FOR_MILLISECONDS);
    }
    let claimed = 0;
    let delivered = 0;
    const lane = async () => {
      while (claimed < DELIVERIES_PER_DRAIN) {
        claimed += 1;
        const delivery = await claimNextDelivery(db, dialect, now(), this.options.claimInMilliseconds ?? CLAIM_IN_MILLISECONDS);
        if (!delivery) return;
        try {
          if (await this.deliver(delivery)) delivered += 1;
        } catch (error) {
          // Recording the outcome failed: the claim runs out and the delivery goes again.
          this.options.onError?.(error);
        }
      }
    };
    // A lane that fails to claim (the database is gone) ends this drain; the timer tries again.
    await Promise.all(Array.from({ length: WEBHOOK_LANES }, lane));
    return delivered;
  }

  private async deliver(delivery: WebhookDelivery): Promise<boolean> {
    const { db, now } = this.options;
    const claim = delivery.claimed_until;
    const outcome = await this.attempt(delivery);
    if (outcome.delivered) {
      await markDelivered(db, delivery.id, claim, outcome.status, now());
      // Only a webhook that was failing has a run of failures to end: no write otherwise.
      if (outcome.endedFailing) await clearWebhookFailing(db, delivery.webhook_id);
      return true;
    }
    if (outcome.held) {
      await markDeliveryHeld(db, delivery.id, claim);
      return false;
    }
    const attempts = delivery.attempts + 1;
    const at = now();
    const giveUp = !outcome.retry || at - delivery.created_at >= WEBHOOK_RETRY_WINDOW_IN_MILLISECONDS;
    await markDeliveryFailed(db, delivery.id, claim, {
      attempts,
      responseStatus: outcome.status,
      error: outcome.error,
      nextAttemptAt: at + webhookRetryDelay(attempts),
      giveUp,
    });
    if (outcome.retry) await this.options.onWebhookFailing(delivery.webhook_id, outcome.error);
    return false;
  }

  private async attempt(delivery: WebhookDelivery): Promise<Outcome> {
    const endpoint = await this.options.endpointOf(delivery.webhook_id);
    if (!endpoint) return { delivered: false, status: null, error: 'the webhook was removed', retry: false };
    if (!endpoint.active) return { delivered: false, held: true };
    const timestamp = Math.floor(this.options.now() / 1000);
    try {
      const { status } = await this.options.client.request(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Tessera-Webhooks',
          'webhook-id': delivery.event_id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': webhookSignature(endpoint.secret, delivery.event_id, timestamp, delivery.payload),
        },
        body: delivery.payload,
        discardBody: true,
      });
      if (status >= 200 && status < 300) return { delivered: true, status, endedFailing: endpoint.failing };
      return { delivered: false, status, error: `${new URL(endpoint.url).host} answered ${status}`, retry: true };
    } catch (error) {
      const message =
        error instanceof OutboundError ? error.message : `${new URL(endpoint.url).host}: ${error instanceof Error ? error.message : String(error)}`;
      return { delivered: false, status: null, error: message, retry: true };
    }
  }
}
