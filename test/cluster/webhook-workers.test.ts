// Webhook deliveries across three server processes on one PostgreSQL, one of them
// killed with SIGKILL while deliveries are in flight (DESIGN.md, Automation; issue 26):
// each event reaches the receiver, verified by an independent implementation of
// Standard Webhooks; no event arrives twice, except those the killed worker had in
// flight (a few lanes), which go again once their claim runs out, with the same
// webhook-id and body
// (at least once, by design: src/delivery/webhook-worker.ts). The claim running out is
// not waited for (a minute): a worker in this process whose clock is a minute ahead
// takes what the dead one left.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutboundClient } from '../../src/delivery/outbound.js';
import { WEBHOOK_LANES, WebhookWorker } from '../../src/delivery/webhook-worker.js';
import { webhookEndpoint } from '../../src/services/webhooks.js';
import {
  Clock,
  POSTGRES_URL,
  STRONG_PASSWORD,
  addUser,
  postgresDatabaseUrl,
  setUpAccount,
  skipReason,
  startTestApp,
  type TestApp,
} from '../support/harness.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const skip = skipReason(!POSTGRES_URL, 'Webhook workers suite skipped: it needs TESSERA_TEST_DATABASE_URL');
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EVENTS = 45;

function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; output: { text: string } }> {
  const inherited: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('TESSERA_') && name !== 'PORT') inherited[name] = value;
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tessera'), 'serve'], {
    cwd: ROOT,
    env: { ...inherited, NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { text: '' };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output.text += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output.text += chunk));
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 30 s: ${output.text}`)), 30_000);
    child.stdout!.on('data', () => {
      if (/listening on 127\.0\.0\.1:\d+/.test(output.text)) {
        clearTimeout(timer);
        resolveStart({ child, output });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before listening: ${output.text}`));
    });
  });
}

describe('webhook deliveries across three processes, one killed', { skip, timeout: 180_000 }, () => {
  let app: TestApp;
  let receiver: WebhookReceiver;
  let receiverUrl: string;
  let database: { url: string; drop: () => Promise<void> };
  const dataDirs: string[] = [];
  const servers: ChildProcess[] = [];
  const keys = { TESSERA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`, TESSERA_HMAC_KEY: randomBytes(32).toString('base64') };

  before(async () => {
    receiver = new WebhookReceiver();
    receiverUrl = await receiver.start();
    database = await postgresDatabaseUrl();
    app = await startTestApp({
      clock: new Clock(Date.now()),
      env: { TESSERA_DATABASE_URL: database.url, TESSERA_OUTBOUND_ALLOW: '127.0.0.1/32', ...keys },
    });
  });
  after(async () => {
    for (const child of servers) child.kill('SIGKILL');
    await app?.close();
    await database?.drop();
    await receiver?.close();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it(`delivers ${EVENTS} events once each (the one in flight at the kill at least once), all signed`, async () => {
    const owner = (await setUpAccount(app)).token;
    const made = await app.api('POST', '/api/v1/admin/webhooks', {
      token: owner,
      body: { url: `${receiverUrl}/hook`, events: ['user.created'], method: 'password', code: STRONG_PASSWORD },
    });
    assert.equal(made.statusCode, 200, made.body);
    receiver.secret = made.json().secret;
    // Deliveries in flight long enough for the kill to catch one.
    receiver.delayInMilliseconds = 150;
    for (let i = 0; i < EVENTS; i += 1) await addUser(app, { account: 'acme', email: `person${i}@acme.test` });
    const queued = await app.runtime.deps.db.selectFrom('webhook_deliveries').select('event_id').execute();
    assert.equal(queued.length, EVENTS);

    for (let i = 0; i < 3; i += 1) {
      const dataDir = mkdtempSync(join(tmpdir(), `tessera-webhooks-${i}-`));
      dataDirs.push(dataDir);
      const { child } = await startServer({
        PORT: '0',
        TESSERA_HOST: '127.0.0.1',
        TESSERA_BASE_URL: 'http://tessera.test',
        TESSERA_DATA_DIR: dataDir,
        TESSERA_DATABASE_URL: database.url,
        TESSERA_OUTBOUND_ALLOW: '127.0.0.1/32',
        TESSERA_LOG_LEVEL: 'warn',
        ...keys,
      });
      servers.push(child);
    }
    const until = (condition: () => boolean, timeoutInMilliseconds: number) =>
      new Promise<void>((resolveWait, reject) => {
        const started = Date.now();
        const look = () => (condition() ? resolveWait() : Date.now() - started > timeoutInMilliseconds ? reject(new Error('timed out')) : setTimeout(look, 20));
        look();
      });
    await until(() => receiver.received.length >= 8, 60_000);
    servers[0]!.kill('SIGKILL');
    const distinct = () => new Set(receiver.received.map((r) => r.headers['webhook-id'])).size;
    // The two left deliver the rest, but not what the dead one had claimed.
    await until(() => distinct() >= EVENTS - 1, 90_000);
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
    const late = new WebhookWorker({
      db: app.runtime.deps.db,
      dialect: 'postgres',
      client: new OutboundClient({ allowed: app.config.outboundAllow }),
      now: () => Date.now() + 61_000,
      endpointOf: (id) => webhookEndpoint(app.runtime.deps, id),
      onWebhookFailing: async () => {},
    });
    await late.drain();
    await until(() => distinct() === EVENTS, 10_000);

    const rows = await app.runtime.deps.db.selectFrom('webhook_deliveries').select(['status', 'event_id']).execute();
    assert.deepEqual(
      rows.filter((row) => row.status !== 'delivered'),
      [],
      'every delivery is recorded as delivered',
    );
    assert.ok(
      receiver.received.every((r) => r.verified),
      receiver.received.find((r) => !r.verified)?.verifyError ?? '',
    );
    const repeats = receiver.received.length - EVENTS;
    assert.ok(
      repeats >= 0 && repeats <= WEBHOOK_LANES,
      `${repeats} repeats: only the deliveries in flight at the kill (at most ${WEBHOOK_LANES}) may arrive twice`,
    );
    const bodies = new Map<string, string>();
    for (const request of receiver.received) {
      const id = String(request.headers['webhook-id']);
      if (bodies.has(id)) assert.equal(request.body, bodies.get(id), 'a repeat carries the same body');
      bodies.set(id, request.body);
    }
  });
});
