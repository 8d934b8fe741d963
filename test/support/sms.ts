// Helpers for text-message tests: the texts in the development outbox, the code in
// them, and a sender that counts what reaches "the provider".
import type { Delivery, Sender } from '../../src/delivery/senders.js';
import type { OutboxPayload } from '../../src/store/outbox.js';
import type { TestApp } from './harness.js';

/** The test clock stands still, and the outbox lists texts newest first by time: each
 * request that may text moves the clock on by 1 ms, so "the newest text" is well defined. */
export function tickBeforeTexts(app: TestApp): TestApp {
  const api = app.api.bind(app);
  app.api = (method, url, options) => {
    if (method === 'POST' && /\/(sms|sms\/send|sms\/resend)$/.test(url)) app.clock.advance(1);
    return api(method, url, options);
  };
  return app;
}

/** A distinct valid US number per call, so per-number quotas do not mix tests up. */
let next = 100;
export function freshUsNumber(): { national: string; e164: string; lastDigits: string } {
  const line = String(next++).padStart(4, '0');
  return { national: `(201) 555-${line}`, e164: `+1201555${line}`, lastDigits: line.slice(-2) };
}

export async function textsTo(app: TestApp, e164: string) {
  return (await app.outbox()).filter((m) => m.channel === 'sms' && m.to === e164);
}

/** The code of the newest text to a number. */
export async function latestCode(app: TestApp, e164: string): Promise<string> {
  const [newest] = await textsTo(app, e164);
  if (!newest) throw new Error(`no text to ${e164}`);
  const match = /^(\d{6}) is your /.exec(newest.body);
  if (!match) throw new Error(`no code in: ${newest.body}`);
  return match[1]!;
}

/** Stands in for the SMS provider: counts every text it is handed. */
export class CountingSmsSender implements Sender {
  readonly keepsPayload = true;
  readonly received: OutboxPayload[] = [];
  constructor(private readonly behaviour: (payload: OutboxPayload) => Promise<void> | void = () => {}) {}
  async send(payload: OutboxPayload, _delivery?: Delivery): Promise<void> {
    this.received.push(payload);
    await this.behaviour(payload);
  }
}
