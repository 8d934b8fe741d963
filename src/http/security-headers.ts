import type { FastifyReply, FastifyRequest } from 'fastify';

// A strict CSP: no inline script or style anywhere, nothing from other origins, and
// no framing (clickjacking on the passcode page).
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** The headers every answer carries, set in one call by a hook that needs no promise. */
export function securityHeaders(baseUrl: string) {
  const headers: Record<string, string> = {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // Setup, invitation and reset links carry tokens in their URLs.
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
    'cache-control': 'no-store',
  };
  if (new URL(baseUrl).protocol === 'https:') headers['strict-transport-security'] = 'max-age=63072000; includeSubDomains';
  return function (_request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    reply.headers(headers);
    done();
  };
}
