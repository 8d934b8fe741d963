import type { FastifyInstance } from 'fastify';
import type { OutboxMessage } from '../../store/schema.js';
import { outboxMessages, type BackchannelLogoutPayload, type OutboxContent } from '../../services/dev-outbox.js';
import type { Translator } from '../../i18n/translator.js';
import { html, type Html } from '../html.js';
import type { PageKit } from './kit.js';

const MESSAGES_SHOWN = 200;

/** A moment as the outbox keeps it: ISO 8601 in UTC, the same in every language. */
function utc(milliseconds: number): Html {
  const iso = new Date(milliseconds).toISOString();
  return html`<time datetime="${iso}">${`${iso.replace('T', ' ').slice(0, 19)} UTC`}</time>`;
}

const strong = (chunks: (string | Html)[]): Html => html`<strong>${chunks}</strong>`;
const code = (chunks: (string | Html)[]): Html => html`<code>${chunks}</code>`;

/** The text part as it reads in a mail client, with links to this server clickable
 * (invitation and reset links are what a developer wants to follow). */
function textWithLinks(text: string, baseUrl: string): Html {
  const parts: (Html | string)[] = [];
  let last = 0;
  for (const match of text.matchAll(/https?:\/\/[^\s<>"]+?(?=[.,;:!?)]*(?:\s|$))/g)) {
    const url = match[0];
    const at = match.index ?? 0;
    parts.push(text.slice(last, at));
    parts.push(url.startsWith(`${baseUrl}/`) ? html`<a href="${url}">${url}</a>` : url);
    last = at + url.length;
  }
  parts.push(text.slice(last));
  return html`${parts}`;
}

function status(t: Translator, message: OutboxMessage): Html {
  const count = message.attempts;
  switch (message.status) {
    case 'sent':
      return html`<span class="badge badge-on">${t.t('devOutbox.sent')}</span>${message.sent_at === null ? '' : html` ${utc(message.sent_at)}`}`;
    case 'failed':
      return html`<span class="badge badge-off">${t.t('devOutbox.failed')}</span> ${t.t('devOutbox.failedAfter', { count })}`;
    case 'pending':
      return count === 0
        ? html`<span class="badge">${t.t('devOutbox.waiting')}</span>`
        : html`<span class="badge">${t.t('devOutbox.retrying')}</span> ${t.parts<Html>('devOutbox.retryingDetail', { count }, { next: () => utc(message.next_attempt_at) })}`;
  }
}

function lastError(t: Translator, message: OutboxMessage): Html | '' {
  return message.last_error ? html`<p class="error">${t.t('devOutbox.lastError', { error: message.last_error })}</p>` : '';
}

function renderLogout(t: Translator, message: OutboxMessage, payload: BackchannelLogoutPayload | null): Html {
  return html`<li class="card">
  <h2 class="subject">${t.t('devOutbox.logout.heading')}</h2>
  <p class="meta"><span class="badge">${t.t('devOutbox.logout.badge')}</span> ${
    payload
      ? t.parts<Html>('devOutbox.logout.to', { app: payload.client_id, uri: payload.uri }, { strong })
      : html`<span class="muted">${t.t('devOutbox.logout.appErased')}</span>`
  } · ${utc(message.created_at)} · <span class="muted">${message.purpose}</span></p>
  <p class="meta">${status(t, message)}</p>
  ${lastError(t, message)}
  ${
    payload
      ? html`<p>${
          payload.sid
            ? t.parts<Html>('devOutbox.logout.signsOutSession', { sub: payload.sub, sid: payload.sid }, { code })
            : t.parts<Html>('devOutbox.logout.signsOut', { sub: payload.sub }, { code })
        }</p>`
      : html`<p class="muted">${t.t('devOutbox.logout.delivered')}</p>`
  }
</li>`;
}

function renderMessage(t: Translator, message: OutboxMessage, content: OutboxContent | null, baseUrl: string): Html {
  if (message.channel === 'backchannel') return renderLogout(t, message, content?.channel === 'backchannel' ? content.payload : null);
  const payload = content && content.channel !== 'backchannel' ? content.payload : null;
  const email = message.channel === 'email';
  const heading = email ? (payload ? payload.subject : t.t('devOutbox.emailErased')) : t.t('devOutbox.text');
  return html`<li class="card">
  <h2 class="subject">${heading}</h2>
  <p class="meta"><span class="badge">${email ? t.t('devOutbox.email') : t.t('devOutbox.text')}</span> ${
    payload ? t.parts<Html>('devOutbox.to', { to: payload.to }, { strong }) : html`<span class="muted">${t.t('devOutbox.recipientErased')}</span>`
  } · ${utc(message.created_at)} · <span class="muted">${message.purpose}</span></p>
  <p class="meta">${status(t, message)}</p>
  ${lastError(t, message)}
  ${
    payload
      ? html`<pre class="message-body">${textWithLinks(payload.text, baseUrl)}</pre>
  ${payload.html ? html`<details><summary>${t.t('devOutbox.htmlPart')}</summary><pre class="message-body"><code>${payload.html}</code></pre></details>` : ''}`
      : html`<p class="muted">${t.t('devOutbox.deliveredBySmtp')}</p>`
  }
</li>`;
}

/** Development only: what would have been emailed or texted, readable in the browser. */
export function registerDevPages(app: FastifyInstance, kit: PageKit): void {
  app.get('/dev/outbox', async (request, reply) => {
    const { deps } = kit;
    const t = request.i18n;
    const messages = await outboxMessages(deps, MESSAGES_SHOWN);
    return kit.send(request, reply, {
      title: t.t('devOutbox.title'),
      current: 'outbox',
      body: html`
<h1>${t.t('devOutbox.title')}</h1>
<p>${t.parts<Html>('devOutbox.intro', { variable: 'TESSERA_SMTP_URL' }, { code })}</p>
<p class="muted">${messages.length === 0 ? t.t('devOutbox.empty') : t.t('devOutbox.count', { count: messages.length })}</p>
<ol class="outbox">${messages.map(({ message, content }) => renderMessage(t, message, content, deps.config.baseUrl))}</ol>`,
    });
  });
}
