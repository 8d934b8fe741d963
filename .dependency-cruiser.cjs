// The import rules CI checks (npm run lint:deps): no import circle anywhere in src, and
// the layers of DESIGN.md's Architecture. The domain (pure rules) imports nothing of
// ours outside src/domain; services never reach up into http or cli; http reaches the
// store only through services (its types aside; cli, like runtime.ts, wires the
// parts); the store, a port, never reaches up into services, http, cli or delivery.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle marks a missing seam (issue 18): split the shared part into its own module.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'src/domain holds pure rules over plain data: it imports only itself (and Node or packages for pure helpers).',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'services-below-http',
      severity: 'error',
      comment: 'http and cli call services, never the other way round.',
      from: { path: '^src/services/' },
      to: { path: '^src/(http|cli)/' },
    },
    {
      name: 'http-through-services',
      severity: 'error',
      comment: "Handlers are thin (STYLE.md): parse, call a service, render. Only the store's types may be named here.",
      from: { path: '^src/http/' },
      to: { path: '^src/store/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'i18n-is-shared',
      comment: 'src/i18n (catalogues, translator) serves pages, emails and texts alike: it imports only the domain.',
      severity: 'error',
      from: { path: '^src/i18n/' },
      to: { path: '^src/', pathNot: '^src/(i18n|domain)/' },
    },
    {
      name: 'store-is-a-port',
      severity: 'error',
      comment: 'The store answers queries; use cases, pages and senders call it, never the other way round.',
      from: { path: '^src/store/' },
      to: { path: '^src/(services|http|cli|delivery)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too: a circle of types is still a circle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.test\\.ts$' },
  },
};
