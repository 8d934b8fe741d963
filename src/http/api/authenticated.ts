// The encapsulated scope of routes that need a bearer token. Pages have their own
// cookie scope; the API never reads cookies (DESIGN.md: bearer tokens only).
// A bearer is a person's session token, or an API token (`tsr_…`) on the admin routes
// that declare the scope they need (`config.apiTokenScope`); everywhere else, /me
// included, an API token is refused (DESIGN.md, Automation).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { looksLikeApiToken } from '../../crypto/tokens.js';
import type { AdminActor } from '../../services/admin-actor.js';
import { authenticateApiRequest } from '../../services/api-tokens.js';
import { authenticate } from '../../services/sessions.js';
import type { ServiceDeps } from '../../services/deps.js';
import { sendApiFailure } from '../errors.js';
import { bearerToken, requestContext } from '../request-context.js';

async function authenticateWithApiToken(deps: ServiceDeps, request: FastifyRequest, reply: FastifyReply, token: string): Promise<void> {
  const scope = request.routeOptions.config.apiTokenScope;
  const actor = await authenticateApiRequest(deps, token, requestContext(request));
  if (!actor.ok) {
    if (actor.failure.code === 'unauthorized') reply.header('www-authenticate', 'Bearer error="invalid_token"');
    await sendApiFailure(reply, actor.failure);
    return;
  }
  if (scope === undefined) {
    await sendApiFailure(reply, { code: 'person_required' });
    return;
  }
  if (!actor.value.scopes.includes(scope)) {
    reply.header('www-authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
    await sendApiFailure(reply, {
      code: 'insufficient_scope',
      message: `This API token does not have the scope ${scope}.`,
      detail: { key: 'detail.scopeMissing', values: { scope } },
    });
    return;
  }
  request.apiTokenActor = actor.value;
}

export function bearerAuthentication(deps: ServiceDeps) {
  return async function (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = bearerToken(request);
    if (looksLikeApiToken(token)) return authenticateWithApiToken(deps, request, reply, token as string);
    const signedIn = await authenticate(deps, token);
    if (!signedIn) {
      reply.header('www-authenticate', 'Bearer');
      await sendApiFailure(reply, { code: 'unauthorized' });
      return;
    }
    if (signedIn.session.kind === 'setup' && request.routeOptions.config.allowSetupSession !== true) {
      await sendApiFailure(reply, { code: 'two_factor_setup_required' });
      return;
    }
    request.signedIn = signedIn;
  };
}

export function requireAdmin(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  // An API token's creator is checked to be an admin on every request (api-tokens.ts).
  if (request.apiTokenActor === null && request.signedIn?.user.role !== 'admin') {
    void sendApiFailure(reply, { code: 'forbidden', message: 'Only account admins can do this.' });
    return;
  }
  done();
}

export function signedInOf(request: FastifyRequest) {
  if (!request.signedIn) throw new Error('route reached without a signed-in person');
  return request.signedIn;
}

/** Who acts on an admin route that API tokens may use: the token, or the signed-in admin. */
export function adminActorOf(request: FastifyRequest): AdminActor {
  return request.apiTokenActor ?? signedInOf(request);
}

export async function authenticatedScope(app: FastifyInstance, deps: ServiceDeps, register: (scope: FastifyInstance) => void): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRequest', bearerAuthentication(deps));
    register(scope);
  });
}
