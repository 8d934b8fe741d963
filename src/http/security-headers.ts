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

export function securityHeaders(baseUrl: string) {
  const https = new URL(baseUrl).protocol === 'https:';
  return async function (_request: FastifyRequest, reply: FastifyReply): Promise<void> {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    // Setup, invitation and reset links carry tokens in their URLs.
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    reply.header('cache-control', 'no-store');
    if (https) reply.header('strict-transport-security', 'max-age=63072000; includeSubDomains');
  };
}
