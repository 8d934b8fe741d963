// Re-encrypts every stored secret under the active key, so old keys can be retired.
import type { Kysely } from 'kysely';
import type { KeyRing } from '../crypto/keys.js';
import { decryptSecret, encryptSecret, isCurrent, sealedPlace } from '../crypto/secret-box.js';
import type { Database } from '../store/schema.js';
import { SEALED_COLUMNS } from '../store/sealed-values.js';

export interface RotationReport {
  reencrypted: number;
  alreadyCurrent: number;
}

export async function reencryptAll(db: Kysely<Database>, ring: KeyRing): Promise<RotationReport> {
  const report: RotationReport = { reencrypted: 0, alreadyCurrent: 0 };
  for (const { table, column } of SEALED_COLUMNS) {
    // One transaction per column: a value is either fully re-encrypted or untouched.
    await db.transaction().execute(async (trx) => {
      const rows = (await trx.selectFrom(table).select(['id', column]).where(column, 'is not', null).execute()) as {
        id: string;
        [key: string]: string | null;
      }[];
      for (const row of rows) {
        const sealed = row[column];
        if (!sealed) continue;
        if (isCurrent(ring, sealed)) {
          report.alreadyCurrent += 1;
          continue;
        }
        const place = sealedPlace(table, column, row.id);
        const resealed = encryptSecret(ring, decryptSecret(ring, sealed, place), place);
        await trx
          .updateTable(table)
          .set({ [column]: resealed } as never)
          .where('id', '=', row.id)
          .execute();
        report.reencrypted += 1;
      }
    });
  }
  return report;
}
