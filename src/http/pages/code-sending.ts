// The pieces of a page that sends a code (texted or emailed): the send button with its
// cooldown, and what the person is told about a message that has not arrived.
import type { SmsDelivery } from '../../domain/sms-codes.js';
import { html, type Html } from '../html.js';

/** What the person is told about a text that has not arrived. */
export function deliveryNotice(delivery: SmsDelivery): Html {
  if (delivery === 'failed') {
    return html`<p class="notice notice-error" role="alert">We could not send a text. Try the app or a recovery code.</p>`;
  }
  if (delivery === 'retrying') {
    return html`<p class="notice notice-info" role="status">
      We have not managed to send the text yet and keep trying. Meanwhile you can use your authenticator app or a recovery code.
    </p>`;
  }
  return html``;
}

/** The "Text me a code" (or "Email me a code") / "Send again" button, counting down the cooldown (app.js). */
export function sendButton(input: { sent: boolean; resendAfterSeconds: number; channel?: 'sms' | 'email' }): Html {
  const label = input.sent ? 'Send again' : input.channel === 'email' ? 'Email me a code' : 'Text me a code';
  return html`<button type="submit" data-cooldown="${String(input.resendAfterSeconds)}" data-label="${label}">${label}</button>`;
}
