// The SMTP sender on its own: credentials from the URL, the headers it sets, and
// timeouts that keep a silent server from holding the worker. Also the SMTP settings.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from '../../src/config.js';
import { SmtpSender, fromDomain } from '../../src/delivery/smtp-sender.js';
import { TestSmtpServer } from '../support/smtp-server.js';

const PAYLOAD = { to: 'ann@acme.test', subject: 'Café — hello', text: 'Plain part: https://tessera.test/x', html: '<p>HTML part</p>' };

describe('SMTP sender', { timeout: 30_000 }, () => {
  let server: TestSmtpServer;

  before(async () => {
    server = await TestSmtpServer.start({ credentials: { user: 'mailer@acme.test', pass: 'p@ss:w/rd' } });
  });
  after(async () => server?.close());

  it('logs in with the user and password of the URL (percent-encoded) and sends both parts', async () => {
    const sender = new SmtpSender({ url: `smtp://mailer%40acme.test:p%40ss%3Aw%2Frd@127.0.0.1:${server.port}`, from: '"Acme" <no-reply@acme.test>' });
    await sender.send(PAYLOAD, { messageId: 'row-1' });
    await sender.close();
    assert.equal(server.mails.length, 1);
    const mail = server.mails[0]!;
    assert.deepEqual(mail.envelopeTo, ['ann@acme.test']);
    assert.equal(mail.envelopeFrom, 'no-reply@acme.test');
    assert.equal(mail.subject, 'Café — hello');
    assert.equal(mail.text, 'Plain part: https://tessera.test/x');
    assert.equal(mail.html, '<p>HTML part</p>');
    assert.equal(mail.headers.get('message-id'), '<row-1@acme.test>', 'the same id on every attempt');
    assert.equal(mail.headers.get('auto-submitted'), 'auto-generated');
    assert.equal(sender.keepsPayload, false, 'the outbox erases a mail once SMTP has it');
  });

  it('a wrong password is an error the worker retries, not a silent loss', async () => {
    const sender = new SmtpSender({ url: `smtp://mailer%40acme.test:wrong@127.0.0.1:${server.port}`, from: 'no-reply@acme.test' });
    await assert.rejects(sender.send(PAYLOAD), /Invalid login|535/);
    assert.equal(server.mails.length, 1, 'nothing more arrived');
  });

  it('a closed port fails at once', async () => {
    const closed = await TestSmtpServer.start();
    const port = closed.port;
    await closed.close();
    const sender = new SmtpSender({ url: `smtp://127.0.0.1:${port}`, from: 'no-reply@acme.test' });
    await assert.rejects(sender.send(PAYLOAD), /ECONNREFUSED/);
  });

  describe('a server that accepts the connection and never speaks', () => {
    let silent: Server;
    const sockets: Socket[] = [];
    before(async () => {
      silent = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    });
    after(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('gives up after the greeting timeout instead of hanging', async () => {
      const port = (silent.address() as AddressInfo).port;
      const sender = new SmtpSender({ url: `smtp://127.0.0.1:${port}`, from: 'no-reply@acme.test' }, { greetingInMilliseconds: 300 });
      const started = Date.now();
      await assert.rejects(sender.send(PAYLOAD), /Greeting never received|timeout/i);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 3000, `gave up after ${elapsed} ms`);
    });

    it('stops at once when the worker aborts the attempt', async () => {
      const port = (silent.address() as AddressInfo).port;
      const sender = new SmtpSender({ url: `smtp://127.0.0.1:${port}`, from: 'no-reply@acme.test' });
      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(new Error('worker gave up')), 100);
      await assert.rejects(sender.send(PAYLOAD, { messageId: 'row-2', signal: controller.signal }));
      assert.ok(Date.now() - started < 2000, 'the default greeting timeout (5 s) was not waited for');
    });
  });

  it('takes the Message-ID domain from the From address', () => {
    assert.equal(fromDomain('"Tessera" <no-reply@mail.example.com>'), 'mail.example.com');
    assert.equal(fromDomain('no-reply@example.org'), 'example.org');
    assert.equal(fromDomain('"Tessera" <no-reply@[::1]>'), 'tessera.invalid');
  });
});

describe('SMTP settings', () => {
  it('TESSERA_SMTP_URL turns SMTP on; the From address defaults to the product name at the base URL host', () => {
    const config = loadConfig(
      { TESSERA_SMTP_URL: 'smtps://mailer:s3cret@smtp.example.com:465', TESSERA_BASE_URL: 'https://sign-in.example.com', TESSERA_PRODUCT_NAME: 'Acme "ID"' },
      '/tmp',
    );
    assert.deepEqual(config.smtp, { url: 'smtps://mailer:s3cret@smtp.example.com:465', from: '"Acme \\"ID\\"" <no-reply@sign-in.example.com>' });
    assert.equal(loadConfig({}, '/tmp').smtp, null);
    assert.equal(
      loadConfig({ TESSERA_SMTP_URL: 'smtp://localhost:25', TESSERA_SMTP_FROM: ' Help <help@acme.test> ' }, '/tmp').smtp?.from,
      'Help <help@acme.test>',
    );
  });

  it('refuses a bad URL with a clear message that never repeats the password', () => {
    for (const url of ['smtp//mailer:s3cret@host', 'https://mailer:s3cret@smtp.example.com', 'smtp://mailer:s3cret@']) {
      assert.throws(
        () => loadConfig({ TESSERA_SMTP_URL: url }, '/tmp'),
        (error: unknown) => error instanceof ConfigError && /TESSERA_SMTP_URL/.test(error.message) && !error.message.includes('s3cret'),
        url,
      );
    }
  });

  it('refuses a bad From address, and a From address without a URL', () => {
    for (const from of ['not an address', 'a@b.test\r\nBcc: x@y.test', 'Name <>']) {
      assert.throws(() => loadConfig({ TESSERA_SMTP_URL: 'smtp://localhost', TESSERA_SMTP_FROM: from }, '/tmp'), /TESSERA_SMTP_FROM must be an address/);
    }
    assert.throws(() => loadConfig({ TESSERA_SMTP_FROM: 'help@acme.test' }, '/tmp'), /TESSERA_SMTP_FROM is set but TESSERA_SMTP_URL is not/);
  });
});
