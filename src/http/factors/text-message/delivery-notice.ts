// What the person is told about a text that has not arrived (the passcode page and
// the number being verified).
import type { SmsDelivery } from '../../../domain/sms-codes.js';
import { html, type Html } from '../../html.js';

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
