// Operations: liveness, readiness (database and limit store reachable), Prometheus
// metrics, the OpenAPI document, and (development only) the outbox.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Type } from 'typebox';
import type { LimitStore } from '../limits/limits.js';
import type { ServiceDeps } from '../services/deps.js';
import { readOutbox } from '../services/dev-outbox.js';
import { databaseReachable } from '../services/health.js';
import { ErrorAnswers, StatusAnswer, Timestamp } from './api/schemas.js';

const OutboxAnswer = Type.Object({
  messages: Type.Array(
    Type.Object({
      id: Type.String(),
      channel: Type.Union([Type.Literal('email'), Type.Literal('sms')]),
      to: Type.String(),
      subject: Type.String({ description: 'Empty for a text message.' }),
      body: Type.String({ description: 'The plain text.' }),
      created_at: Timestamp,
    }),
  ),
});

/** Compares a bearer token in constant time (of the digests, so lengths do not leak). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(token).digest());
}

export function registerOpsRoutes(app: FastifyInstance, deps: ServiceDeps, limitStore: LimitStore, metricsToken: string | null): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_' });
  const requests = new Counter({
    name: 'tessera_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // Each series' child is looked up once: naming the labels on every request made
  // prom-client hash them again each time. Routes, methods and statuses are few, so
  // the map stays as small as the metrics themselves.
  const series = new Map<string, { requests: Counter.Internal; duration: Histogram.Internal<string> }>();
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${request.method} ${reply.statusCode} ${route}`;
    let counted = series.get(key);
    if (!counted) {
      counted = { requests: requests.labels(request.method, route, String(reply.statusCode)), duration: duration.labels(request.method, route) };
      series.set(key, counted);
    }
    counted.requests.inc();
    counted.duration.observe(reply.elapsedTime / 1000);
    done();
  });

  app.get(
    '/healthz',
    { schema: { tags: ['operations'], summary: 'The process is alive', response: { 200: StatusAnswer('ok'), ...ErrorAnswers } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'The database and the limit store are reachable',
        description: 'Answers 503 (ErrorBody, `service_unavailable`) naming what is down.',
        response: { 200: StatusAnswer('ready'), ...ErrorAnswers },
      },
    },
    async (request, reply) => {
      // The answer names what is down, never its error text (hosts, users, versions);
      // the log has the details.
      const problems: string[] = [];
      try {
        await databaseReachable(deps);
      } catch (error) {
        request.log.error({ err: { message: (error as Error).message } }, 'readiness: database unreachable');
        problems.push('database unreachable');
      }
      try {
        await limitStore.ping();
      } catch (error) {
        request.log.error({ err: { message: (error as Error).message } }, 'readiness: limit store unreachable');
        problems.push('limit store unreachable');
      }
      if (problems.length > 0) {
        return reply.code(503).send({ error: { code: 'service_unavailable', message: problems.join('; ') } });
      }
      return { status: 'ready' };
    },
  );

  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (metricsToken !== null && !bearerMatches(request.headers.authorization, metricsToken)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: { code: 'unauthorized', message: 'Metrics need the bearer token set in TESSERA_METRICS_TOKEN.' } });
    }
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  if (deps.config.mode === 'development') {
    app.get(
      '/api/v1/dev/outbox',
      {
        schema: {
          tags: ['development'],
          summary: 'Messages that would have been emailed or texted (development mode only), newest first',
          response: { 200: OutboxAnswer, ...ErrorAnswers },
        },
      },
      async () => ({ messages: (await readOutbox(deps)).map(({ html: _html, purpose: _purpose, status: _status, ...rest }) => rest) }),
    );
  }
}
