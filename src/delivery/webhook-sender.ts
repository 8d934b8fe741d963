// Sends text messages through the operator's own gateway: a POST of JSON
// {id, to, body} to TESSERA_SMS_WEBHOOK_URL, signed so the gateway knows it came from
// us and was not replayed:
//   X-Tessera-Timestamp: <Unix seconds>
//   X-Tessera-Signature: sha256=<hex HMAC-SHA-256 of "<timestamp>.<raw body>" under the secret>
// The gateway recomputes the HMAC over the raw bytes it received, compares in constant
// time and refuses timestamps more than a few minutes old (the Stripe/Slack scheme).
// `id` is the same on every retry, so the gateway can drop a duplicate.
import { createHmac } from 'node:crypto';
import type { SmsWebhookConfig } from '../config.js';
import type { OutboxPayload } from '../store/outbox.js';
import { failureFor, networkFailure } from './http-delivery.js';
import type { Delivery, Sender } from './senders.js';

export const SIGNATURE_HEADER = 'x-tessera-signature';
export const TIMESTAMP_HEADER = 'x-tessera-timestamp';

export function webhookSignature(secret: string, timestampInSeconds: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampInSeconds}.${rawBody}`).digest('hex')}`;
}

export class WebhookSmsSender implements Sender {
  readonly keepsPayload = false;

  constructor(
    private readonly webhook: SmsWebhookConfig,
    private readonly now: () => number = Date.now,
  ) {}

  async send(payload: OutboxPayload, delivery?: Delivery): Promise<void> {
    const body = JSON.stringify({ id: delivery?.messageId ?? null, to: payload.to, body: payload.text });
    const timestamp = String(Math.floor(this.now() / 1000));
    let response: Response;
    try {
      response = await fetch(this.webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: webhookSignature(this.webhook.secret, timestamp, body),
        },
        body,
        redirect: 'error',
        ...(delivery?.signal ? { signal: delivery.signal } : {}),
      });
    } catch (error) {
      throw networkFailure('The SMS webhook', error);
    }
    await response.body?.cancel().catch(() => {});
    const failure = failureFor('The SMS webhook', response.status, null);
    if (failure) throw failure;
  }
}
