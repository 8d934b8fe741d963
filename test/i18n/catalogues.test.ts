// Every message in every language (DESIGN.md row 21): the same keys as English, no
// more, valid ICU MessageFormat, and the same placeholders and tags as the English.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IntlMessageFormat } from 'intl-messageformat';
import { LANGUAGES } from '../../src/domain/languages.js';
import { CATALOGUES } from '../../src/i18n/catalogues.js';
import { en, type Catalogue } from '../../src/i18n/messages/en.js';
import { pseudoCatalogue } from '../../src/i18n/pseudo.js';
import { Translator } from '../../src/i18n/translator.js';

interface Element {
  type: number;
  value?: string;
  options?: Record<string, { value: Element[] }>;
  children?: Element[];
}

/** The names a message uses: `{arguments}`, plural and select variables, `<tags>`. */
function placeholders(elements: Element[], found = new Set<string>()): Set<string> {
  for (const element of elements) {
    // 1 argument, 2 number, 3 date, 4 time, 5 select, 6 plural, 8 tag (intl-messageformat's TYPE)
    if ([1, 2, 3, 4, 5, 6].includes(element.type)) found.add(`{${element.value}}`);
    if (element.type === 8) found.add(`<${element.value}>`);
    for (const option of Object.values(element.options ?? {})) placeholders(option.value, found);
    if (element.children) placeholders(element.children, found);
  }
  return found;
}

function parsed(message: string, locale: string): Element[] {
  return new IntlMessageFormat(message, locale).getAst() as unknown as Element[];
}

const englishKeys = Object.keys(en).sort();
const catalogues: [string, Catalogue][] = [
  ...LANGUAGES.map((language) => [language, CATALOGUES[language]] as [string, Catalogue]),
  ['pseudo', pseudoCatalogue()],
];

describe('message catalogues', () => {
  for (const [language, catalogue] of catalogues) {
    it(`${language}: every English key, no other`, () => {
      assert.deepEqual(Object.keys(catalogue).sort(), englishKeys);
    });

    it(`${language}: every message is valid ICU with the English placeholders`, () => {
      for (const key of englishKeys) {
        const message = catalogue[key as keyof Catalogue];
        assert.equal(typeof message, 'string', key);
        assert.ok(message.trim().length > 0, `${language} ${key} is empty`);
        let elements: Element[];
        try {
          elements = parsed(message, language === 'pseudo' ? 'en' : language);
        } catch (error) {
          assert.fail(`${language} ${key} is not valid ICU: ${(error as Error).message}`);
        }
        const english = [...placeholders(parsed(en[key as keyof Catalogue], 'en'))].sort();
        assert.deepEqual([...placeholders(elements)].sort(), english, `${language} ${key} placeholders`);
      }
    });
  }

  it('the pseudo-locale accents letters and is 40% longer, placeholders untouched', () => {
    const pseudo = new Translator('en', 'UTC', pseudoCatalogue());
    const text = pseudo.t('layout.backTo', { product: 'Tessera' });
    assert.match(text, /^ßàçķ ţö Tessera ·+$/u);
    assert.ok(text.length >= 'Back to Tessera'.length * 1.2);
    const retry = pseudo.t('error.retryInMinutes', { minutes: 3 });
    assert.match(retry, / 3 mîñûţéš\./u);
    assert.doesNotMatch(retry, /minutes|\{/);
  });

  it('plurals follow each language’s rules', () => {
    assert.equal(new Translator('en', 'UTC').t('error.retryInMinutes', { minutes: 1 }), 'Try again in 1 minute.');
    assert.equal(new Translator('de', 'UTC').t('error.retryInMinutes', { minutes: 5 }), 'Versuchen Sie es in 5 Minuten noch einmal.');
    assert.match(new Translator('ar', 'UTC').t('error.retryInMinutes', { minutes: 2 }), /دقيقتين/);
  });

  it('one way to write a moment: the person’s locale and time zone, the zone named', () => {
    const at = Date.UTC(2026, 11, 6, 3, 2);
    assert.equal(new Translator('en', 'UTC').moment(at), '6 Dec 2026, 03:02 UTC');
    assert.equal(new Translator('de', 'Europe/Berlin').moment(at), '6. Dez. 2026, 04:02 MEZ');
    assert.equal(new Translator('ja', 'Asia/Tokyo').moment(at), '2026年12月6日 12:02 JST');
    assert.match(new Translator('pt-BR', 'America/Sao_Paulo').moment(at), /^6 de dez\. de 2026.* 00:02 BRT$/);
  });
});
