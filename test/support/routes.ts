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
    const path = depth === 0 ? segment : parent.endsWith('/') || segment.startsWith('/') || segment.startsWith('.') ? `${parent}${segment}` : `${parent}/${segment}`;
    stack[depth] = path;
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean)) {
      if (method !== 'HEAD') routes.push({ method, path });
    }
  }
  return routes;
}
