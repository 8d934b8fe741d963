// The HTML pages: their own scope with the session cookie, CSRF on every form, and
// local assets only (the CSP allows nothing else).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import type { ServiceDeps } from '../../services/deps.js';
import type { FactorScreens } from '../factors/http-factor.js';
import { HTTP_FACTORS_IN_ORDER } from '../factors/registry.js';
import { registerAdminPages } from './admin-pages.js';
import { registerChallengePages } from './challenge-pages.js';
import { registerDevPages } from './dev-pages.js';
import { setupPage } from './enrolment-chooser.js';
import { PageKit } from './kit.js';
import type { OidcHost } from '../oidc/host.js';
import { registerInteractionPages } from '../oidc/interaction-pages.js';
import { registerForwardAuthPages } from '../forward-auth/pages.js';
import { registerProfilePages, securityPageOf } from './profile-pages.js';
import { registerSignInPages } from './sign-in-pages.js';

const ASSETS: Record<string, { file: URL; type: string }> = {
  'app.css': { file: new URL('../assets/app.css', import.meta.url), type: 'text/css; charset=utf-8' },
  'app.js': { file: new URL('../assets/app.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
  'icon.svg': { file: new URL('../assets/icon.svg', import.meta.url), type: 'image/svg+xml' },
  // @simplewebauthn/browser's own bundle, served from here (the CSP allows no CDN).
  'webauthn.js': {
    file: new URL('../dist/bundle/index.umd.min.js', pathToFileURL(createRequire(import.meta.url).resolve('@simplewebauthn/browser'))),
    type: 'text/javascript; charset=utf-8',
  },
};

export async function registerPages(app: FastifyInstance, deps: ServiceDeps, oidc: OidcHost): Promise<void> {
  const kit = new PageKit(deps);
  const assets = new Map(Object.entries(ASSETS).map(([name, asset]) => [name, { body: readFileSync(asset.file), type: asset.type }]));

  app.get('/assets/:name', { schema: { hide: true } }, async (request, reply) => {
    const asset = assets.get((request.params as { name: string }).name);
    if (!asset) return reply.code(404).type('text/plain').send('Not found');
    return reply.header('cache-control', 'public, max-age=300').type(asset.type).send(asset.body);
  });

  // Browsers ask for it whatever the page says; answer without a 404 in their console.
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/assets/icon.svg', 301));

  await app.register(async (pages) => {
    // Forms post urlencoded bodies; the JSON API does not accept them (a cross-site
    // form could otherwise post to it without a CORS preflight).
    await pages.register(formbody, { bodyLimit: 64 * 1024 });
    pages.addHook('onRoute', (route) => {
      route.schema = { ...(route.schema ?? {}), hide: true };
    });
    pages.addHook('preHandler', async (request, reply) => {
      kit.ensureDeviceCookie(request, reply);
      await kit.loadSession(request);
      request.i18n = kit.translatorOf(request, reply);
    });
    registerSignInPages(pages, kit);
    registerChallengePages(pages, kit);
    registerProfilePages(pages, kit);
    // Each factor's own pages, with the screens they show again after a failed form.
    const screens: FactorScreens = {
      chooser: (request, reply, signedIn, state, status) => setupPage(kit, request, reply, signedIn, state, status),
      securityPage: securityPageOf(kit),
    };
    for (const factor of HTTP_FACTORS_IN_ORDER) factor.registerPages(pages, kit, screens);
    registerAdminPages(pages, kit);
    registerInteractionPages(pages, kit, oidc);
    registerForwardAuthPages(pages, kit);
    if (deps.config.mode === 'development') registerDevPages(pages, kit);
  });
}
