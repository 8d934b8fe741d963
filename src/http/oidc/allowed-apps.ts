// "Apps you allowed" in Security settings: the apps a person let sign them in through
// Tessera, each of which they can withdraw (its tokens end at once).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { listAllowedApps, revokeAllowedApp } from '../../services/oidc.js';
import type { SignedIn } from '../../services/sessions.js';
import type { Translator } from '../../i18n/translator.js';
import { html, type Html } from '../html.js';
import { csrfField } from '../pages/forms.js';
import type { PageKit } from '../pages/kit.js';
import { sendApiFailure } from '../errors.js';
import { signedInOf } from '../api/authenticated.js';
import { ErrorAnswers, NoContent, NullableTimestamp, bearerSecurity } from '../api/schemas.js';
import { requestContext } from '../request-context.js';
import type { ServiceDeps } from '../../services/deps.js';

/** Empty when the person has allowed no app. */
export async function allowedAppsSection(kit: PageKit, signedIn: SignedIn, csrf: string, t: Translator): Promise<Html> {
  const apps = await listAllowedApps(kit.deps, signedIn.user);
  if (apps.length === 0) return html``;
  return html`<section class="card" aria-labelledby="apps-heading">
  <h2 id="apps-heading">${t.t('allowedApps.heading')}</h2>
  <p>${t.t('allowedApps.intro', { product: kit.productName })}</p>
  <div class="table-wrap"><table>
    <thead><tr><th scope="col">${t.t('allowedApps.column.app')}</th><th scope="col">${t.t('allowedApps.column.allowed')}</th><th scope="col"><span class="visually-hidden">${t.t('devices.column.actions')}</span></th></tr></thead>
    <tbody>${apps.map(
      (app) => html`<tr>
      <th scope="row">${app.name}</th>
      <td data-label="${t.t('allowedApps.column.allowed')}">${app.allowedAt === null ? t.t('devices.unknown') : t.moment(app.allowedAt * 1000)}</td>
      <td><form method="post" action="/profile/apps/${encodeURIComponent(app.clientId)}/remove" class="inline">${csrfField(csrf)}<button type="submit" class="small">${t.t('keys.remove')}</button></form></td>
    </tr>`,
    )}</tbody></table></div>
</section>`;
}

export function registerAllowedAppsPages(pages: FastifyInstance, kit: PageKit): void {
  pages.post('/profile/apps/:clientId/remove', async (request, reply) => {
    const signedIn = kit.requireFull(request, reply);
    if (!signedIn || !kit.checkCsrf(request, reply)) return reply;
    await revokeAllowedApp(kit.deps, signedIn, (request.params as { clientId: string }).clientId, requestContext(request));
    return reply.redirect('/profile/security?done=app-removed', 303);
  });
}

const AllowedAppsAnswer = Type.Object({
  apps: Type.Array(
    Type.Object({
      client_id: Type.String(),
      name: Type.String(),
      allowed_at: NullableTimestamp,
      scopes: Type.Array(Type.String()),
    }),
  ),
});

/** The same through the API: GET /api/v1/me/apps, DELETE /api/v1/me/apps/:client_id. */
export function registerAllowedAppsRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    '/api/v1/me/apps',
    {
      schema: {
        tags: ['me'],
        summary: 'The apps you allowed to sign you in',
        security: bearerSecurity,
        response: { 200: AllowedAppsAnswer, ...ErrorAnswers },
      },
    },
    async (request) => ({
      apps: (await listAllowedApps(deps, signedInOf(request).user)).map((app) => ({
        client_id: app.clientId,
        name: app.name,
        allowed_at: app.allowedAt === null ? null : new Date(app.allowedAt * 1000).toISOString(),
        scopes: app.scopes,
      })),
    }),
  );
  api.delete(
    '/api/v1/me/apps/:client_id',
    {
      schema: {
        tags: ['me'],
        summary: 'Withdraw an app: it signs you out of it and asks again next time',
        security: bearerSecurity,
        params: Type.Object({ client_id: Type.String({ maxLength: 200 }) }),
        response: { 204: NoContent, ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      const removed = await revokeAllowedApp(deps, signedInOf(request), request.params.client_id, requestContext(request));
      if (!removed) return sendApiFailure(reply, { code: 'not_found', message: 'You have not allowed such an app.' });
      return reply.code(204).send(null);
    },
  );
}
