// "Firefox on Windows": how people recognise their own computers in lists and mails.
// bowser is MIT-licensed and pure parsing.
import Bowser from 'bowser';

// Bowser parses the browser, system, platform and engine every time: about a tenth of
// the second step of sign-in in a profile, for the handful of agent strings a
// deployment sees again and again. The answer depends on the string alone.
const DESCRIPTIONS_KEPT = 256;
const descriptions = new Map<string, string>();

export function describeBrowser(userAgent: string | null | undefined): string {
  if (!userAgent) return 'Unknown browser';
  const agent = userAgent.slice(0, 512);
  let description = descriptions.get(agent);
  if (description === undefined) {
    description = parseBrowser(agent);
    if (descriptions.size >= DESCRIPTIONS_KEPT) descriptions.delete(descriptions.keys().next().value!);
    descriptions.set(agent, description);
  }
  return description;
}

// For an agent string it does not know, bowser falls back to the string's own first
// word, which puts an outsider's text into real emails ("Browser: URGENT call …"):
// only the names bowser itself defines are used.
const KNOWN_BROWSERS: ReadonlySet<string> = new Set(Object.values(Bowser.BROWSER_MAP));
const KNOWN_SYSTEMS: ReadonlySet<string> = new Set(Object.values(Bowser.OS_MAP));

function known(name: string | undefined, names: ReadonlySet<string>): string | undefined {
  return name !== undefined && names.has(name) ? name : undefined;
}

function parseBrowser(agent: string): string {
  try {
    const parsed = Bowser.parse(agent);
    const browser = known(parsed.browser.name, KNOWN_BROWSERS);
    const os = known(parsed.os.name, KNOWN_SYSTEMS);
    if (browser && os) return `${browser} on ${os}`;
    if (browser) return browser;
    if (os) return `A browser on ${os}`;
  } catch {
    // An unparseable agent string is just unknown.
  }
  return 'Unknown browser';
}

/** A description (as describeBrowser wrote it, and as trusted computers store it) read
 * back into its names, so each language can join them in its own words. Browser and
 * system names are proper nouns and stay as they are; a text of another shape (written
 * by an older version) is shown as it is. */
export type BrowserDescription =
  | { kind: 'browser_on_system'; browser: string; os: string }
  | { kind: 'browser'; browser: string }
  | { kind: 'system'; os: string }
  | { kind: 'unknown' }
  | { kind: 'text'; text: string };

export function readBrowserDescription(text: string): BrowserDescription {
  if (text === 'Unknown browser') return { kind: 'unknown' };
  if (KNOWN_BROWSERS.has(text)) return { kind: 'browser', browser: text };
  const anyBrowser = /^A browser on (.+)$/.exec(text);
  if (anyBrowser && KNOWN_SYSTEMS.has(anyBrowser[1]!)) return { kind: 'system', os: anyBrowser[1]! };
  // Some names hold " on " themselves: every split is tried.
  for (let at = text.indexOf(' on '); at !== -1; at = text.indexOf(' on ', at + 1)) {
    const browser = text.slice(0, at);
    const os = text.slice(at + 4);
    if (KNOWN_BROWSERS.has(browser) && KNOWN_SYSTEMS.has(os)) return { kind: 'browser_on_system', browser, os };
  }
  return { kind: 'text', text };
}
