// No English left in the pages' markup (issue #24): every word a reader sees comes from
// the catalogues (src/i18n/messages/), so the text of each html`` template in src/http
// (between its tags, and its title, aria-label, placeholder, alt and data-confirm
// values) may hold no word of Latin letters, but for the technical names below.
// Strings handed to the frame (a page's title) and interpolated values are not
// templates' text and are not read here: the catalogues' tests and the pages' own
// tests cover those.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HTTP = join(ROOT, 'src/http');

/** Files still in English. Empty: every template of src/http is checked. A file put on
 * it that has no English left fails the test, so the list can only shrink again. */
const NOT_YET_TRANSLATED: ReadonlySet<string> = new Set([]);

/** Names that stay as they are in every language. */
const TECHNICAL_TOKENS: ReadonlySet<string> = new Set([
  'Tessera', // the product (TESSERA_PRODUCT_NAME is interpolated, but the brand is not)
  'TOTP',
  'WebAuthn',
  'OpenID',
  'Connect', // OpenID Connect
  'CSV', // file formats, as the export buttons name them
  'JSON',
]);

const ATTRIBUTES_READ = ['title', 'aria-label', 'placeholder', 'alt', 'data-confirm'];
/** Where the text is code, not words: URLs, environment variables, commands. */
const CODE_ELEMENTS = /<(code|pre|kbd|samp|script|style)\b[^>]*>[\s\S]*?<\/\1>/gi;
/** A template made of attributes only (html` aria-current="page"`, html` selected`). */
const ATTRIBUTES_ONLY = /^(\s+([a-z][a-z-]*="[^"]*"|data-[a-z-]+|autofocus|checked|disabled|hidden|multiple|novalidate|open|readonly|required|selected))*\s*$/;
const INTERPOLATION = '\u0000';

/** The static text of every html`` template in a TypeScript source, an interpolation
 * standing where each `${…}` was. */
function templatesOf(source: string, fileName = 'page.ts'): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isTaggedTemplateExpression(node) && ts.isIdentifier(node.tag) && node.tag.text === 'html') {
      const template = node.template;
      found.push(
        ts.isNoSubstitutionTemplateLiteral(template)
          ? template.text
          : [template.head.text, ...template.templateSpans.map((span) => span.literal.text)].join(INTERPOLATION),
      );
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** The words of Latin letters a reader would see in one template's markup. */
function englishWordsOf(template: string): string[] {
  if (ATTRIBUTES_ONLY.test(template.replaceAll(INTERPOLATION, ''))) return [];
  const markup = template.replace(/<!--[\s\S]*?-->/g, ' ').replace(CODE_ELEMENTS, ' ');
  const readable: string[] = [];
  const attribute = new RegExp(`\\b(${ATTRIBUTES_READ.join('|')})="([^"]*)"`, 'g');
  for (const match of markup.matchAll(attribute)) readable.push(match[2]!);
  // Text between tags: drop the tags (with their attributes), and the attributes of a
  // tag opened or closed in another template.
  readable.push(
    markup
      .replace(/<[^<>]*>/g, ' ')
      .replace(/\s[a-z][a-z-]*="[^"]*"/g, ' ')
      .replace(/^[^<>]*>|<[^<>]*$/g, ' '),
  );
  return (
    readable
      .join(' ')
      .replace(/https?:\/\/\S+/g, ' ')
      .replace(/&#?[a-z0-9]+;/gi, ' ')
      .split(INTERPOLATION)
      .join(' ')
      .match(/\p{Script=Latin}{2,}/gu)
      ?.filter((word) => !TECHNICAL_TOKENS.has(word)) ?? []
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Each file of src/http with English in its templates, and the first words found. */
function englishByFile(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const path of sourceFiles(HTTP)) {
    const words = templatesOf(readFileSync(path, 'utf8'), path).flatMap(englishWordsOf);
    if (words.length > 0) found.set(relative(ROOT, path), words);
  }
  return found;
}

describe('no English in the pages’ templates', () => {
  it('finds English between tags and in the attributes a reader sees, not in code, URLs or names', () => {
    const source = [
      'const a = html`<p class="hint">Hello there</p>`;',
      'const b = html`<a href="https://example.com/docs" title="Open the docs">${label}</a>`;',
      'const c = html`<button aria-label="${t.t(\'x\')}" data-confirm="Really?">${t.t(\'y\')}</button>`;',
      "const d = html`<p>${t.t('z')} <code>TESSERA_SMTP_URL</code> Tessera TOTP &larr;</p>`;",
      'const e = html` aria-current="page"`;',
      'const h = html` selected`;',
      'const i = html` or more`;',
      'const f = html`<input type="text" name="code" autocomplete="one-time-code" inputmode="numeric">`;',
      'const g = `<p>Not a template of ours</p>`;',
    ].join('\n');
    assert.deepEqual(templatesOf(source).map(englishWordsOf), [['Hello', 'there'], ['Open', 'the', 'docs'], ['Really'], [], [], [], ['or', 'more'], []]);
  });

  it('no file outside the list has English in a template', () => {
    const offenders = [...englishByFile()].filter(([file]) => !NOT_YET_TRANSLATED.has(file)).map(([file, words]) => `${file}: ${words.slice(0, 8).join(' ')}`);
    assert.deepEqual(offenders, [], 'put these words in the catalogues (src/i18n/messages/) and the template calls t.t()');
  });

  it('every file on the list still has English: a translated file comes off it', () => {
    const english = englishByFile();
    for (const file of NOT_YET_TRANSLATED) {
      assert.ok(statSync(join(ROOT, file), { throwIfNoEntry: false })?.isFile(), `${file} is on the list but does not exist`);
      assert.ok(english.has(file), `${file} has no English left in its templates: take it off NOT_YET_TRANSLATED`);
    }
  });
});
