// oidc-provider's storage on our database (DESIGN.md, OpenID Connect: Storage). Each
// model's rows sit in oidc_records under an HMAC of their id: the id of a code, token,
// session or interaction is the bearer secret itself, so it is neither stored nor
// repeated in the payload. Clients are not stored here: they are the account's apps.
// "consume" is one conditional update: of two requests redeeming one authorization
// code or refresh token, on any instance, one wins; the other revokes what the grant
// gave (RFC 6749 §4.1.2) and gets invalid_grant.
import type { Kysely } from 'kysely';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { hmacHex } from '../crypto/tokens.js';
import type { KeyRing } from '../crypto/keys.js';
import { findAppById } from '../store/apps.js';
import {
  consumeOidcRecord,
  deleteOidcGrantRecords,
  deleteOidcRecord,
  findOidcRecord,
  findOidcRecordByUid,
  findOidcRecordGrantId,
  upsertOidcRecord,
  type StoredOidcRecord,
} from '../store/oidc-records.js';
import type { App, Database } from '../store/schema.js';

export interface OidcAdapterDeps {
  db: Kysely<Database>;
  keys: KeyRing;
  now: () => number;
}

/** Client metadata as oidc-provider reads it, from an app row; null for a proxy app. */
export function clientMetadataOf(app: App): AdapterPayload | null {
  if (app.kind === 'proxy') return null;
  const backchannel = app.backchannel_logout_uri ? { backchannel_logout_uri: app.backchannel_logout_uri, backchannel_logout_session_required: false } : {};
  return {
    client_id: app.id,
    client_name: app.name,
    redirect_uris: JSON.parse(app.redirect_uris) as string[],
    post_logout_redirect_uris: JSON.parse(app.post_logout_redirect_uris) as string[],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: 'ES256',
    ...(app.kind === 'public'
      ? { token_endpoint_auth_method: 'none' }
      : // The stored SHA-256 stands in for the secret; http/oidc/provider.ts compares
        // the one presented against it.
        { token_endpoint_auth_method: 'client_secret_basic', client_secret: app.secret_hash ?? '' }),
    ...backchannel,
  };
}

function payloadOf(id: string, record: StoredOidcRecord | undefined): AdapterPayload | undefined {
  if (!record) return undefined;
  const payload = JSON.parse(record.payload) as AdapterPayload;
  payload.jti = id;
  if (record.consumed_at !== null) payload.consumed = Math.floor(record.consumed_at / 1000);
  return payload;
}

class RecordAdapter implements Adapter {
  constructor(
    private readonly deps: OidcAdapterDeps,
    private readonly model: string,
  ) {}

  private key(id: string): string {
    return hmacHex(this.deps.keys.hmacKey, `oidc:${this.model}:${id}`);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const { jti: _bearer, ...stored } = payload;
    await upsertOidcRecord(this.deps.db, {
      model: this.model,
      key: this.key(id),
      payload: JSON.stringify(stored),
      // A grant is its own grant: revoking it removes the row too.
      grantId: this.model === 'Grant' ? id : (payload.grantId ?? null),
      uid: typeof payload.uid === 'string' ? payload.uid : null,
      personId: payload.accountId ?? null,
      clientId: payload.clientId ?? null,
      expiresAt: typeof expiresIn === 'number' ? this.deps.now() + expiresIn * 1000 : null,
    });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return payloadOf(id, await findOidcRecord(this.deps.db, this.model, this.key(id)));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const record = await findOidcRecordByUid(this.deps.db, this.model, uid);
    if (!record) return undefined;
    // The session's id is not stored, and oidc-provider only asks by uid to end it.
    const payload = JSON.parse(record.payload) as AdapterPayload;
    return payload;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async consume(id: string): Promise<void> {
    const key = this.key(id);
    if (await consumeOidcRecord(this.deps.db, this.model, key, this.deps.now())) return;
    const grantId = await findOidcRecordGrantId(this.deps.db, this.model, key);
    if (grantId !== null) await deleteOidcGrantRecords(this.deps.db, grantId);
    throw new errors.InvalidGrant('grant already used');
  }

  async destroy(id: string): Promise<void> {
    await deleteOidcRecord(this.deps.db, this.model, this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await deleteOidcGrantRecords(this.deps.db, grantId);
  }
}

/** Clients are the account's apps, read on every use, so an edit or a deletion holds at
 * once on every instance. */
class AppClientAdapter implements Adapter {
  constructor(private readonly deps: OidcAdapterDeps) {}

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (id.length > 200) return undefined;
    const app = await findAppById(this.deps.db, id);
    return app ? (clientMetadataOf(app) ?? undefined) : undefined;
  }

  async upsert(): Promise<void> {
    throw new Error('apps are registered by account admins, not through oidc-provider');
  }
  async findByUid(): Promise<undefined> {
    return undefined;
  }
  async findByUserCode(): Promise<undefined> {
    return undefined;
  }
  async consume(): Promise<void> {}
  async destroy(): Promise<void> {}
  async revokeByGrantId(): Promise<void> {}
}

export function oidcAdapterFactory(deps: OidcAdapterDeps): (model: string) => Adapter {
  return (model) => (model === 'Client' ? new AppClientAdapter(deps) : new RecordAdapter(deps, model));
}
