import { forgetTrustedDevices, listSessions, listTrusted, revokeSessions } from '../../services/devices.js';
import type { SignedIn } from '../../services/sessions.js';
import type { FastifyInstance } from 'fastify';
import type { Translator } from '../../i18n/translator.js';
import { html, type Html } from '../html.js';
import { requestContext } from '../request-context.js';
import { csrfField } from './forms.js';
import type { PageKit } from './kit.js';

export function when(t: Translator, time: number): string {
  return t.moment(time);
}

/** "Trusted computers" and "Active sessions" cards of Security settings. */
export async function deviceSections(kit: PageKit, signedIn: SignedIn, csrf: string, t: Translator): Promise<Html> {
  const [sessions, devices] = await Promise.all([listSessions(kit.deps, signedIn), listTrusted(kit.deps, signedIn)]);
  const days = signedIn.account.trusted_device_days;
  return html`<section class="card" aria-labelledby="trusted-heading">
  <h2 id="trusted-heading">Trusted computers</h2>
  <p>${
    days > 0
      ? `Signing in on these computers skips the passcode until the trust expires (${days} day${days === 1 ? '' : 's'} after you trusted it).`
      : 'Your account asks for a passcode at every sign-in, so no computer is trusted.'
  }</p>
  ${
    devices.length === 0
      ? html`<p class="muted">No trusted computers.</p>`
      : html`<div class="table-wrap"><table>
    <thead><tr><th scope="col">Computer</th><th scope="col">Trusted</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>${devices.map(
      (device) => html`<tr>
      <th scope="row">${device.browser}${device.current ? html` <span class="badge">This computer</span>` : ''}</th>
      <td data-label="Trusted">${when(t, device.createdAt)}</td><td data-label="Last used">${when(t, device.lastUsedAt)}</td><td data-label="Expires">${when(t, device.expiresAt)}</td>
      <td><form method="post" action="/profile/trusted-devices/${device.id}/forget" class="inline">${csrfField(csrf)}<button type="submit" class="small">Forget</button></form></td>
    </tr>`,
    )}</tbody></table></div>
  <form method="post" action="/profile/trusted-devices/forget-all" data-confirm="Forget all trusted computers? Every sign-in will ask for a passcode again.">${csrfField(csrf)}<button type="submit">Forget all computers</button></form>`
  }
</section>
<section class="card" aria-labelledby="sessions-heading">
  <h2 id="sessions-heading">Active sessions</h2>
  <div class="table-wrap"><table>
    <thead><tr><th scope="col">Browser</th><th scope="col">IP address</th><th scope="col">Signed in</th><th scope="col">Last seen</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>${sessions.map(
      (session) => html`<tr>
      <th scope="row">${session.browser}${session.current ? html` <span class="badge">This session</span>` : ''}</th>
      <td data-label="IP address">${session.ip ?? 'unknown'}</td><td data-label="Signed in">${when(t, session.createdAt)}</td><td data-label="Last seen">${when(t, session.lastSeenAt)}</td>
      <td>${session.current ? '' : html`<form method="post" action="/profile/sessions/${session.id}/revoke" class="inline">${csrfField(csrf)}<button type="submit" class="small">Sign out</button></form>`}</td>
    </tr>`,
    )}</tbody></table></div>
  ${sessions.length > 1 ? html`<form method="post" action="/profile/sessions/revoke-others">${csrfField(csrf)}<button type="submit">Sign out everywhere else</button></form>` : ''}
</section>`;
}

export function registerDevicePages(app: FastifyInstance, kit: PageKit): void {
  const act = (path: string, done: string, run: (signedIn: SignedIn, id: string | undefined, request: Parameters<PageKit['send']>[0]) => Promise<unknown>) => {
    app.post(path, async (request, reply) => {
      const signedIn = kit.requireFull(request, reply);
      if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
      const id = (request.params as { id?: string }).id;
      await run(signedIn, id, request);
      return reply.redirect(`/profile/security?done=${done}`, 303);
    });
  };
  act('/profile/trusted-devices/:id/forget', 'forgotten', async (signedIn, id, request) => {
    await forgetTrustedDevices(kit.deps, signedIn, id, requestContext(request));
  });
  act('/profile/trusted-devices/forget-all', 'forgotten-all', async (signedIn, _id, request) => {
    await forgetTrustedDevices(kit.deps, signedIn, undefined, requestContext(request));
  });
  act('/profile/sessions/:id/revoke', 'session-ended', async (signedIn, id, request) => {
    await revokeSessions(kit.deps, signedIn, id, requestContext(request));
  });
  act('/profile/sessions/revoke-others', 'sessions-ended', async (signedIn, _id, request) => {
    await revokeSessions(kit.deps, signedIn, undefined, requestContext(request));
  });
}
