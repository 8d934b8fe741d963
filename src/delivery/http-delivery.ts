// What SMS providers reached over HTTP have in common: which answers are worth
// retrying, and error texts that never carry a phone number or a code (they end up in
// the log and in the outbox row's last_error).
import { PermanentDeliveryError } from './senders.js';

/** 2xx is done. 408, 429 and 5xx are the provider's trouble: the worker retries with
 * backoff. Any other 4xx means the request itself is refused (a number that cannot be
 * texted, wrong credentials): retrying cannot help, and a code is useless after 10
 * minutes anyway, so the message fails at once and the person is told. */
export function failureFor(provider: string, status: number, detail: string | null): Error | null {
  if (status >= 200 && status < 300) return null;
  const text = `${provider} answered HTTP ${status}${detail ? ` (${detail})` : ''}`;
  if (status === 408 || status === 429 || status >= 500) return new Error(text);
  return new PermanentDeliveryError(text);
}

/** A network failure, without the URL (it may hold credentials) or the request. */
export function networkFailure(provider: string, error: unknown): Error {
  const cause = (error as { cause?: { code?: unknown } })?.cause?.code;
  const name =
    (error as Error)?.name === 'AbortError' || (error as Error)?.name === 'TimeoutError'
      ? 'no answer in time'
      : typeof cause === 'string'
        ? cause
        : 'network error';
  return new Error(`${provider} could not be reached: ${name}`);
}
