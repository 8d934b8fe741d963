// A fingerprint of src/ (every file's path, size and modification time), so
// bin/tessera runs dist/ only when it was built from exactly the sources present.
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export function sourceFingerprint(sourceDir) {
  const lines = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const stat = statSync(path);
        lines.push(`${relative(sourceDir, path)}:${stat.size}:${stat.mtimeMs}`);
      }
    }
  };
  walk(sourceDir);
  return createHash('sha256').update(lines.sort().join('\n')).digest('hex');
}
