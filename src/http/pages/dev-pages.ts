import type { FastifyInstance } from 'fastify';
import type { OutboxMessage } from '../../store/schema.js';
import { outboxMessages, type BackchannelLogoutPayload, type OutboxContent } from '../../services/dev-outbox.js';
import { html, type Html } from '../html.js';
import type { PageKit } from './kit.js';

const MESSAGES_SHOWN = 200;

function utc(milliseconds: number): Html {
  const iso = new Date(milliseconds).toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 19)} UTC</time>`;
}

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

function status(message: OutboxMessage): Html {
  switch (message.status) {
    case 'sent':
      return html`<span class="badge badge-on">Sent</span>${message.sent_at === null ? '' : html` ${utc(message.sent_at)}`}`;
    case 'failed':
      return html`<span class="badge badge-off">Failed</span> after ${message.attempts} ${message.attempts === 1 ? 'attempt' : 'attempts'}`;
    case 'pending':
      return message.attempts === 0
        ? html`<span class="badge">Waiting</span>`
        : html`<span class="badge">Retrying</span> ${message.attempts} failed ${message.attempts === 1 ? 'attempt' : 'attempts'}, next ${utc(message.next_attempt_at)}`;
  }
}

function renderLogout(message: OutboxMessage, payload: BackchannelLogoutPayload | null): Html {
  return html`<li class="card">
  <h2 class="subject">Back-channel logout</h2>
  <p class="meta"><span class="badge">App</span> ${
    payload ? html`to <strong>${payload.client_id}</strong> at ${payload.uri}` : html`<span class="muted">app erased</span>`
  } · ${utc(message.created_at)} · <span class="muted">${message.purpose}</span></p>
  <p class="meta">${status(message)}</p>
  ${message.last_error ? html`<p class="error">Last error: ${message.last_error}</p>` : ''}
  ${
    payload
      ? html`<p>Signs out <code>${payload.sub}</code>${payload.sid ? html`, session <code>${payload.sid}</code>` : ''}. The logout token is signed when the call is made.</p>`
      : html`<p class="muted">Delivered: the app and the person it named are erased from the database once the call succeeds.</p>`
  }
</li>`;
}

function renderMessage(message: OutboxMessage, content: OutboxContent | null, baseUrl: string): Html {
  if (message.channel === 'backchannel') return renderLogout(message, content?.channel === 'backchannel' ? content.payload : null);
  const payload = content && content.channel !== 'backchannel' ? content.payload : null;
  const email = message.channel === 'email';
  const heading = email ? (payload ? payload.subject : 'Email (content erased after sending)') : 'Text message';
  return html`<li class="card">
  <h2 class="subject">${heading}</h2>
  <p class="meta"><span class="badge">${email ? 'Email' : 'Text message'}</span> ${
    payload ? html`to <strong>${payload.to}</strong>` : html`<span class="muted">recipient erased</span>`
  } · ${utc(message.created_at)} · <span class="muted">${message.purpose}</span></p>
  <p class="meta">${status(message)}</p>
  ${message.last_error ? html`<p class="error">Last error: ${message.last_error}</p>` : ''}
  ${
    payload
      ? html`<pre class="message-body">${textWithLinks(payload.text, baseUrl)}</pre>
  ${payload.html ? html`<details><summary>HTML part (source)</summary><pre class="message-body"><code>${payload.html}</code></pre></details>` : ''}`
      : html`<p class="muted">Delivered by SMTP: the recipient, the links and the text are erased from the database once sent.</p>`
  }
</li>`;
}

/** Development only: what would have been emailed or texted, readable in the browser. */
export function registerDevPages(app: FastifyInstance, kit: PageKit): void {
  app.get('/dev/outbox', async (request, reply) => {
    const { deps } = kit;
    const messages = await outboxMessages(deps, MESSAGES_SHOWN);
    return kit.send(request, reply, {
      title: 'Development outbox',
      current: 'outbox',
      body: html`
<h1>Development outbox</h1>
<p>In development mode, emails and text messages are kept here instead of being sent. With <code>TESSERA_SMTP_URL</code> set, emails go to that SMTP server instead, and each one's content is erased once it is sent, so only its status shows here. Back-channel logout calls to apps are listed too: those are really made.</p>
<p class="muted">${messages.length === 0 ? 'Nothing yet.' : `${messages.length} ${messages.length === 1 ? 'message' : 'messages'}, newest first.`}</p>
<ol class="outbox">${messages.map(({ message, content }) => renderMessage(message, content, deps.config.baseUrl))}</ol>`,
    });
  });
}
