// A sender delivers one outbox message to the outside world. Development keeps
// messages in the outbox table, readable at /dev/outbox.
import type { OutboxPayload, OutboxPayloads } from '../store/outbox.js';
import type { OutboxChannel } from '../store/schema.js';

/** What the worker tells a sender about the message besides its content. */
export interface Delivery {
  /** The outbox row's id: the same on every attempt, so a retry is recognisable
   * (the SMTP sender puts it in the Message-ID header). */
  messageId: string;
  /** Aborted when the worker stops waiting for this attempt. */
  signal?: AbortSignal;
}

/** Takes an email or a text unless said otherwise. */
export interface Sender<Payload = OutboxPayload> {
  /** Whether the payload stays readable after delivery (the development outbox). */
  readonly keepsPayload: boolean;
  send(payload: Payload, delivery?: Delivery): Promise<void>;
  /** Releases connections, if the sender holds any. */
  close?(): Promise<void> | void;
}

/** One sender per channel, each taking that channel's payload. */
export type OutboxSenders = { [Channel in OutboxChannel]: Sender<OutboxPayloads[Channel]> };

/** A failure that retrying cannot fix: the worker marks the message failed at once. */
export class PermanentDeliveryError extends Error {
  override name = 'PermanentDeliveryError';
}

export class DevelopmentOutboxSender implements Sender {
  readonly keepsPayload = true;
  async send(): Promise<void> {}
}

/** The method is off (production without a provider): messages fail and stay visible to the operator. */
export class DisabledSender implements Sender {
  readonly keepsPayload = false;
  constructor(private readonly what: string) {}
  async send(): Promise<void> {
    throw new PermanentDeliveryError(`${this.what} is not configured`);
  }
}
