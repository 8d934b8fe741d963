// The languages Tessera speaks (DESIGN.md row 21) and which one a person gets: their
// own choice, else their account's default, else what their browser asks for
// (`Accept-Language`, RFC 9110 §12.5.4), else English. Pure: tags and headers in, a
// language out.

export const LANGUAGES = ['en', 'de', 'fr', 'es', 'pt-BR', 'ja', 'ar'] as const;
export type Language = (typeof LANGUAGES)[number];

export const DEFAULT_LANGUAGE: Language = 'en';

/** Each language named in itself, for menus where the reader may not read the page's. */
export const LANGUAGE_NAMES: Record<Language, string> = {
  en: 'English',
  de: 'Deutsch',
  fr: 'Français',
  es: 'Español',
  'pt-BR': 'Português (Brasil)',
  ja: '日本語',
  ar: 'العربية',
};

const RIGHT_TO_LEFT: ReadonlySet<Language> = new Set(['ar']);

export function textDirection(language: Language): 'ltr' | 'rtl' {
  return RIGHT_TO_LEFT.has(language) ? 'rtl' : 'ltr';
}

/** One of our languages, written in any case (`pt-br`, `DE`), or null. */
export function parseLanguage(value: unknown): Language | null {
  if (typeof value !== 'string') return null;
  const lower = value.trim().toLowerCase();
  return LANGUAGES.find((language) => language.toLowerCase() === lower) ?? null;
}

/** The closest of our languages to one BCP 47 tag: the exact tag, else the same
 * primary language (`de-AT` → `de`, `pt-PT` → `pt-BR`, our only Portuguese). */
function closestLanguage(tag: string): Language | null {
  const exact = parseLanguage(tag);
  if (exact) return exact;
  const primary = tag.split('-')[0]!.toLowerCase();
  return LANGUAGES.find((language) => language.split('-')[0]!.toLowerCase() === primary) ?? null;
}

const LANGUAGE_RANGE = /^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$/;
const QUALITY = /^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/i;
/** Headers longer than this are not a browser's: read only their start. */
const MAX_ACCEPT_LANGUAGE_LENGTH = 1024;

/** The language an `Accept-Language` header prefers among ours, or null when it
 * names none of them. Ranges are tried by quality (highest first, ties in header
 * order); `q=0` means "not this one"; malformed ranges are skipped. */
export function negotiateLanguage(header: string | undefined | null): Language | null {
  if (!header) return null;
  const ranges: { tag: string; quality: number; index: number }[] = [];
  const refused = new Set<Language>();
  header
    .slice(0, MAX_ACCEPT_LANGUAGE_LENGTH)
    .split(',')
    .forEach((part, index) => {
      const [tag, ...parameters] = part.split(';').map((piece) => piece.trim());
      if (!tag || !LANGUAGE_RANGE.test(tag)) return;
      let quality = 1;
      for (const parameter of parameters) {
        const match = QUALITY.exec(parameter);
        if (!match) return;
        quality = Number(match[1]);
      }
      if (quality > 0) ranges.push({ tag, quality, index });
      else if (parseLanguage(tag)) refused.add(parseLanguage(tag)!);
    });
  ranges.sort((a, b) => b.quality - a.quality || a.index - b.index);
  for (const range of ranges) {
    if (range.tag === '*') continue;
    const language = closestLanguage(range.tag);
    if (language && !refused.has(language)) return language;
  }
  return null;
}

export interface LanguageSources {
  /** The person's own choice (Security settings), once signed in. */
  person: string | null;
  /** The account's default, set by its admins. */
  accountDefault: string | null;
  /** Chosen on a sign-in page (`?lang=`, then its cookie), before anyone is known. */
  chosenBeforeSignIn: string | null;
  acceptLanguage: string | undefined | null;
}

/** DESIGN.md "Languages": person → account default → browser → English. A choice made
 * on the sign-in pages stands in for the person's until they are known. */
export function chooseLanguage(sources: LanguageSources): Language {
  return (
    parseLanguage(sources.person) ??
    parseLanguage(sources.accountDefault) ??
    parseLanguage(sources.chosenBeforeSignIn) ??
    negotiateLanguage(sources.acceptLanguage) ??
    DEFAULT_LANGUAGE
  );
}

/** An IANA time zone name this runtime knows (`Europe/Berlin`, `UTC`), not an offset. */
export function isTimeZone(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 64 || !/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}
