import { forgetTrustedDevices, listSessions, listTrusted, revokeSessions } from '../../services/devices.js';
import type { SignedIn } from '../../services/sessions.js';
import type { FastifyInstance } from 'fastify';
import { browserLabel } from '../../i18n/browser-label.js';
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
  const column = {
    computer: t.t('devices.column.computer'),
    trusted: t.t('devices.column.trusted'),
    lastUsed: t.t('devices.column.lastUsed'),
    expires: t.t('devices.column.expires'),
    actions: t.t('devices.column.actions'),
    browser: t.t('devices.column.browser'),
    ip: t.t('devices.column.ip'),
    signedIn: t.t('devices.column.signedIn'),
    lastSeen: t.t('devices.column.lastSeen'),
  };
  return html`<section class="card" aria-labelledby="trusted-heading">
  <h2 id="trusted-heading">${t.t('devices.trusted.heading')}</h2>
  <p>${days > 0 ? t.t('devices.trusted.intro', { days }) : t.t('devices.trusted.never')}</p>
  ${
    devices.length === 0
      ? html`<p class="muted">${t.t('devices.trusted.none')}</p>`
      : html`<div class="table-wrap"><table>
    <thead><tr><th scope="col">${column.computer}</th><th scope="col">${column.trusted}</th><th scope="col">${column.lastUsed}</th><th scope="col">${column.expires}</th><th scope="col"><span class="visually-hidden">${column.actions}</span></th></tr></thead>
    <tbody>${devices.map(
      (device) => html`<tr>
      <th scope="row">${browserLabel(t, device.browser)}${device.current ? html` <span class="badge">${t.t('devices.thisComputer')}</span>` : ''}</th>
      <td data-label="${column.trusted}">${when(t, device.createdAt)}</td><td data-label="${column.lastUsed}">${when(t, device.lastUsedAt)}</td><td data-label="${column.expires}">${when(t, device.expiresAt)}</td>
      <td><form method="post" action="/profile/trusted-devices/${device.id}/forget" class="inline">${csrfField(csrf)}<button type="submit" class="small">${t.t('devices.forget')}</button></form></td>
    </tr>`,
    )}</tbody></table></div>
  <form method="post" action="/profile/trusted-devices/forget-all" data-confirm="${t.t('devices.forgetAllConfirm')}">${csrfField(csrf)}<button type="submit">${t.t('devices.forgetAll')}</button></form>`
  }
</section>
<section class="card" aria-labelledby="sessions-heading">
  <h2 id="sessions-heading">${t.t('devices.sessions.heading')}</h2>
  <div class="table-wrap"><table>
    <thead><tr><th scope="col">${column.browser}</th><th scope="col">${column.ip}</th><th scope="col">${column.signedIn}</th><th scope="col">${column.lastSeen}</th><th scope="col"><span class="visually-hidden">${column.actions}</span></th></tr></thead>
    <tbody>${sessions.map(
      (session) => html`<tr>
      <th scope="row">${browserLabel(t, session.browser)}${session.current ? html` <span class="badge">${t.t('devices.thisSession')}</span>` : ''}</th>
      <td data-label="${column.ip}">${session.ip ?? t.t('devices.unknown')}</td><td data-label="${column.signedIn}">${when(t, session.createdAt)}</td><td data-label="${column.lastSeen}">${when(t, session.lastSeenAt)}</td>
      <td>${session.current ? '' : html`<form method="post" action="/profile/sessions/${session.id}/revoke" class="inline">${csrfField(csrf)}<button type="submit" class="small">${t.t('devices.signOut')}</button></form>`}</td>
    </tr>`,
    )}</tbody></table></div>
  ${sessions.length > 1 ? html`<form method="post" action="/profile/sessions/revoke-others">${csrfField(csrf)}<button type="submit">${t.t('devices.signOutOthers')}</button></form>` : ''}
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
