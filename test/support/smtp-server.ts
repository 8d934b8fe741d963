// A real SMTP server inside the test process (the smtp-server package) that keeps
// every mail it receives, parsed just enough to check headers and the text and HTML
// parts: RFC 5322 headers with RFC 2047 encoded words, multipart bodies, and
// quoted-printable or base64 transfer encodings.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** SMTP envelope: MAIL FROM and RCPT TO. */
  envelopeFrom: string;
  envelopeTo: string[];
  /** The message as received (headers and encoded body). */
  raw: string;
  headers: Map<string, string>;
  subject: string;
  text: string | null;
  html: string | null;
}

export interface TestSmtpServerOptions {
  /** 0 (the default) lets the OS choose. */
  port?: number;
  /** Require AUTH with these credentials (otherwise AUTH is optional). */
  credentials?: { user: string; pass: string };
  /** Recipients answered "550 no such user". */
  refuseRecipient?: (address: string) => boolean;
  /** Wait this long before accepting each message (widens race windows). */
  delayInMilliseconds?: number;
}

export class TestSmtpServer {
  readonly mails: ReceivedMail[] = [];
  /** Errors of client connections (resets), kept rather than thrown. */
  readonly connectionErrors: string[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(options: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
    let instance: TestSmtpServer | null = null;
    const server = new SMTPServer({
      logger: false,
      // No STARTTLS: nodemailer would upgrade and then refuse the self-signed certificate.
      disabledCommands: options.credentials ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !options.credentials,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (options.credentials && auth.username === options.credentials.user && auth.password === options.credentials.pass) {
          callback(null, { user: auth.username });
        } else {
          callback(new Error('Invalid username or password'));
        }
      },
      onRcptTo(address, _session, callback) {
        if (options.refuseRecipient?.(address.address)) {
          const error = new Error('No such user here') as Error & { responseCode: number };
          error.responseCode = 550;
          callback(error);
        } else {
          callback();
        }
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const finish = () => {
            const raw = Buffer.concat(chunks).toString('latin1');
            const from = session.envelope.mailFrom;
            instance!.receive({
              envelopeFrom: from ? from.address : '',
              envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              ...parseMail(raw),
            });
            callback();
          };
          if (options.delayInMilliseconds) setTimeout(finish, options.delayInMilliseconds);
          else finish();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.server.address() as AddressInfo).port;
    instance = new TestSmtpServer(server, port);
    // A client that goes away mid-session (a server killed by the crash suite) makes
    // smtp-server emit 'error' (ECONNRESET); unheard, it would end the test process.
    server.on('error', (error: Error) => instance!.connectionErrors.push(error.message));
    return instance;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  mailsTo(address: string): ReceivedMail[] {
    return this.mails.filter((mail) => mail.envelopeTo.includes(address));
  }

  /** Resolves once `count` mails in all have arrived; fails after the timeout. */
  async waitForMails(count: number, timeoutInMilliseconds = 5000): Promise<void> {
    if (this.mails.length >= count) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.waiters.push({ count, resolve })),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`expected ${count} mails within ${timeoutInMilliseconds} ms, got ${this.mails.length}`)),
          timeoutInMilliseconds,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private receive(mail: ReceivedMail): void {
    this.mails.push(mail);
    this.waiters = this.waiters.filter((waiter) => {
      if (this.mails.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }
}

// ---- a minimal MIME reader -------------------------------------------------

function splitHead(raw: string): { head: string; body: string } {
  const at = raw.indexOf('\r\n\r\n');
  return at === -1 ? { head: raw, body: '' } : { head: raw.slice(0, at), body: raw.slice(at + 4) };
}

/** RFC 2047 encoded words, e.g. =?UTF-8?Q?Caf=C3=A9?= */
function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_match, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : quotedPrintable(text.replace(/_/g, ' ')),
    );
}

function parseHeaders(head: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n(?=[ \t])/g, '').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, decodeWords(line.slice(colon + 1).trim()));
  }
  return headers;
}

/** Quoted-printable (RFC 2045 §6.7) to UTF-8 text. */
function quotedPrintable(encoded: string): string {
  const text = encoded.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeBody(body: string, transferEncoding: string): string {
  switch (transferEncoding.toLowerCase()) {
    case 'quoted-printable':
      return quotedPrintable(body);
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    default:
      return Buffer.from(body, 'latin1').toString('utf8');
  }
}

function collectParts(head: Map<string, string>, body: string, found: { text: string | null; html: string | null }): void {
  const contentType = head.get('content-type') ?? 'text/plain';
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
    if (!boundary) return;
    const sections = body.split(`--${boundary}`);
    // sections[0] is the preamble; the last starts with "--" (the closing delimiter).
    for (const section of sections.slice(1)) {
      if (section.startsWith('--')) break;
      const part = splitHead(section.replace(/^\r\n/, '').replace(/\r\n$/, ''));
      collectParts(parseHeaders(part.head), part.body, found);
    }
    return;
  }
  const decoded = decodeBody(body, head.get('content-transfer-encoding') ?? '7bit');
  if (type === 'text/plain' && found.text === null) found.text = decoded.replace(/\r\n/g, '\n');
  if (type === 'text/html' && found.html === null) found.html = decoded;
}

export function parseMail(raw: string): Pick<ReceivedMail, 'raw' | 'headers' | 'subject' | 'text' | 'html'> {
  const { head, body } = splitHead(raw);
  const headers = parseHeaders(head);
  const found = { text: null as string | null, html: null as string | null };
  collectParts(headers, body, found);
  return { raw, headers, subject: headers.get('subject') ?? '', text: found.text, html: found.html };
}
