// The peer's server process: `server.ts migrate` creates the schema; `server.ts`
// serves better-auth on 127.0.0.1:$PORT with Node's http module.
import { createServer } from 'node:http';
import { toNodeHandler } from 'better-auth/node';
import { getMigrations } from 'better-auth/db/migration';
import { createPeerAuth, peerSettingsFromEnv } from './auth.js';

const settings = peerSettingsFromEnv();
const auth = createPeerAuth(settings);

if (process.argv[2] === 'migrate') {
  const { runMigrations } = await getMigrations(auth.options);
  await runMigrations();
  process.exit(0);
}

const handler = toNodeHandler(auth);
const server = createServer((request, response) => {
  if (request.url === '/healthz') {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  void handler(request, response);
});
server.keepAliveTimeout = 65_000;
server.listen(settings.port, '127.0.0.1');
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
