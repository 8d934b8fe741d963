// The encapsulated scope of routes that need a bearer session token. Pages have their
// own cookie scope; the API never reads cookies (DESIGN.md: bearer tokens only).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate } from '../../services/sessions.js';
import type { ServiceDeps } from '../../services/deps.js';
import { sendApiFailure } from '../errors.js';
import { bearerToken } from '../request-context.js';

export function bearerAuthentication(deps: ServiceDeps) {
  return async function (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const signedIn = await authenticate(deps, bearerToken(request));
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
  if (request.signedIn?.user.role !== 'admin') {
    void sendApiFailure(reply, { code: 'forbidden', message: 'Only account admins can do this.' });
    return;
  }
  done();
}

export function signedInOf(request: FastifyRequest) {
  if (!request.signedIn) throw new Error('route reached without authentication');
  return request.signedIn;
}

export async function authenticatedScope(app: FastifyInstance, deps: ServiceDeps, register: (scope: FastifyInstance) => void): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRequest', bearerAuthentication(deps));
    register(scope);
  });
}
