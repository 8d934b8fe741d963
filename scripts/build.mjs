#!/usr/bin/env node
// Compiles src/ into dist/ (TypeScript to JavaScript, file by file, with the esbuild
// that tsx itself uses), so the server runs plain JavaScript: no compiler loaded at
// start and no loader thread beside the server, which saves ~50 MiB of memory
// (bench/README.md, memory). Type checking stays `npm run typecheck`. Takes about a
// second; `npm start` runs it every time, and bin/tessera falls back to tsx when
// dist/ is missing or older than src/.
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceFingerprint } from './source-fingerprint.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const sourceDir = join(root, 'src');
const outputDir = join(root, 'dist');
const workDir = join(root, `dist.building-${process.pid}`);

const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'))('esbuild');

function sources(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sources(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const fingerprint = sourceFingerprint(sourceDir);
rmSync(workDir, { recursive: true, force: true });
mkdirSync(workDir, { recursive: true });
try {
  await esbuild.build({
    entryPoints: sources(sourceDir),
    outdir: workDir,
    outbase: sourceDir,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  cpSync(join(sourceDir, 'http', 'assets'), join(workDir, 'http', 'assets'), { recursive: true });
  writeFileSync(join(workDir, 'build-info.json'), `${JSON.stringify({ sourceFingerprint: fingerprint })}\n`);
  // Swapped in whole, so a command starting meanwhile sees the old build or none.
  rmSync(outputDir, { recursive: true, force: true });
  renameSync(workDir, outputDir);
} catch (error) {
  rmSync(workDir, { recursive: true, force: true });
  throw error;
}
