// What the person is told about a text that has not arrived (the passcode page and
// the number being verified).
import type { SmsDelivery } from '../../../domain/sms-codes.js';
import { translatorFor, type Translator } from '../../../i18n/translator.js';
import { html, type Html } from '../../html.js';

/** What the person is told about a text that has not arrived, in `t`'s language (the
 * number's verification page is English for now). */
export function deliveryNotice(delivery: SmsDelivery, t: Translator = translatorFor('en')): Html {
  if (delivery === 'failed') {
    return html`<p class="notice notice-error" role="alert">${t.t('passcode.sms.failed')}</p>`;
  }
  if (delivery === 'retrying') {
    return html`<p class="notice notice-info" role="status">${t.t('passcode.sms.retrying')}</p>`;
  }
  return html``;
}
