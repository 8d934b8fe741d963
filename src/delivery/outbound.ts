// The HTTP client for calls to addresses an account admin typed: back-channel logout
// now, webhooks later. Such an address must not let an admin make Tessera reach the
// operator's internal network or a cloud metadata service (SECURITY.md, "Other apps":
// SSRF), so each call:
// - takes http: and https: addresses only, without a user name or password in them;
// - resolves the host itself and refuses the call if ANY of its addresses is not public
//   (src/domain/outbound-addresses.ts) and not in TESSERA_OUTBOUND_ALLOW, an IP literal
//   the same way;
// - connects to exactly the addresses it checked (the connection's own lookup answers
//   them), so a DNS answer that changes between the check and the connection (DNS
//   rebinding) changes nothing; TLS still names and verifies the host;
// - never follows a redirect: a 3xx answer is a failure, so a redirect to a private
//   address is never taken;
// - gives up after a timeout, reads at most a capped answer, and uses no connection
//   pool and no proxy.
// Error messages name the host (with its port) and never the path, the query or any
// credentials: they end up in the log and in the outbox row's last_error.
import { lookup as lookupAll } from 'node:dns/promises';
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkOutboundAddress, parseIpAddress, type IpRange } from '../domain/outbound-addresses.js';

export const OUTBOUND_TIMEOUT_IN_MILLISECONDS = 10_000;
/** Enough for any acknowledgement; a bigger answer is not read. */
export const OUTBOUND_MAX_RESPONSE_BYTES = 64 * 1024;

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Every address a host name resolves to (dns.lookup with all: true: what the system
 * resolver, /etc/hosts included, answers). */
export type ResolveHost = (hostname: string) => Promise<ResolvedAddress[]>;

const resolveWithSystem: ResolveHost = (hostname) => lookupAll(hostname, { all: true, order: 'verbatim' });

export interface OutboundRequest {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Only the status and headers count: the answer's body is not read (nor capped), and
   * the connection is closed once the headers are in. */
  discardBody?: boolean;
  /** Aborts the call (the outbox worker's own timeout). */
  signal?: AbortSignal;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What went wrong: `refused` (the address is not allowed, or not an http(s) URL),
 * `redirect` (a 3xx answer), `network` (no connection, reset, DNS failure), `timeout`
 * (no full answer in time, or the call was aborted), `too_large` (the answer). */
export type OutboundFailure = 'refused' | 'redirect' | 'network' | 'timeout' | 'too_large';

export class OutboundError extends Error {
  override name = 'OutboundError';
  constructor(
    readonly failure: OutboundFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface OutboundClientOptions {
  /** TESSERA_OUTBOUND_ALLOW. */
  allowed: readonly IpRange[];
  timeoutInMilliseconds?: number;
  maxResponseBytes?: number;
  /** Replaces the system resolver (tests). */
  resolve?: ResolveHost;
}

export class OutboundClient {
  private readonly timeoutInMilliseconds: number;
  private readonly maxResponseBytes: number;
  private readonly resolve: ResolveHost;

  constructor(private readonly options: OutboundClientOptions) {
    this.timeoutInMilliseconds = options.timeoutInMilliseconds ?? OUTBOUND_TIMEOUT_IN_MILLISECONDS;
    this.maxResponseBytes = options.maxResponseBytes ?? OUTBOUND_MAX_RESPONSE_BYTES;
    this.resolve = options.resolve ?? resolveWithSystem;
  }

  /** One call, answered with any status but a 3xx; throws an OutboundError otherwise. */
  async request(address: string, request: OutboundRequest): Promise<OutboundResponse> {
    const url = parseTarget(address);
    const timeout = AbortSignal.timeout(this.timeoutInMilliseconds);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    const aborted = () =>
      new OutboundError('timeout', timeout.aborted ? `${url.host}: no answer within ${this.timeoutInMilliseconds} ms` : `${url.host}: the call was cancelled`);
    if (signal.aborted) throw aborted();
    const addresses = await untilAborted(this.checkedAddresses(url), signal, aborted);
    return send(url, addresses, request, { signal, aborted, maxResponseBytes: this.maxResponseBytes });
  }

  /** The host's addresses, every one of them allowed; the connection goes to these. */
  private async checkedAddresses(url: URL): Promise<ResolvedAddress[]> {
    const hostname = bareHostname(url);
    const literal = parseIpAddress(hostname);
    let addresses: ResolvedAddress[];
    if (literal) {
      addresses = [{ address: hostname, family: literal.family }];
    } else {
      try {
        addresses = await this.resolve(hostname);
      } catch (error) {
        throw new OutboundError('network', `${url.host} could not be resolved: ${errorCode(error)}`);
      }
      if (addresses.length === 0) throw new OutboundError('network', `${url.host} could not be resolved: no address`);
    }
    for (const { address } of addresses) {
      const parsed = parseIpAddress(address);
      if (!parsed) throw new OutboundError('refused', `refused: ${url.host} resolves to something that is not an IP address`);
      const verdict = checkOutboundAddress(parsed, this.options.allowed);
      if (verdict.allowed) continue;
      const subject = literal ? `${url.host} is` : `${url.host} resolves to`;
      const remedy = verdict.allowable ? 'TESSERA_OUTBOUND_ALLOW does not allow it' : 'never called';
      throw new OutboundError('refused', `refused: ${subject} ${verdict.what}; ${remedy}`);
    }
    return addresses;
  }
}

function parseTarget(address: string): URL {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new OutboundError('refused', 'refused: not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OutboundError('refused', `refused: only http and https addresses are called, not ${url.protocol}`);
  }
  if (url.username || url.password) throw new OutboundError('refused', `refused: the address of ${url.host} holds a user name or password`);
  return url;
}

/** The host as a resolver or a socket takes it: an IPv6 literal without its brackets. */
function bareHostname(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : 'network error';
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, aborted: () => OutboundError): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Answers the connection's lookup with the checked addresses, whatever DNS says now. */
function pinnedLookup(hostname: string, addresses: ResolvedAddress[]): LookupFunction {
  return (asked, options, callback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : null;
    const answer = addresses.filter((entry) => family === null || entry.family === family);
    const first = answer[0];
    if (asked !== hostname || !first) {
      const error = Object.assign(new Error('no checked address'), { code: 'ENOTFOUND' });
      if (options.all) callback(error, []);
      else callback(error, '', 0);
      return;
    }
    if (options.all) callback(null, answer);
    else callback(null, first.address, first.family);
  };
}

function send(
  url: URL,
  addresses: ResolvedAddress[],
  request: OutboundRequest,
  limits: { signal: AbortSignal; aborted: () => OutboundError; maxResponseBytes: number },
): Promise<OutboundResponse> {
  const hostname = bareHostname(url);
  const body = request.body === undefined ? undefined : typeof request.body === 'string' ? Buffer.from(request.body) : request.body;
  const headers: Record<string, string> = { 'user-agent': 'Tessera', ...request.headers };
  if (body) headers['content-length'] = String(body.byteLength);
  return new Promise<OutboundResponse>((resolve, reject) => {
    let settled = false;
    let outgoing: ClientRequest | null = null;
    const finish = (error: OutboundError | null, response?: OutboundResponse) => {
      if (settled) return;
      settled = true;
      limits.signal.removeEventListener('abort', onAbort);
      if (error) {
        outgoing?.destroy();
        reject(error);
      } else resolve(response!);
    };
    const onAbort = () => finish(limits.aborted());
    if (limits.signal.aborted) {
      onAbort();
      return;
    }
    limits.signal.addEventListener('abort', onAbort, { once: true });
    outgoing = (url.protocol === 'https:' ? httpsRequest : httpRequest)({
      protocol: url.protocol,
      host: hostname,
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: request.method,
      headers,
      lookup: pinnedLookup(hostname, addresses),
      // A fresh connection each time: nothing pooled from an earlier answer, no proxy.
      agent: false,
    });
    outgoing.on('error', (error) => finish(new OutboundError('network', `${url.host} could not be reached: ${errorCode(error)}`)));
    outgoing.on('response', (incoming: IncomingMessage) => {
      const status = incoming.statusCode ?? 0;
      incoming.on('error', (error) => finish(new OutboundError('network', `${url.host} broke off its answer: ${errorCode(error)}`)));
      if (status >= 300 && status < 400) {
        // Where it points is not said: it may be just the private address refused here.
        finish(new OutboundError('redirect', `${url.host} answered HTTP ${status}, a redirect, which is not followed`));
        return;
      }
      if (request.discardBody) {
        finish(null, { status, headers: incoming.headers, body: Buffer.alloc(0) });
        outgoing?.destroy();
        return;
      }
      const tooLarge = () => new OutboundError('too_large', `${url.host} answered more than ${limits.maxResponseBytes} bytes`);
      if (Number(incoming.headers['content-length']) > limits.maxResponseBytes) {
        finish(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      incoming.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > limits.maxResponseBytes) finish(tooLarge());
        else chunks.push(chunk);
      });
      incoming.on('end', () => finish(null, { status, headers: incoming.headers, body: Buffer.concat(chunks) }));
      incoming.on('close', () => {
        if (!incoming.complete) finish(new OutboundError('network', `${url.host} broke off its answer`));
      });
    });
    outgoing.end(body);
  });
}
