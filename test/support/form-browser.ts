// A browser without JavaScript for page tests through app.inject: a small cookie jar,
// form posts, the CSRF token of a page, and sign-in with the shared password.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STRONG_PASSWORD, type TestApp } from './harness.js';

const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

export class FormBrowser {
  readonly jar = new Map<string, string>();
  /** `beforePost` runs before each form post (a suite that moves its clock on, so
   * each post of a code or a text lands at its own instant). */
  constructor(
    private readonly app: TestApp,
    private readonly options: { beforePost?: (url: string) => void } = {},
  ) {}

  private store(response: LightMyRequestResponse): void {
    const header = response.headers['set-cookie'];
    for (const raw of header === undefined ? [] : Array.isArray(header) ? header : [header]) {
      const [pair = ''] = raw.split(';');
      const name = pair.slice(0, pair.indexOf('=')).trim();
      const value = decodeURIComponent(pair.slice(pair.indexOf('=') + 1).trim());
      if (value === '' || /max-age=0/i.test(raw) || /expires=Thu, 01 Jan 1970/i.test(raw)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  private headers(): Record<string, string> {
    return { cookie: [...this.jar].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('; '), 'user-agent': USER_AGENT };
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({ method: 'GET', url, remoteAddress: '127.0.0.1', headers: this.headers() });
    this.store(response);
    return response;
  }

  async post(url: string, form: Record<string, string>): Promise<LightMyRequestResponse> {
    this.options.beforePost?.(url);
    const response = await this.app.inject({
      method: 'POST',
      url,
      remoteAddress: '127.0.0.1',
      headers: { ...this.headers(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    });
    this.store(response);
    return response;
  }

  async csrf(url: string): Promise<string> {
    const page = await this.get(url);
    assert.equal(page.statusCode, 200, `${url}: ${page.body.slice(0, 300)}`);
    return csrfOf(page.body);
  }

  async signIn(email: string): Promise<LightMyRequestResponse> {
    const csrf = await this.csrf('/sign-in');
    const response = await this.post('/sign-in', { _csrf: csrf, account: 'acme', email, password: STRONG_PASSWORD });
    assert.equal(response.statusCode, 303, response.body.slice(0, 300));
    return response;
  }
}

export function csrfOf(html: string): string {
  return /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
}

/** What a person reads: the page without its tags. */
export function pageText(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}
