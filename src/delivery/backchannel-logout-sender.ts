// Back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.5): a POST of
// `logout_token=<JWT>`, form-encoded, to the app's backchannel_logout_uri. An account
// admin typed that address, so the call goes through the guarded client (outbound.ts).
// The token is signed at each attempt (SignLogoutToken, with the OpenID Connect
// provider's keys), so a retry carries a fresh iat and exp and no token is ever stored.
//
// Answers (§2.8): 200, or 204 as some frameworks send, is done (any 2xx is); 400 is the
// app refusing the token, and sending the same again cannot help: the message fails at
// once, as for any other 4xx but 408 and 429. 408, 429, 5xx, no connection and no
// answer in time are retried with the worker's backoff. A redirect or an address that
// is not allowed fails at once: the app's address or TESSERA_OUTBOUND_ALLOW needs fixing.
import type { Config } from '../config.js';
import type { LogoutTokenSubject } from '../domain/logout-token.js';
import type { BackchannelLogoutPayload } from '../store/outbox.js';
import { failureFor } from './http-delivery.js';
import { OutboundClient, OutboundError } from './outbound.js';
import { PermanentDeliveryError, type Delivery, type Sender } from './senders.js';

/** Signs a logout token for one app and person (src/domain/logout-token.ts has its claims). */
export type SignLogoutToken = (claims: LogoutTokenSubject) => Promise<string>;

function isLogoutPayload(payload: unknown): payload is BackchannelLogoutPayload {
  const { uri, client_id: clientId, sub, sid } = (payload ?? {}) as Record<string, unknown>;
  return typeof uri === 'string' && typeof clientId === 'string' && typeof sub === 'string' && (sid === undefined || typeof sid === 'string');
}

export class BackchannelLogoutSender implements Sender<BackchannelLogoutPayload> {
  /** Which app and person a delivered call named is erased once it is delivered. */
  readonly keepsPayload = false;

  constructor(
    private readonly client: OutboundClient,
    private readonly signLogoutToken: SignLogoutToken,
  ) {}

  async send(payload: BackchannelLogoutPayload, delivery?: Delivery): Promise<void> {
    if (!isLogoutPayload(payload)) throw new PermanentDeliveryError('back-channel logout not sent: the message is malformed');
    const app = `app ${JSON.stringify(payload.client_id)} (back-channel logout)`;
    let token: string;
    try {
      token = await this.signLogoutToken({ aud: payload.client_id, sub: payload.sub, ...(payload.sid === undefined ? {} : { sid: payload.sid }) });
    } catch (error) {
      throw new Error(`${app}: the logout token could not be signed (${error instanceof Error ? error.message : String(error)})`);
    }
    let status: number;
    try {
      ({ status } = await this.client.request(payload.uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
        discardBody: true,
        ...(delivery?.signal ? { signal: delivery.signal } : {}),
      }));
    } catch (error) {
      if (!(error instanceof OutboundError)) throw error;
      const text = `${app}: ${error.message}`;
      throw error.failure === 'refused' || error.failure === 'redirect' ? new PermanentDeliveryError(text) : new Error(text);
    }
    const failure = failureFor(app, status, status === 400 ? 'the app refused the logout token' : null);
    if (failure) throw failure;
  }
}

/** Until the OpenID Connect provider hands over its signer, each logout fails at once,
 * listed for the operator with the reason. */
export class UnsignedBackchannelLogoutSender implements Sender<BackchannelLogoutPayload> {
  readonly keepsPayload = false;
  async send(): Promise<void> {
    throw new PermanentDeliveryError('back-channel logout not sent: OpenID Connect signing is not set up');
  }
}

export function chooseBackchannelLogoutSender(config: Pick<Config, 'outboundAllow'>, signLogoutToken?: SignLogoutToken): Sender<BackchannelLogoutPayload> {
  return signLogoutToken
    ? new BackchannelLogoutSender(new OutboundClient({ allowed: config.outboundAllow }), signLogoutToken)
    : new UnsignedBackchannelLogoutSender();
}
