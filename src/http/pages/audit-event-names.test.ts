import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUDIT_EVENT_SENTENCES, auditEventSentence } from './audit-event-names.js';

const SRC = fileURLToPath(new URL('../../', import.meta.url));

/** The text from an opening parenthesis to its closing one. */
function parenthesised(source: string, open: number): string {
  let depth = 0;
  for (let index = open; index < source.length; index += 1) {
    if (source[index] === '(') depth += 1;
    if (source[index] === ')' && --depth === 0) return source.slice(open, index + 1);
  }
  return source.slice(open);
}

/** The audit types a source file writes: `type: 'x'` (or a choice of two) in an
 * appendAuditEvent call, a `const type = …` passed as `type`, and `audit('x', …)`. */
function auditTypesWrittenIn(source: string): string[] {
  // The values an expression can take: a literal, or either side of a `?:`.
  const literals = (text: string) => [...text.trim().matchAll(/(?:^|[?:])\s*'([a-z]+(?:_[a-z]+)*)'/g)].map((match) => match[1]!);
  const found: string[] = [];
  for (const call of source.matchAll(/appendAuditEvent\(/g)) {
    const args = parenthesised(source, call.index + call[0].length - 1);
    const typed = /\btype:\s*([^,\n}]+)/.exec(args);
    if (typed) found.push(...literals(typed[1]!));
    else if (/\btype\s*[,}]/.test(args)) found.push(...literals(/const type = ([^;]+);/.exec(source)?.[1] ?? ''));
  }
  for (const call of source.matchAll(/\baudit\(\s*'([a-z_]+)'/g)) found.push(call[1]!);
  return found;
}

function auditTypesWritten(): Set<string> {
  const types = new Set<string>();
  for (const folder of ['services', 'store']) {
    for (const name of readdirSync(join(SRC, folder))) {
      if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
      for (const type of auditTypesWrittenIn(readFileSync(join(SRC, folder, name), 'utf8'))) types.add(type);
    }
  }
  return types;
}

describe('audit event sentences', () => {
  it('every audit type the code writes has a sentence', () => {
    const written = auditTypesWritten();
    // Each way of writing a type is found (a literal, a choice, a variable, a helper).
    for (const type of ['sign_in_failed', 'user_suspended', 'invitation_accepted', 'sign_in_password_accepted']) assert.ok(written.has(type), type);
    assert.deepEqual([...written].filter((type) => !Object.hasOwn(AUDIT_EVENT_SENTENCES, type)).sort(), []);
  });

  it('each sentence is plain words, and no two types read the same', () => {
    const sentences = Object.values(AUDIT_EVENT_SENTENCES);
    for (const sentence of sentences) assert.match(sentence, /^[A-Z][^_]*[^.]$/, sentence);
    assert.equal(new Set(sentences).size, sentences.length);
  });

  for (const [type, sentence] of [
    ['sign_in_failed', 'Sign-in failed'],
    ['recovery_code_used', 'Recovery code used'],
    ['passcode_unlocked', 'Passcode unlocked'],
    ['_odd__type_', 'Odd type'],
    ['constructor', 'Constructor'],
    ['', ''],
  ] as const) {
    it(`${JSON.stringify(type)} reads "${sentence}"`, () => assert.equal(auditEventSentence(type), sentence));
  }
});
