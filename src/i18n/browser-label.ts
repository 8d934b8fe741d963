// A browser's description in the reader's language: "Firefox on Windows" in English,
// "Firefox auf Windows" in German (domain/browser-name.ts reads the names back).
import { readBrowserDescription } from '../domain/browser-name.js';
import type { Translator } from './translator.js';

export function browserLabel(t: Translator, description: string): string {
  const parts = readBrowserDescription(description);
  switch (parts.kind) {
    case 'browser_on_system':
      return t.t('browser.onSystem', { browser: parts.browser, os: parts.os });
    case 'system':
      return t.t('browser.anySystem', { os: parts.os });
    case 'unknown':
      return t.t('browser.unknown');
    case 'browser':
      return parts.browser;
    case 'text':
      return parts.text;
  }
}
