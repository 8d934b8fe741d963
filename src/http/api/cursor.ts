// Opaque page cursors: the (created_at, id) of the last row of the previous page.
export function encodeCursor(row: { created_at: number; id: string }): string {
  return Buffer.from(`${row.created_at}:${row.id}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): { createdAt: number; id: string } | null | 'invalid' {
  if (cursor === undefined || cursor === '') return null;
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^(\d{1,16}):([A-Za-z0-9_-]{1,64})$/.exec(decoded);
  return match ? { createdAt: Number(match[1]), id: match[2]! } : 'invalid';
}

export const PAGE_SIZE = 100;
