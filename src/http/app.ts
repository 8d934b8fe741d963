// buildApp assembles the Fastify instance and never listens, so tests drive it with
// app.inject and the server entry point decides where to listen.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import type { Config } from '../config.js';
import { LimitsUnavailableError, type LimitStore } from '../limits/limits.js';
import { HashingOverloadedError } from '../crypto/passwords.js';
import type { ServiceDeps } from '../services/deps.js';
import { DEFAULT_LANGUAGE, negotiateLanguage } from '../domain/languages.js';
import { translatorFor, type Translator } from '../i18n/translator.js';
import { registerAccountRoutes } from './api/account-routes.js';
import { registerAdminRoutes } from './api/admin-routes.js';
import { registerAdminHelpRoutes } from './api/admin-help-routes.js';
import { registerAppRoutes } from './api/app-routes.js';
import { registerAutomationRoutes } from './api/automation-routes.js';
import { registerEmailConfirmationRoutes } from './api/email-confirmation-routes.js';
import { registerDeviceRoutes } from './api/device-routes.js';
import { registerPolicyRoutes } from './api/policy-routes.js';
import { authenticatedScope } from './api/authenticated.js';
import { registerMeRoutes } from './api/me-routes.js';
import { registerSignInRoutes } from './api/sign-in-routes.js';
import { registerPasskeySignInRoutes } from './api/passkey-routes.js';
import { registerSecondStepRoute, registerTwoFactorRoutes } from './api/two-factor-routes.js';
import { ErrorBody } from './api/schemas.js';
import { HTTP_FACTORS_IN_ORDER } from './factors/registry.js';
import { sendApiFailure, type ErrorCode } from './errors.js';
import { registerOpsRoutes } from './ops-routes.js';
import { registerPages } from './pages/register.js';
import { OidcHost, mountOidcProvider } from './oidc/host.js';
import { registerAllowedAppsRoutes } from './oidc/allowed-apps.js';
import { registerForwardAuthRoute } from './forward-auth/route.js';
import { securityHeaders } from './security-headers.js';

export interface AppOptions {
  deps: ServiceDeps;
  limitStore: LimitStore;
  config: Pick<Config, 'mode' | 'baseUrl' | 'cookieDomain' | 'productName' | 'trustProxy' | 'logLevel' | 'metricsToken'>;
  /** Where log lines go; tests capture them to check no secret is ever written. */
  logStream?: NodeJS.WritableStream;
  /** Tests only: serialise answers with JSON.stringify, not with their response schemas.
   * fast-json-stringify drops a property its schema leaves out and writes a literal's
   * value whatever the handler gave; the response-schemas test must see the real
   * answer to tell whether /openapi.json describes it. */
  serializeWithoutSchemas?: boolean;
}

const BODY_LIMIT_IN_BYTES = 64 * 1024;

const FORBIDDEN_CHARACTERS = /[\u0000\p{Cs}]/u;

/** Walks a parsed body (bounded depth) for NUL bytes and lone surrogates, keys included. */
export function hasForbiddenCharacters(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return FORBIDDEN_CHARACTERS.test(value);
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => hasForbiddenCharacters(item, depth + 1));
  return Object.entries(value).some(([key, item]) => FORBIDDEN_CHARACTERS.test(key) || hasForbiddenCharacters(item, depth + 1));
}

const OUTAGE_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '53300',
  'SQLITE_BUSY',
];
// pg reports a dropped connection without a code.
const OUTAGE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection closed/i;

/** A database or limit store that cannot be reached: 503, not 500. */
export function isOutage(error: unknown): boolean {
  if (error instanceof LimitsUnavailableError || error instanceof HashingOverloadedError) return true;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && OUTAGE_CODES.includes(code)) return true;
  const message = (error as { message?: unknown })?.message;
  return typeof message === 'string' && OUTAGE_MESSAGES.test(message);
}

function classify(error: FastifyError): { code: ErrorCode; message?: string; retryAfterSeconds?: number } {
  if (error.validation) return { code: 'invalid_request', message: `Invalid ${error.validationContext ?? 'request'}: ${error.message}` };
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'payload_too_large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'unsupported_media_type' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'invalid_request', message: 'The body is not valid JSON.' };
  }
  if (error instanceof SyntaxError) return { code: 'invalid_request', message: 'The body is not valid JSON.' };
  if (error instanceof HashingOverloadedError) return { code: 'service_unavailable', message: 'Tessera is busy. Try again in a moment.', retryAfterSeconds: 1 };
  if (isOutage(error)) return { code: 'service_unavailable' };
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return { code: 'invalid_request', message: error.message };
  return { code: 'internal_error' };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { deps, config } = options;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      ...(options.logStream ? { stream: options.logStream } : {}),
      // Tokens travel in headers, cookies and some page URLs (emailed links): none of
      // them may reach a log line (SECURITY.md, logs).
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
      serializers: {
        req: (request: FastifyRequest) => ({ method: request.method, url: request.url.split('?')[0], remoteAddress: request.ip }),
      },
    },
    trustProxy: config.trustProxy,
    bodyLimit: BODY_LIMIT_IN_BYTES,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
    // Router-level failures (an over-long id, a malformed URL) answer in the API's
    // error shape too, without echoing the URL.
    frameworkErrors: (error, _request, reply) => {
      const code = (error as { code?: string }).code;
      void sendApiFailure(
        reply,
        code === 'FST_ERR_MAX_PARAM_LENGTH' ? { code: 'not_found' } : { code: 'invalid_request', message: 'The request URL is not valid.' },
      );
    },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  if (options.serializeWithoutSchemas) app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.decorateRequest('signedIn', null);
  app.decorateRequest('deviceId', null);
  app.decorateRequest('apiTokenActor', null);
  app.decorateRequest('i18n', null as unknown as Translator);

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: `${config.productName} API`,
        version: '1.0.0',
        description: 'Sign-in with two-factor authentication. JSON in and out; errors use ErrorBody.',
      },
      servers: [{ url: config.baseUrl }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A session token from POST /api/v1/sign-in' } } },
    },
    // Shared schemas keep their own name in components (ErrorBody, not def-0), so
    // generated clients name the type as we do.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  app.addSchema(ErrorBody);
  app.addHook('onRequest', securityHeaders(config.baseUrl));
  // The API's messages follow Accept-Language (its codes stay English); pages refine
  // this once they know who is reading (pages/kit.ts translatorOf).
  app.addHook('onRequest', async (request) => {
    request.i18n = translatorFor(negotiateLanguage(request.headers['accept-language']) ?? DEFAULT_LANGUAGE);
  });
  // NUL bytes and lone surrogates have no business in any field: PostgreSQL refuses
  // NUL in text, and a lone surrogate would be stored as U+FFFD, another value.
  // Pages read their fields through formString, which drops such values.
  app.addHook('preValidation', async (request, reply) => {
    if (!request.url.startsWith('/api/')) return;
    if (hasForbiddenCharacters(request.body) || hasForbiddenCharacters(request.query) || hasForbiddenCharacters(request.params)) {
      return sendApiFailure(reply, { code: 'invalid_request', message: 'The request holds a NUL byte or an invalid Unicode character.' });
    }
  });

  app.setErrorHandler(async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const classified = classify(error);
    if (classified.code === 'internal_error' || (classified.code === 'service_unavailable' && !(error instanceof HashingOverloadedError))) {
      request.log.error({ err: { message: error.message, code: error.code, stack: error.stack } }, 'request failed');
    }
    if (!request.url.startsWith('/api/') && request.method === 'GET') {
      return reply
        .code(classified.code === 'service_unavailable' ? 503 : 500)
        .type('text/plain; charset=utf-8')
        .send('Something went wrong. Try again in a moment.');
    }
    return sendApiFailure(reply, classified);
  });
  app.setNotFoundHandler(async (request, reply) =>
    sendApiFailure(reply, { code: 'not_found', message: `No route for ${request.method} ${request.url.split('?')[0]}.` }),
  );

  registerOpsRoutes(app, deps, options.limitStore, options.config.metricsToken);
  registerForwardAuthRoute(app, deps, config);
  registerSignInRoutes(app, deps);
  registerSecondStepRoute(app, deps);
  registerPasskeySignInRoutes(app, deps);
  // Each factor's routes (http/factors/): those of a sign-in take the challenge token.
  for (const factor of HTTP_FACTORS_IN_ORDER) factor.registerSignInRoutes?.(app, deps);
  await authenticatedScope(app, deps, (scope) => {
    registerMeRoutes(scope, deps);
    registerTwoFactorRoutes(scope, deps);
    for (const factor of HTTP_FACTORS_IN_ORDER) factor.registerMeRoutes(scope, deps);
    registerDeviceRoutes(scope, deps);
    registerAdminRoutes(scope, deps);
    registerAppRoutes(scope, deps);
    registerPolicyRoutes(scope, deps);
    registerAccountRoutes(scope, deps);
    registerAdminHelpRoutes(scope, deps);
    registerAutomationRoutes(scope, deps);
    registerEmailConfirmationRoutes(scope, deps);
    registerAllowedAppsRoutes(scope, deps);
  });
  // The OpenID Connect provider for the account's other apps (http/oidc/).
  const oidc = new OidcHost(deps, {
    onServerError: (error) => app.log.error({ err: { message: (error as Error)?.message, stack: (error as Error)?.stack } }, 'OpenID Connect request failed'),
  });
  await mountOidcProvider(app, oidc, config.baseUrl);
  await registerPages(app, deps, oidc);
  return app;
}
