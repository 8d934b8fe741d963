// Sends email through an SMTP server (nodemailer's SMTP transport). Every failure is
// thrown, so the outbox worker retries with backoff; timeouts of a few seconds keep a
// dead or silent server from holding the worker.
import type { Transporter } from 'nodemailer';
import type { SmtpConfig } from '../config.js';
import type { OutboxPayload } from '../store/outbox.js';
import type { Delivery, Sender } from './senders.js';

export interface SmtpTimeouts {
  /** Until the TCP (or TLS, for smtps://) connection is open. */
  connectionInMilliseconds: number;
  /** Until the server's 220 greeting. */
  greetingInMilliseconds: number;
  /** Of silence in the middle of a conversation. */
  socketInMilliseconds: number;
}

const DEFAULT_TIMEOUTS: SmtpTimeouts = {
  connectionInMilliseconds: 5_000,
  greetingInMilliseconds: 5_000,
  socketInMilliseconds: 15_000,
};

/** The part after "@" in the From address, for Message-ID headers. */
export function fromDomain(from: string): string {
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;
  const domain = address.slice(address.lastIndexOf('@') + 1).trim();
  return /^[A-Za-z0-9.-]+$/.test(domain) ? domain : 'tessera.invalid';
}

export class SmtpSender implements Sender {
  /** A sent mail's payload (recipient, links) is erased: a database dump holds no link. */
  readonly keepsPayload = false;
  private transport: Promise<Transporter> | null = null;
  private readonly timeouts: SmtpTimeouts;
  private readonly messageIdDomain: string;

  constructor(
    private readonly smtp: SmtpConfig,
    timeouts: Partial<SmtpTimeouts> = {},
  ) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...timeouts };
    this.messageIdDomain = fromDomain(smtp.from);
  }

  /** nodemailer is loaded on the first send, so commands that never mail start faster. */
  private connect(): Promise<Transporter> {
    this.transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      // smtp:// upgrades with STARTTLS when the server offers it; smtps:// is TLS from
      // the first byte (port 465). user:pass in the URL turns on AUTH. Query parameters
      // (?requireTLS=true, ?tls.servername=…) reach nodemailer as they are.
      nodemailer.createTransport({
        url: this.smtp.url,
        connectionTimeout: this.timeouts.connectionInMilliseconds,
        greetingTimeout: this.timeouts.greetingInMilliseconds,
        socketTimeout: this.timeouts.socketInMilliseconds,
        dnsTimeout: this.timeouts.connectionInMilliseconds,
      }),
    );
    return this.transport;
  }

  async send(payload: OutboxPayload, delivery?: Delivery): Promise<void> {
    const transport = await this.connect();
    await transport.sendMail({
      from: this.smtp.from,
      to: payload.to,
      subject: payload.subject,
      text: payload.text,
      ...(payload.html ? { html: payload.html } : {}),
      // The same Message-ID on every attempt: if a retry repeats a mail the server had
      // in fact accepted, mail systems can tell it is the same one.
      ...(delivery ? { messageId: `<${delivery.messageId}@${this.messageIdDomain}>` } : {}),
      // RFC 3834 §5: an automatic notification; vacation responders must not answer it.
      headers: { 'Auto-Submitted': 'auto-generated' },
      // The content is ours, but nothing in a mail may make nodemailer read a file or fetch a URL.
      disableFileAccess: true,
      disableUrlAccess: true,
      ...(delivery?.signal ? { signal: delivery.signal } : {}),
    });
  }

  async close(): Promise<void> {
    (await this.transport)?.close();
  }
}
