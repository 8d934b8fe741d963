// The development outbox: what would have been emailed or texted, read back for the
// /dev/outbox page, its JSON twin, `bin/tessera outbox` and the tests. The page also
// lists back-channel logout calls to apps.
import type { KeyRing } from '../crypto/keys.js';
import type { OutboxMessage } from '../store/schema.js';
import { isOnChannel, listMessages, readPayload, type BackchannelLogoutPayload, type OutboxPayload } from '../store/outbox.js';
import type { ServiceDeps } from './deps.js';

export type { BackchannelLogoutPayload, OutboxPayload };

/** A message's content, told apart by its channel. */
export type OutboxContent = { channel: 'email' | 'sms'; payload: OutboxPayload } | { channel: 'backchannel'; payload: BackchannelLogoutPayload };

function readContent(keys: KeyRing, message: OutboxMessage): OutboxContent | null {
  if (isOnChannel(message, 'backchannel')) {
    const payload = readPayload(keys, message);
    return payload && { channel: message.channel, payload };
  }
  if (isOnChannel(message, 'email') || isOnChannel(message, 'sms')) {
    const payload = readPayload(keys, message);
    return payload && { channel: message.channel, payload };
  }
  return null;
}

export interface OutboxEntry {
  id: string;
  channel: 'email' | 'sms';
  to: string;
  subject: string;
  body: string;
  html: string | null;
  purpose: string;
  status: string;
  created_at: string;
}

/** The newest messages whose content is still kept, newest first. */
export async function readOutbox(deps: ServiceDeps): Promise<OutboxEntry[]> {
  // A password reset's mail is written after its answer: show it once it is there.
  await deps.background.settle();
  const messages = await listMessages(deps.db, 200);
  return messages.flatMap((message) => {
    const content = readContent(deps.keys, message);
    if (!content || content.channel === 'backchannel') return [];
    const { payload } = content;
    return [
      {
        id: message.id,
        channel: content.channel,
        to: payload.to,
        subject: payload.subject,
        body: payload.text,
        html: payload.html ?? null,
        purpose: message.purpose,
        status: message.status,
        created_at: new Date(message.created_at).toISOString(),
      },
    ];
  });
}

/** The newest messages with their content where it can be read: a message sealed under a
 * key that is gone, or erased once sent, still shows its status. */
export async function outboxMessages(deps: ServiceDeps, limit: number): Promise<{ message: OutboxMessage; content: OutboxContent | null }[]> {
  const messages = await listMessages(deps.db, limit);
  return messages.map((message) => {
    try {
      return { message, content: readContent(deps.keys, message) };
    } catch {
      return { message, content: null };
    }
  });
}
