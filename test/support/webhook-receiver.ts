// A webhook receiver on loopback for the tests: it records every request and checks
// its signature with the `standardwebhooks` package, an implementation of the Standard
// Webhooks specification that Tessera does not use, so a mistake in Tessera's signing
// shows here. Each answer's status comes from `answers` (first in, first out), then
// `defaultStatus`.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** The signature checked out (against `secret`, when it was set). */
  verified: boolean;
  verifyError: string | null;
  status: number;
  at: number;
}

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  answers: (number | { status: number; headers: Record<string, string> })[] = [];
  defaultStatus = 200;
  secret: string | null = null;
  /** How long each answer waits (deliveries in flight, for the crash test). */
  delayInMilliseconds = 0;
  private server: Server | null = null;

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let verified = false;
        let verifyError: string | null = null;
        if (this.secret) {
          try {
            new Webhook(this.secret).verify(body, request.headers as Record<string, string>);
            verified = true;
          } catch (error) {
            verifyError = (error as Error).message;
          }
        }
        const next = this.answers.shift() ?? this.defaultStatus;
        const answer = typeof next === 'number' ? { status: next, headers: {} } : next;
        this.received.push({ headers: request.headers, body, verified, verifyError, status: answer.status, at: Date.now() });
        setTimeout(() => {
          response.writeHead(answer.status, answer.headers);
          response.end(answer.status < 300 ? '{"ok":true}' : '');
        }, this.delayInMilliseconds);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
