// The development outbox: what would have been emailed or texted, read back for the
// /dev/outbox page, its JSON twin, `bin/tessera outbox` and the tests.
import type { OutboxMessage } from '../store/schema.js';
import { listMessages, readPayload, type OutboxPayload } from '../store/outbox.js';
import type { ServiceDeps } from './deps.js';

export type { OutboxPayload };

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
    const payload = readPayload(deps.keys, message);
    if (!payload) return [];
    return [
      {
        id: message.id,
        channel: message.channel,
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
export async function outboxMessages(deps: ServiceDeps, limit: number): Promise<{ message: OutboxMessage; payload: OutboxPayload | null }[]> {
  const messages = await listMessages(deps.db, limit);
  return messages.map((message) => {
    try {
      return { message, payload: readPayload(deps.keys, message) };
    } catch {
      return { message, payload: null };
    }
  });
}
