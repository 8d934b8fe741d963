import type { Config } from '../config.js';
import { lowerHashingThreadPriority } from '../crypto/hashing-priority.js';
import { createRuntime } from '../runtime.js';
import { issueSetupLink } from '../services/accounts.js';
import { ensureSigningKeys } from '../services/signing-keys.js';

export async function serve(config: Config): Promise<void> {
  const runtime = await createRuntime(config, { startWorker: true });
  const { app } = runtime;
  // The OpenID Connect signing keys exist from the first start (DESIGN.md).
  await ensureSigningKeys(runtime.store.db, runtime.store.dialect, runtime.keys, Date.now());
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping');
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const lowered = await lowerHashingThreadPriority();
  app.log.info(
    { threads: lowered.length },
    lowered.length > 0
      ? 'password hashing runs at a lower priority than the event loop'
      : 'password hashing runs at the priority of the event loop (no per-thread priorities here)',
  );
  // The address people open is TESSERA_BASE_URL (security keys work there only), not
  // the socket's: the log says both, the one to open first.
  await app.listen({ host: config.host, port: config.port, listenTextResolver: (address) => `Open ${config.baseUrl} (listening on ${address})` });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  process.stdout.write(
    `\n${config.productName} is running at ${config.baseUrl} (listening on ${config.host}:${port}, ${config.mode} mode, ${runtime.store.dialect}).\n`,
  );
  if (config.mode === 'development') {
    const setupLink = await issueSetupLink(runtime.deps);
    if (setupLink) {
      process.stdout.write(
        `\nNo account yet. Open this one-time setup link (valid for 1 hour) to create the first account and its owner:\n\n  ${setupLink}\n\n`,
      );
    }
    const kept = [config.smtp ? null : 'Emails', config.smsProvider === 'outbox' ? 'text messages' : null].filter(Boolean);
    if (kept.length > 0) process.stdout.write(`${kept.join(' and ')} go to the development outbox: ${config.baseUrl}/dev/outbox\n\n`);
  }
}
