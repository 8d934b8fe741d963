// A person's language and time zone, ready to use: messages from the catalogues
// (ICU MessageFormat, plurals by CLDR rules), moments, numbers and lists through
// `Intl`. Pages, emails and texts all speak through one of these.
import { IntlMessageFormat } from 'intl-messageformat';
import { DEFAULT_LANGUAGE, chooseLanguage, isTimeZone, type Language, textDirection } from '../domain/languages.js';
import { CATALOGUES } from './catalogues.js';
import type { Catalogue, MessageKey } from './messages/en.js';

export type MessageValues = Record<string, string | number>;

/** The locale that formats dates and numbers: English reads as in Britain ("6 Dec
 * 2026, 03:02"), day before month, 24-hour clock, which no English reader misreads. */
const FORMATTING_LOCALE: Record<Language, string> = {
  en: 'en-GB',
  de: 'de-DE',
  fr: 'fr-FR',
  es: 'es-ES',
  'pt-BR': 'pt-BR',
  ja: 'ja-JP',
  ar: 'ar',
};

export const DEFAULT_TIME_ZONE = 'UTC';

export class Translator {
  readonly direction: 'ltr' | 'rtl';
  private readonly formats = new Map<MessageKey, IntlMessageFormat>();
  private readonly momentFormat: Intl.DateTimeFormat;
  private readonly numberFormat: Intl.NumberFormat;
  private readonly listFormat: Intl.ListFormat;

  constructor(
    readonly language: Language,
    readonly timeZone: string,
    private readonly catalogue: Catalogue = CATALOGUES[language],
  ) {
    this.direction = textDirection(language);
    const locale = FORMATTING_LOCALE[language];
    // One way to write a moment everywhere (DESIGN.md row 21), its zone named so that
    // an emailed time is never misread.
    this.momentFormat = new Intl.DateTimeFormat(locale, {
      timeZone,
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    this.numberFormat = new Intl.NumberFormat(locale);
    this.listFormat = new Intl.ListFormat(locale, { type: 'conjunction' });
  }

  /** The message `key`, its `{placeholders}` filled. */
  t(key: MessageKey, values?: MessageValues): string {
    const formatted = this.format(key).format(values);
    return Array.isArray(formatted) ? formatted.join('') : String(formatted);
  }

  /** The message `key` in pieces, its `<tag>…</tag>` parts made by `tags` (a link in
   * a sentence), for callers that build markup. */
  parts<T>(key: MessageKey, values: MessageValues, tags: Record<string, (chunks: (string | T)[]) => T>): (string | T)[] {
    const formatted = this.format(key).format<T>({ ...values, ...tags });
    return Array.isArray(formatted) ? formatted : [formatted];
  }

  moment(timeInMilliseconds: number): string {
    return this.momentFormat.format(new Date(timeInMilliseconds));
  }

  number(value: number): string {
    return this.numberFormat.format(value);
  }

  list(items: string[]): string {
    return this.listFormat.format(items);
  }

  private format(key: MessageKey): IntlMessageFormat {
    let format = this.formats.get(key);
    if (!format) {
      format = new IntlMessageFormat(this.catalogue[key], FORMATTING_LOCALE[this.language]);
      this.formats.set(key, format);
    }
    return format;
  }
}

const translators = new Map<string, Translator>();

/** The translator for a language and an IANA time zone (validated by the caller:
 * domain/languages.ts isTimeZone), shared by every request that needs it. */
export function translatorFor(language: Language = DEFAULT_LANGUAGE, timeZone: string = DEFAULT_TIME_ZONE): Translator {
  const id = `${language} ${timeZone}`;
  let translator = translators.get(id);
  if (!translator) {
    translator = new Translator(language, timeZone);
    translators.set(id, translator);
  }
  return translator;
}

/** A known person's translator (DESIGN.md "Languages"): their language, else their
 * account's default, else `acceptLanguage` when a browser asks, else English; their
 * time zone, else UTC. For emails and texts, and pages answered outside a request's
 * own choice (a proxy's refusal). */
export function translatorForPerson(
  person: { language: string | null; time_zone: string | null },
  account: { default_language: string | null },
  acceptLanguage: string | null | undefined = null,
): Translator {
  const language = chooseLanguage({ person: person.language, accountDefault: account.default_language, chosenBeforeSignIn: null, acceptLanguage });
  return translatorFor(language, isTimeZone(person.time_zone) ? person.time_zone : DEFAULT_TIME_ZONE);
}
