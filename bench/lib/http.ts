// The load client's HTTP: undici with keep-alive connections to 127.0.0.1 only.
import { Pool } from 'undici';

export interface HttpResponse {
  status: number;
  body: unknown;
  setCookies: string[];
  /** The Location header of a redirect (redirects are never followed here). */
  location: string | null;
}

export class HttpClient {
  private readonly pool: Pool;

  constructor(
    readonly origin: string,
    connections: number,
  ) {
    const url = new URL(origin);
    if (url.hostname !== '127.0.0.1') throw new Error(`the benchmark only talks to 127.0.0.1, not ${url.hostname}`);
    this.pool = new Pool(origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: 180_000,
      bodyTimeout: 180_000,
    });
  }

  async request(
    method: 'GET' | 'POST',
    path: string,
    options: { headers?: Record<string, string>; json?: unknown; form?: Record<string, string> } = {},
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'user-agent': 'tessera-bench/1', ...options.headers };
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    }
    const response = await this.pool.request({ method, path, headers, body });
    const text = await response.body.text();
    let parsed: unknown = text;
    if (text.length > 0 && String(response.headers['content-type'] ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    const raw = response.headers['set-cookie'];
    const setCookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    const location = response.headers.location;
    return { status: response.statusCode, body: parsed, setCookies, location: typeof location === 'string' ? location : null };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** `name=value` pairs from Set-Cookie headers, ready for a Cookie header; cookies
 * being cleared (empty value or Max-Age=0) are left out. */
export function cookiePairs(setCookies: string[]): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const header of setCookies) {
    const first = header.split(';')[0]!;
    const equals = first.indexOf('=');
    if (equals <= 0) continue;
    const name = first.slice(0, equals).trim();
    const value = first.slice(equals + 1).trim();
    if (value === '' || /;\s*max-age=0/i.test(header)) pairs.delete(name);
    else pairs.set(name, value);
  }
  return pairs;
}

export function cookieHeader(pairs: Map<string, string>): string {
  return [...pairs].map(([name, value]) => `${name}=${value}`).join('; ');
}
