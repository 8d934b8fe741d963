// Which sender texts: the one TESSERA_SMS_PROVIDER names. `outbox` keeps texts readable
// at /dev/outbox (the development default); `off` (the production default) fails each
// text at once, and the services refuse to send one in the first place.
import type { Config } from '../config.js';
import { DevelopmentOutboxSender, DisabledSender, type Sender } from './senders.js';
import { TwilioSender } from './twilio-sender.js';
import { WebhookSmsSender } from './webhook-sender.js';

export function chooseSmsSender(config: Pick<Config, 'smsProvider' | 'twilio' | 'smsWebhook'>): Sender {
  switch (config.smsProvider) {
    case 'outbox':
      return new DevelopmentOutboxSender();
    case 'twilio':
      return config.twilio ? new TwilioSender(config.twilio) : new DisabledSender('text messages (Twilio settings)');
    case 'webhook':
      return config.smsWebhook ? new WebhookSmsSender(config.smsWebhook) : new DisabledSender('text messages (TESSERA_SMS_WEBHOOK_URL)');
    case 'off':
      return new DisabledSender('text messages (TESSERA_SMS_PROVIDER)');
  }
}
