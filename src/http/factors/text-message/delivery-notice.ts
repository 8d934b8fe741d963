// What the person is told about a text that has not arrived (the passcode page and
// the number being verified).
import type { SmsDelivery } from '../../../domain/sms-codes.js';
import type { Translator } from '../../../i18n/translator.js';
import { html, type Html } from '../../html.js';

/** What the person is told about a text that has not arrived, in `t`'s language. */
export function deliveryNotice(delivery: SmsDelivery, t: Translator): Html {
  if (delivery === 'failed') {
    return html`<p class="notice notice-error" role="alert">${t.t('passcode.sms.failed')}</p>`;
  }
  if (delivery === 'retrying') {
    return html`<p class="notice notice-info" role="status">${t.t('passcode.sms.retrying')}</p>`;
  }
  return html``;
}
