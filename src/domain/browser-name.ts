// "Firefox on Windows": how people recognise their own computers in lists and mails.
// bowser is MIT-licensed and pure parsing.
import Bowser from 'bowser';

export function describeBrowser(userAgent: string | null | undefined): string {
  if (!userAgent) return 'Unknown browser';
  try {
    const parsed = Bowser.parse(userAgent.slice(0, 512));
    const browser = parsed.browser.name;
    const os = parsed.os.name;
    if (browser && os) return `${browser} on ${os}`;
    if (browser) return browser;
    if (os) return `A browser on ${os}`;
  } catch {
    // An unparseable agent string is just unknown.
  }
  return 'Unknown browser';
}
