// Re-encrypts every stored secret under the active key, so old keys can be retired.
import type { Kysely } from 'kysely';
import type { KeyRing } from '../crypto/keys.js';
import { decryptSecret, encryptSecret, isCurrent, sealedPlace } from '../crypto/secret-box.js';
import type { Database } from '../store/schema.js';
import { SEALED_COLUMNS, listSealedValues, replaceSealedValue } from '../store/sealed-values.js';

export interface RotationReport {
  reencrypted: number;
  alreadyCurrent: number;
}

export async function reencryptAll(db: Kysely<Database>, ring: KeyRing): Promise<RotationReport> {
  const report: RotationReport = { reencrypted: 0, alreadyCurrent: 0 };
  for (const place of SEALED_COLUMNS) {
    // One transaction per column: a value is either fully re-encrypted or untouched.
    await db.transaction().execute(async (trx) => {
      for (const { id, sealed } of await listSealedValues(trx, place)) {
        if (!sealed) continue;
        if (isCurrent(ring, sealed)) {
          report.alreadyCurrent += 1;
          continue;
        }
        const boundTo = sealedPlace(place.table, place.column, id);
        await replaceSealedValue(trx, place, id, encryptSecret(ring, decryptSecret(ring, sealed, boundTo), boundTo));
        report.reencrypted += 1;
      }
    });
  }
  return report;
}
