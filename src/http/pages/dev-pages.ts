import type { FastifyInstance } from 'fastify';
import { html } from '../html.js';
import { readOutbox } from '../ops-routes.js';
import type { PageKit } from './kit.js';

/** Development only: what would have been emailed or texted, readable in the browser. */
export function registerDevPages(app: FastifyInstance, kit: PageKit): void {
  app.get('/dev/outbox', async (request, reply) => {
    const messages = await readOutbox(kit.deps);
    return kit.send(request, reply, {
      title: 'Development outbox',
      current: 'outbox',
      body: html`
<h1>Development outbox</h1>
<p>In development mode, emails and text messages are kept here instead of being sent. Newest first.</p>
${messages.length === 0 ? html`<p class="muted">Nothing yet.</p>` : ''}
<ol class="outbox">${messages.map(
        (message) => html`<li class="card">
  <p class="meta"><span class="badge">${message.channel === 'sms' ? 'Text message' : 'Email'}</span> to <strong>${message.to}</strong> · ${message.created_at.replace('T', ' ').slice(0, 19)} UTC</p>
  ${message.channel === 'email' ? html`<h2 class="subject">${message.subject}</h2>` : ''}
  <pre class="message-body">${message.body}</pre>
</li>`,
      )}</ol>`,
    });
  });
}
