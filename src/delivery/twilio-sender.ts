// Sends text messages through Twilio's Messages REST API over fetch (no SDK):
//   POST {apiBaseUrl}/2010-04-01/Accounts/{AccountSid}/Messages.json
// form fields To, Body and From or MessagingServiceSid, HTTP Basic auth
// AccountSid:AuthToken. Twilio answers 201 with the message resource.
import type { TwilioConfig } from '../config.js';
import type { OutboxPayload } from '../store/outbox.js';
import { failureFor, networkFailure } from './http-delivery.js';
import type { Delivery, Sender } from './senders.js';

export class TwilioSender implements Sender {
  /** A sent text's payload (number and code) is erased: a database dump holds neither. */
  readonly keepsPayload = false;
  private readonly url: string;
  private readonly authorization: string;

  constructor(private readonly twilio: TwilioConfig) {
    const base = twilio.apiBaseUrl.replace(/\/+$/, '');
    this.url = `${base}/2010-04-01/Accounts/${encodeURIComponent(twilio.accountSid)}/Messages.json`;
    this.authorization = `Basic ${Buffer.from(`${twilio.accountSid}:${twilio.authToken}`).toString('base64')}`;
  }

  async send(payload: OutboxPayload, delivery?: Delivery): Promise<void> {
    const form = new URLSearchParams({ To: payload.to, Body: payload.text });
    // A Messaging Service picks the sender number itself (and handles opt-outs and
    // country rules); otherwise the configured From number sends.
    if (this.twilio.messagingServiceSid) form.set('MessagingServiceSid', this.twilio.messagingServiceSid);
    else if (this.twilio.from) form.set('From', this.twilio.from);
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        redirect: 'error',
        ...(delivery?.signal ? { signal: delivery.signal } : {}),
      });
    } catch (error) {
      throw networkFailure('Twilio', error);
    }
    const failure = failureFor('Twilio', response.status, response.ok ? null : await twilioErrorCode(response));
    if (failure) throw failure;
    await response.body?.cancel().catch(() => {});
  }
}

/** Twilio's numeric error code (e.g. 21211, an invalid To number), never its message:
 * that one quotes the phone number. */
async function twilioErrorCode(response: Response): Promise<string | null> {
  try {
    const body = (await response.json()) as { code?: unknown };
    return typeof body.code === 'number' ? `Twilio error ${body.code}` : null;
  } catch {
    return null;
  }
}
