// "Apps you allowed" in Security settings: the apps a person let sign them in through
// Tessera, each of which they can withdraw (its tokens end at once).
import type { FastifyInstance } from 'fastify';
import { listAllowedApps, revokeAllowedApp } from '../../services/oidc.js';
import type { SignedIn } from '../../services/sessions.js';
import type { Translator } from '../../i18n/translator.js';
import { html, type Html } from '../html.js';
import { csrfField } from '../pages/forms.js';
import type { PageKit } from '../pages/kit.js';
import { sendApiFailure } from '../errors.js';
import { signedInOf } from '../api/authenticated.js';
import { requestContext } from '../request-context.js';
import type { ServiceDeps } from '../../services/deps.js';

/** Empty when the person has allowed no app. */
export async function allowedAppsSection(kit: PageKit, signedIn: SignedIn, csrf: string, t: Translator): Promise<Html> {
  const apps = await listAllowedApps(kit.deps, signedIn.user);
  if (apps.length === 0) return html``;
  return html`<section class="card" aria-labelledby="apps-heading">
  <h2 id="apps-heading">Apps you allowed</h2>
  <p>These apps sign you in with your ${kit.productName} account. Removing one signs you out of it; it asks again next time.</p>
  <div class="table-wrap"><table>
    <thead><tr><th scope="col">App</th><th scope="col">Allowed</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>${apps.map(
      (app) => html`<tr>
      <th scope="row">${app.name}</th>
      <td data-label="Allowed">${app.allowedAt === null ? 'unknown' : t.moment(app.allowedAt * 1000)}</td>
      <td><form method="post" action="/profile/apps/${encodeURIComponent(app.clientId)}/remove" class="inline">${csrfField(csrf)}<button type="submit" class="small">Remove</button></form></td>
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

/** The same through the API: GET /api/v1/me/apps, DELETE /api/v1/me/apps/:client_id. */
export function registerAllowedAppsRoutes(api: FastifyInstance, deps: ServiceDeps): void {
  const bearerSecurity = [{ bearer: [] }];
  api.get(
    '/api/v1/me/apps',
    {
      schema: {
        tags: ['me'],
        summary: 'The apps you allowed to sign you in',
        security: bearerSecurity,
        response: {
          200: {
            type: 'object',
            required: ['apps'],
            properties: {
              apps: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['client_id', 'name', 'allowed_at', 'scopes'],
                  properties: {
                    client_id: { type: 'string' },
                    name: { type: 'string' },
                    allowed_at: { type: ['string', 'null'], format: 'date-time' },
                    scopes: { type: 'array', items: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
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
        params: { type: 'object', required: ['client_id'], properties: { client_id: { type: 'string', maxLength: 200 } } },
      },
    },
    async (request, reply) => {
      const removed = await revokeAllowedApp(deps, signedInOf(request), (request.params as { client_id: string }).client_id, requestContext(request));
      if (!removed) return sendApiFailure(reply, { code: 'not_found', message: 'You have not allowed such an app.' });
      return reply.code(204).send();
    },
  );
}
