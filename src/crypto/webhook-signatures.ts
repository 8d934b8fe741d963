// Standard Webhooks signatures (standardwebhooks.com, "Signature scheme"): the secret
// is `whsec_` and base64 of random bytes; each delivery carries `webhook-id`,
// `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of
// "<id>.<timestamp>.<body>" under the decoded secret>`. Receivers verify it with any
// implementation of the specification; the tests use the `standardwebhooks` package.
import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

export function webhookSignature(secret: string, messageId: string, timestampInSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${messageId}.${timestampInSeconds}.${body}`).digest('base64')}`;
}
