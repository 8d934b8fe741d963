// Every route the app serves, read from Fastify's own route tree, so suites that
// must cover "every route" pick up new ones by themselves.
import type { FastifyInstance } from 'fastify';

export interface RouteEntry {
  method: string;
  path: string;
}

export function listRoutes(app: FastifyInstance): RouteEntry[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const routes: RouteEntry[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│   |    )*)(?:├── |└── )(\S+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const segment = match[2]!;
    stack.length = depth;
    const parent = depth === 0 ? '' : stack[depth - 1]!;
    const path =
      depth === 0 ? segment : parent.endsWith('/') || segment.startsWith('/') || segment.startsWith('.') ? `${parent}${segment}` : `${parent}/${segment}`;
    stack[depth] = path;
    for (const method of (match[3] ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean)) {
      if (method !== 'HEAD') routes.push({ method, path });
    }
  }
  return routes;
}

/** Percent-encodes any string, a lone surrogate included (as its WTF-8 bytes, which
 * are not valid UTF-8: exactly what a hostile client would send). */
export function percentEncodeLoosely(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    const isHigh = code >= 0xd800 && code <= 0xdbff;
    const next = value.charCodeAt(i + 1);
    if (isHigh && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(value.slice(i, i + 2));
      i += 1;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else {
      out += encodeURIComponent(value[i]!);
    }
  }
  return out;
}
