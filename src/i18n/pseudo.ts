// Pseudo-localisation (for tests and layout checks): every English message with its
// letters accented and 40% longer, so untranslated text stands out and a page that
// only fits English's short words shows its overflow. Placeholders, plural and select
// syntax and <tags> are kept as they are.
import { en, type Catalogue, type MessageKey } from './messages/en.js';
import { Translator } from './translator.js';

/** How a page asks for the pseudo-locale (`?lang=x-pseudo`): a private-use tag (RFC
 * 5646 §2.2.7), so it can never be mistaken for a language a person speaks. Pages
 * accept it in development mode only (pages/kit.ts). */
export const PSEUDO_LOCALE = 'x-pseudo';

const ACCENTED: Record<string, string> = Object.fromEntries(
  [...'abcdeghiklnorstuwyzABCDEGHIKLNORSTUWYZ'].map((letter, index) => [letter, [...'àƀçđéĝĥîķĺñöŕšţûŵýžÀßÇĐÉĜĤÎĶĹÑÖŔŠŢÛŴÝŽ'][index]!]),
);

/** Accents the literal text of an ICU message: text at even brace depth, outside
 * `<tags>` and `'quoted'` parts. Inside `{…}`, only a plural's or select's branches
 * (one level further) hold text again. */
export function pseudoLocalise(message: string): string {
  let out = '';
  let depth = 0;
  let letters = 0;
  for (let index = 0; index < message.length; index++) {
    const character = message[index]!;
    if (character === '{') depth++;
    else if (character === '}') depth--;
    else if (depth % 2 === 0 && character === '<') {
      const end = message.indexOf('>', index);
      out += message.slice(index, end + 1);
      index = end;
      continue;
    } else if (depth % 2 === 0 && ACCENTED[character]) {
      out += ACCENTED[character];
      letters++;
      continue;
    }
    out += character;
  }
  // 40% longer, the way German and French often are.
  const padding = Math.ceil(letters * 0.4);
  return padding > 0 ? `${out} ${'·'.repeat(padding)}` : out;
}

export function pseudoCatalogue(): Catalogue {
  return Object.fromEntries(Object.entries(en).map(([key, message]) => [key, pseudoLocalise(message)])) as Record<MessageKey, string>;
}

let catalogue: Catalogue | null = null;
const translators = new Map<string, Translator>();

/** The pseudo-locale's translator in a time zone: English's rules for plurals, dates
 * and numbers (and `lang="en"`, `dir="ltr"`), the pseudo-localised messages. */
export function pseudoTranslator(timeZone: string): Translator {
  catalogue ??= pseudoCatalogue();
  let translator = translators.get(timeZone);
  if (!translator) {
    translator = new Translator('en', timeZone, catalogue);
    translators.set(timeZone, translator);
  }
  return translator;
}
