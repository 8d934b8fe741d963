// The guarded client for admin-typed addresses (SECURITY.md, "Other apps": SSRF),
// against real HTTP servers on 127.0.0.1: loopback, private, link-local and mapped
// addresses are refused before any connection, a host name is refused when any of its
// addresses is, redirects are never followed, and the operator's TESSERA_OUTBOUND_ALLOW
// lets a loopback receiver through. The connection goes to the address that was
// checked, whatever DNS answers afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config.js';
import { OutboundClient, OutboundError, type OutboundFailure, type ResolvedAddress } from '../../src/delivery/outbound.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A receiver on 127.0.0.1 that records each request and answers what `answer` says. */
class Receiver {
  readonly received: Received[] = [];
  answer: (request: Received, response: ServerResponse) => void = (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  };
  private server: Server | null = null;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
        this.received.push(received);
        this.answer(received, response);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

const allow = (raw: string) => loadConfig({ TESSERA_OUTBOUND_ALLOW: raw }).outboundAllow;

async function failure(call: Promise<unknown>): Promise<{ failure: OutboundFailure; message: string }> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof OutboundError, `an OutboundError, got ${String(error)}`);
    return { failure: error.failure, message: error.message };
  }
  assert.fail('the call went through');
}

describe('outbound calls to admin-typed addresses', { timeout: 30_000 }, () => {
  const receiver = new Receiver();
  const other = new Receiver();
  before(async () => {
    await receiver.start();
    await other.start();
  });
  after(async () => {
    await receiver.stop();
    await other.stop();
  });

  const post = (client: OutboundClient, url: string) => client.request(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });

  it('refuses loopback, private, link-local and IPv4-mapped addresses, and names that resolve to loopback, without connecting', async () => {
    const client = new OutboundClient({ allowed: [] });
    const before = receiver.received.length;
    for (const [url, expected] of [
      [`http://127.0.0.1:${receiver.port}/logout`, /^refused: 127\.0\.0\.1:\d+ is a loopback address \(RFC 1122\); TESSERA_OUTBOUND_ALLOW does not allow it$/],
      [`http://localhost:${receiver.port}/logout`, /^refused: localhost:\d+ resolves to a loopback address/],
      [`http://[::1]:${receiver.port}/logout`, /^refused: \[::1\]:\d+ is a loopback address \(RFC 4291\)/],
      [`http://10.0.0.1/logout`, /^refused: 10\.0\.0\.1 is a private address \(RFC 1918\)/],
      [`http://192.168.1.10:8080/logout`, /^refused: 192\.168\.1\.10:8080 is a private address/],
      [`http://169.254.169.254/latest/meta-data/iam/security-credentials/`, /^refused: 169\.254\.169\.254 is a link-local address .*cloud metadata/],
      [
        `http://[::ffff:127.0.0.1]:${receiver.port}/logout`,
        /^refused: \[::ffff:7f00:1\]:\d+ is a loopback address \(RFC 1122\), written as an IPv4-mapped IPv6 address/,
      ],
      [`http://[::ffff:169.254.169.254]/`, /link-local address .*IPv4-mapped/],
      [`http://[fd00:ec2::254]/latest/meta-data/`, /unique local/],
      [`http://0x7f.1:${receiver.port}/`, /^refused: 127\.0\.0\.1:\d+ is a loopback address/],
      [`http://2130706433:${receiver.port}/`, /^refused: 127\.0\.0\.1:\d+ is a loopback address/],
      [`http://0.0.0.0:${receiver.port}/`, /^refused: 0\.0\.0\.0:\d+ is "this network" .*; never called$/],
    ] as const) {
      const refused = await failure(post(client, url));
      assert.equal(refused.failure, 'refused', url);
      assert.match(refused.message, expected, url);
    }
    assert.equal(receiver.received.length, before, 'nothing reached the receiver');
  });

  it('takes http and https addresses only, never with credentials, and never says the path, the query or a password', async () => {
    const client = new OutboundClient({ allowed: allow('127.0.0.0/8') });
    for (const [url, expected] of [
      ['ftp://example.com/file', /^refused: only http and https addresses are called, not ftp:$/],
      ['file:///etc/passwd', /^refused: only http and https addresses are called, not file:$/],
      ['gopher://127.0.0.1:6379/_FLUSHALL', /not gopher:/],
      ['not a url?token=s3cret', /^refused: not a valid URL$/],
      [`http://admin:hunter2@127.0.0.1:${receiver.port}/logout?token=s3cret`, /^refused: the address of 127\.0\.0\.1:\d+ holds a user name or password$/],
    ] as const) {
      const refused = await failure(post(client, url));
      assert.equal(refused.failure, 'refused', url);
      assert.match(refused.message, expected, url);
    }
    const strict = new OutboundClient({ allowed: [] });
    for (const url of [`http://admin:hunter2@10.1.2.3/secret-path?token=s3cret`, `http://10.1.2.3/secret-path?token=s3cret`]) {
      const { message } = await failure(post(strict, url));
      for (const secret of ['hunter2', 'admin', 's3cret', 'secret-path', 'token']) assert.ok(!message.includes(secret), `${message} says ${secret}`);
    }
    // A port nobody listens on, allowed: a network failure, still without path or query.
    const closed = await failure(post(client, `http://127.0.0.1:1/secret-path?token=s3cret`));
    assert.equal(closed.failure, 'network');
    assert.match(closed.message, /^127\.0\.0\.1:1 could not be reached: ECONNREFUSED$/);
  });

  it('lets a loopback receiver through when TESSERA_OUTBOUND_ALLOW has 127.0.0.0/8', async () => {
    const client = new OutboundClient({ allowed: allow('127.0.0.0/8') });
    receiver.answer = (_request, response) => response.writeHead(200, { 'content-type': 'text/plain', 'x-answer': 'yes' }).end('received');
    const response = await client.request(`http://127.0.0.1:${receiver.port}/logout?app=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'logout_token=abc',
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-answer'], 'yes');
    assert.equal(response.body.toString(), 'received');
    const request = receiver.received.at(-1)!;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/logout?app=1');
    assert.equal(request.body, 'logout_token=abc');
    assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(request.headers['content-length'], '16');
    assert.equal(request.headers.host, `127.0.0.1:${receiver.port}`);
    // The IPv4-mapped spelling of an allowed address is allowed too; ::1 is not in 127.0.0.0/8.
    assert.equal((await post(client, `http://[::ffff:127.0.0.1]:${receiver.port}/`)).status, 200);
    assert.equal((await failure(post(client, `http://[::1]:${receiver.port}/`))).failure, 'refused');
    // Any status but a redirect is the caller's to judge.
    receiver.answer = (_request, response) => response.writeHead(503).end();
    assert.equal((await post(client, `http://127.0.0.1:${receiver.port}/`)).status, 503);
  });

  it('refuses a host name when any one of its addresses is not allowed', async () => {
    const resolve = async (): Promise<ResolvedAddress[]> => [
      { address: '127.0.0.1', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    const client = new OutboundClient({ allowed: allow('127.0.0.0/8'), resolve });
    const before = receiver.received.length;
    const refused = await failure(post(client, `http://rp.example.test:${receiver.port}/logout`));
    assert.equal(refused.failure, 'refused');
    assert.match(refused.message, /^refused: rp\.example\.test:\d+ resolves to a private address \(RFC 1918\); TESSERA_OUTBOUND_ALLOW does not allow it$/);
    assert.equal(receiver.received.length, before);
  });

  it('connects to the address it checked, however DNS answers afterwards (DNS rebinding)', async () => {
    const asked: string[] = [];
    // The first answer passes the check; any later one would point somewhere private.
    const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
      asked.push(hostname);
      return asked.length === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.0.0.7', family: 4 }];
    };
    const client = new OutboundClient({ allowed: allow('127.0.0.1'), resolve });
    receiver.answer = (_request, response) => response.writeHead(204).end();
    const response = await post(client, `http://rebind.example.test:${receiver.port}/logout`);
    assert.equal(response.status, 204);
    assert.deepEqual(asked, ['rebind.example.test'], 'resolved once');
    assert.equal(receiver.received.at(-1)!.headers.host, `rebind.example.test:${receiver.port}`, 'the host name is kept for Host (and TLS)');
    // Each call checks afresh: the second call gets the private answer and is refused.
    assert.equal((await failure(post(client, `http://rebind.example.test:${receiver.port}/logout`))).failure, 'refused');
  });

  it('never follows a redirect, to a private address or anywhere else', async () => {
    const client = new OutboundClient({ allowed: allow('127.0.0.0/8') });
    const otherBefore = other.received.length;
    for (const location of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/admin', `http://127.0.0.1:${other.port}/elsewhere`]) {
      for (const status of [301, 302, 303, 307, 308]) {
        receiver.answer = (_request, response) => response.writeHead(status, { location }).end();
        const redirected = await failure(post(client, `http://127.0.0.1:${receiver.port}/logout`));
        assert.equal(redirected.failure, 'redirect');
        assert.match(redirected.message, new RegExp(`^127\\.0\\.0\\.1:\\d+ answered HTTP ${status}, a redirect, which is not followed$`));
        assert.ok(!redirected.message.includes(location), 'where it pointed is not repeated');
      }
    }
    assert.equal(other.received.length, otherBefore, 'the redirect target was never called');
  });

  it('gives up on a receiver that does not answer in time, and on an answer too large', async () => {
    const client = new OutboundClient({ allowed: allow('127.0.0.0/8'), timeoutInMilliseconds: 200, maxResponseBytes: 1024 });
    receiver.answer = () => {}; // never answers
    const started = Date.now();
    const slow = await failure(post(client, `http://127.0.0.1:${receiver.port}/slow`));
    assert.equal(slow.failure, 'timeout');
    assert.match(slow.message, /^127\.0\.0\.1:\d+: no answer within 200 ms$/);
    assert.ok(Date.now() - started < 2000);

    receiver.answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('x'.repeat(600));
      response.end('y'.repeat(600)); // chunked: no content-length to go by
    };
    const large = await failure(post(client, `http://127.0.0.1:${receiver.port}/large`));
    assert.equal(large.failure, 'too_large');
    assert.match(large.message, /answered more than 1024 bytes/);
    receiver.answer = (_request, response) => response.writeHead(200, { 'content-length': '5000' }).end('z'.repeat(5000));
    assert.equal((await failure(post(client, `http://127.0.0.1:${receiver.port}/large`))).failure, 'too_large');
    // A caller that only wants the status does not read the body at all.
    const status = await client.request(`http://127.0.0.1:${receiver.port}/large`, { method: 'POST', body: 'x', discardBody: true });
    assert.equal(status.status, 200);
    assert.equal(status.body.length, 0);

    const controller = new AbortController();
    receiver.answer = () => {};
    const cancelled = client.request(`http://127.0.0.1:${receiver.port}/slow`, { method: 'GET', signal: controller.signal });
    controller.abort();
    const aborted = await failure(cancelled);
    assert.equal(aborted.failure, 'timeout');
    assert.match(aborted.message, /the call was cancelled/);
  });
});
