// Every state-changing form carries a token bound to a per-browser cookie by an HMAC
// under a server key, so neither a cross-site form nor a tossed cookie can forge it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { COOKIE, type CookiePolicy } from './request-context.js';

export class Csrf {
  constructor(
    private readonly key: Buffer,
    private readonly cookies: CookiePolicy,
  ) {}

  private sign(cookieValue: string): string {
    return createHmac('sha256', this.key).update(`csrf:${cookieValue}`).digest('base64url');
  }

  /** The token to put in this response's forms (sets the cookie when missing). */
  tokenFor(request: FastifyRequest, reply: FastifyReply): string {
    let cookieValue = this.cookies.read(request, COOKIE.csrf);
    if (!cookieValue || !/^[A-Za-z0-9_-]{43}$/.test(cookieValue)) {
      cookieValue = randomBytes(32).toString('base64url');
      this.cookies.set(reply, COOKIE.csrf, cookieValue);
      // Later reads in this same request must see the new value.
      request.cookies[this.cookies.name(COOKIE.csrf)] = cookieValue;
    }
    return this.sign(cookieValue);
  }

  verify(request: FastifyRequest, submitted: unknown): boolean {
    const cookieValue = this.cookies.read(request, COOKIE.csrf);
    if (!cookieValue || typeof submitted !== 'string') return false;
    const expected = Buffer.from(this.sign(cookieValue));
    const actual = Buffer.from(submitted);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}
