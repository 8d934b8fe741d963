// A sender delivers one outbox message to the outside world. Development keeps
// messages in the outbox table, readable at /dev/outbox.
import type { OutboxPayload } from '../store/outbox.js';

export interface Sender {
  /** Whether the payload stays readable after delivery (the development outbox). */
  readonly keepsPayload: boolean;
  send(payload: OutboxPayload): Promise<void>;
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
    throw new Error(`${this.what} is not configured`);
  }
}
