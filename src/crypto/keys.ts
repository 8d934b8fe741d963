// Keys live outside the database: in TESSERA_ENCRYPTION_KEYS / TESSERA_HMAC_KEY, or
// (development) in <data dir>/keys.json, created with mode 0600 on first start.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

export interface KeyRing {
  /** New values are encrypted under this key. */
  active: EncryptionKey;
  byId: Map<string, EncryptionKey>;
  /** Key for HMAC of recovery codes; never rotated, since stored HMACs depend on it. */
  hmacKey: Buffer;
}

interface KeyFile {
  encryption_keys: { id: string; key: string }[];
  hmac_key: string;
}

export class KeyError extends Error {
  override name = 'KeyError';
}

function decodeKey(label: string, base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new KeyError(`${label} must be 32 bytes in base64 (got ${key.length} bytes)`);
  return key;
}

function ringFrom(keys: EncryptionKey[], hmacKey: Buffer): KeyRing {
  const first = keys[0];
  if (!first) throw new KeyError('at least one encryption key is needed');
  const byId = new Map<string, EncryptionKey>();
  for (const key of keys) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(key.id)) throw new KeyError(`key id "${key.id}" must be 1-32 letters, digits, - or _`);
    if (byId.has(key.id)) throw new KeyError(`key id "${key.id}" appears twice`);
    byId.set(key.id, key);
  }
  return { active: first, byId, hmacKey };
}

/** Parses `id:base64,id:base64` (the first is active). */
export function parseEncryptionKeys(raw: string): EncryptionKey[] {
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const colon = part.indexOf(':');
      if (colon <= 0) throw new KeyError('TESSERA_ENCRYPTION_KEYS must look like "id:base64key[,id:base64key…]"');
      const id = part.slice(0, colon);
      return { id, key: decodeKey(`encryption key "${id}"`, part.slice(colon + 1)) };
    });
}

export function keyFilePath(dataDir: string): string {
  return join(dataDir, 'keys.json');
}

function writeKeyFile(dataDir: string, file: KeyFile): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = keyFilePath(dataDir);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

function newKeyId(): string {
  return `k${Date.now().toString(36)}`;
}

function readKeyFile(dataDir: string): KeyFile | null {
  const path = keyFilePath(dataDir);
  if (!existsSync(path)) return null;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as KeyFile;
  if (!Array.isArray(parsed.encryption_keys) || typeof parsed.hmac_key !== 'string') {
    throw new KeyError(`${path} is not a Tessera key file`);
  }
  return parsed;
}

/**
 * The key ring from the environment, else from the data dir's key file, which is
 * created when missing only if `mayCreate`: a database that already holds data was
 * sealed under the lost file's keys, and new keys would turn every stored secret into
 * an error and every right recovery code into a failure.
 */
export function loadKeyRing(options: { dataDir: string; encryptionKeys: string | null; hmacKey: string | null; mayCreate?: boolean }): KeyRing {
  if (options.encryptionKeys !== null) {
    if (options.hmacKey === null) throw new KeyError('TESSERA_HMAC_KEY must be set together with TESSERA_ENCRYPTION_KEYS');
    return ringFrom(parseEncryptionKeys(options.encryptionKeys), decodeKey('TESSERA_HMAC_KEY', options.hmacKey));
  }
  let file = readKeyFile(options.dataDir);
  if (file === null) {
    if (options.mayCreate === false) {
      throw new KeyError(
        `${keyFilePath(options.dataDir)} is missing, but the database already holds secrets sealed with its keys. Restore that file from your backup (or set TESSERA_ENCRYPTION_KEYS and TESSERA_HMAC_KEY); a new key file would make every authenticator, phone number and recovery code unusable.`,
      );
    }
    file = {
      encryption_keys: [{ id: newKeyId(), key: randomBytes(32).toString('base64') }],
      hmac_key: randomBytes(32).toString('base64'),
    };
    writeKeyFile(options.dataDir, file);
  }
  const keys = file.encryption_keys.map((k) => ({ id: k.id, key: decodeKey(`key "${k.id}"`, k.key) }));
  const hmacKey = options.hmacKey !== null ? decodeKey('TESSERA_HMAC_KEY', options.hmacKey) : decodeKey('hmac_key', file.hmac_key);
  return ringFrom(keys, hmacKey);
}

/** Refuses a ring that lacks a key the database's sealed values name. */
export function checkKeyIdsKnown(ring: KeyRing, storedKeyIds: readonly string[], where: string): void {
  const missing = storedKeyIds.filter((id) => !ring.byId.has(id));
  if (missing.length > 0) {
    throw new KeyError(
      `stored secrets are sealed with key${missing.length === 1 ? '' : 's'} ${missing.map((id) => `"${id}"`).join(', ')}, which ${where} lacks. Restore the key file (or TESSERA_ENCRYPTION_KEYS) that holds ${missing.length === 1 ? 'it' : 'them'}.`,
    );
  }
}

/** Adds a new active key to the key file and returns the new ring (the old keys stay
 * for decryption until every value has been re-encrypted). */
export function addKeyToFile(dataDir: string): KeyRing {
  const file = readKeyFile(dataDir);
  if (file === null) throw new KeyError(`no key file in ${dataDir}`);
  let id = newKeyId();
  while (file.encryption_keys.some((k) => k.id === id)) id = `${id}x`;
  file.encryption_keys.unshift({ id, key: randomBytes(32).toString('base64') });
  writeKeyFile(dataDir, file);
  return loadKeyRing({ dataDir, encryptionKeys: null, hmacKey: null });
}

/** Drops every key but the active one from the key file, once nothing uses them. */
export function pruneKeyFile(dataDir: string): void {
  const file = readKeyFile(dataDir);
  if (file === null || file.encryption_keys.length <= 1) return;
  file.encryption_keys = file.encryption_keys.slice(0, 1);
  writeKeyFile(dataDir, file);
}
