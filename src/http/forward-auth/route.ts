// GET /api/v1/forward-auth (DESIGN.md, Forward-auth): asked by nginx `auth_request`,
// Caddy `forward_auth` and Traefik `ForwardAuth` before each request to a guarded host.
// The original request comes from X-Original-URL (nginx) or X-Forwarded-Proto, -Host
// and -Uri (Caddy, Traefik), and is believed only from the proxies TESSERA_TRUST_PROXY
// lists: anyone else could name any host. The answer:
// - 200 with Remote-User (the person's id), Remote-Email, Remote-Name, Remote-Role and
//   Remote-Account: the proxy passes them on, in place of any the client sent;
// - not signed in: 302 to the sign-in page (`rd` = the original address), or for nginx
//   (`?mode=nginx`, which cannot follow a redirect here) 401 with that Location;
// - signed in but not let in: 403 with a page that says why.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../../config.js';
import { parseIpAddress, parseIpRange, inIpRange, type IpRange } from '../../domain/outbound-addresses.js';
import type { ServiceDeps } from '../../services/deps.js';
import { checkForwardAuth, type ForwardAuthAnswer } from '../../services/forward-auth.js';
import { sendApiFailure } from '../errors.js';
import { CookiePolicy } from '../request-context.js';
import { refusalPage } from './pages.js';
import { ErrorAnswers } from '../api/schemas.js';

/** The names Fastify's trustProxy (proxy-addr) also takes, as ranges. */
const NAMED_RANGES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Who may ask: every address (`true`), none (`false`) or the listed ones. */
export function trustedProxies(setting: Config['trustProxy']): (address: string) => boolean {
  if (setting === true) return () => true;
  if (setting === false) return () => false;
  const ranges: IpRange[] = [];
  for (const entry of setting
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    for (const text of NAMED_RANGES[entry.toLowerCase()] ?? [entry]) {
      const parsed = parseIpRange(text);
      if (parsed.ok) ranges.push(parsed.range);
    }
  }
  return (address) => {
    const parsed = parseIpAddress(address);
    return parsed !== null && ranges.some((range) => inIpRange(parsed, range));
  };
}

function header(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 && value.length <= 8192 ? value : null;
}

/** The address the browser asked the proxy for. */
export function originalUrl(request: FastifyRequest): URL | null {
  const nginx = header(request, 'x-original-url');
  const proto = header(request, 'x-forwarded-proto');
  const host = header(request, 'x-forwarded-host');
  const uri = header(request, 'x-forwarded-uri') ?? '/';
  const raw = nginx ?? (proto && host ? `${proto.split(',')[0]!.trim()}://${host.split(',')[0]!.trim()}${uri.startsWith('/') ? uri : `/${uri}`}` : null);
  if (raw === null || !/^https?:\/\/[^/\\@]+(\/|$)/i.test(raw) || /[\x00-\x20\x7f\\]/.test(raw)) return null;
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}

/** Header values are bytes: names in any language go out as UTF-8. */
function headerValue(text: string): string {
  return Buffer.from(text.replace(/[\x00-\x1f\x7f]/g, ''), 'utf8').toString('latin1');
}

const PlainText = (description: string) => ({ description, content: { 'text/plain': { schema: Type.String() } } });

/** What a proxy reads: mostly the status and headers; bodies are for people. */
const ForwardAuthAnswers = {
  200: Type.Null({ description: 'Let in, with Remote-User, Remote-Email, Remote-Name, Remote-Role and Remote-Account; no body.' }),
  302: PlainText('Not signed in: Location is the sign-in page, `rd` the original address.'),
  401: PlainText('Not signed in, with `mode=nginx`: Location is the sign-in page.'),
  403: {
    description: 'Signed in but not let in (a page that says why), or the host is not guarded, or the proxy is not trusted (ErrorBody).',
    content: { 'text/html': { schema: Type.String() }, 'application/json': { schema: Type.Ref('ErrorBody') } },
  },
  ...ErrorAnswers,
};

export function registerForwardAuthRoute(app: FastifyInstance, deps: ServiceDeps, config: Pick<Config, 'trustProxy' | 'baseUrl' | 'cookieDomain'>): void {
  const trusted = trustedProxies(config.trustProxy);
  const cookies = new CookiePolicy(config.baseUrl, config.cookieDomain);

  app.get(
    '/api/v1/forward-auth',
    {
      schema: {
        tags: ['forward-auth'],
        summary: 'Asked by a reverse proxy before each request to a guarded host',
        description:
          'Reads the original request from X-Original-URL (nginx) or X-Forwarded-Proto/-Host/-Uri, from proxies in TESSERA_TRUST_PROXY only. 200 with Remote-User, Remote-Email, Remote-Name, Remote-Role, Remote-Account; not signed in: 302 to the sign-in page (401 with Location when mode=nginx); not let in: 403.',
        querystring: { type: 'object', properties: { mode: { type: 'string', enum: ['nginx', 'redirect'] } }, additionalProperties: true },
        response: ForwardAuthAnswers,
      },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      if (!trusted(request.socket.remoteAddress ?? '')) {
        return sendApiFailure(reply, { code: 'forbidden', message: 'Forward-auth answers only the proxies listed in TESSERA_TRUST_PROXY.' });
      }
      const url = originalUrl(request);
      if (url === null) {
        return sendApiFailure(reply, {
          code: 'invalid_request',
          message: 'The proxy must send X-Original-URL, or X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Uri.',
        });
      }
      const answer = await checkForwardAuth(deps, { token: cookies.readForwardAuth(request), url });
      return answerProxy(request, reply, answer, url, config.baseUrl, deps.config.productName);
    },
  );
}

function answerProxy(request: FastifyRequest, reply: FastifyReply, answer: ForwardAuthAnswer, url: URL, baseUrl: string, productName: string) {
  switch (answer.kind) {
    case 'not_guarded':
      return sendApiFailure(reply, {
        code: 'forbidden',
        message: `${url.host} is not guarded by ${productName}: an admin adds it in Apps.`,
        detail: { key: 'detail.hostNotGuarded', values: { host: url.host, product: productName } },
      });
    case 'signed_out': {
      const signIn = `${baseUrl}/sign-in?rd=${encodeURIComponent(url.toString())}`;
      const nginx = (request.query as { mode?: string }).mode === 'nginx';
      return reply
        .code(nginx ? 401 : 302)
        .header('location', signIn)
        .type('text/plain; charset=utf-8')
        .send('Sign in first.');
    }
    case 'refused':
      return reply
        .code(403)
        .type('text/html; charset=utf-8')
        .send(refusalPage(answer, url, baseUrl, productName));
    case 'allowed': {
      const { user, account } = answer.signedIn;
      return reply
        .code(200)
        .header('remote-user', user.id)
        .header('remote-email', headerValue(user.email))
        .header('remote-name', headerValue(user.name))
        .header('remote-role', user.role)
        .header('remote-account', account.slug)
        .send();
    }
  }
}
