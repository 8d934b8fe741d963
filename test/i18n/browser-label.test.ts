// Browser names in the reader's language: the description Tessera writes ("Firefox on
// Windows", and as trusted computers store it) is read back into its names, which stay
// as they are, and joined in the reader's words; English reads exactly as before, and a
// text of another shape is shown as it is.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeBrowser, readBrowserDescription } from '../../src/domain/browser-name.js';
import { browserLabel } from '../../src/i18n/browser-label.js';
import { translatorFor } from '../../src/i18n/translator.js';
import { mails } from '../../src/delivery/email-templates.js';

const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0';

describe('browser names in every language', () => {
  it('reads each shape describeBrowser writes back into its names', () => {
    assert.equal(describeBrowser(FIREFOX_ON_WINDOWS), 'Firefox on Windows');
    assert.deepEqual(readBrowserDescription('Firefox on Windows'), { kind: 'browser_on_system', browser: 'Firefox', os: 'Windows' });
    assert.deepEqual(readBrowserDescription('A browser on Linux'), { kind: 'system', os: 'Linux' });
    assert.deepEqual(readBrowserDescription('Unknown browser'), { kind: 'unknown' });
    assert.deepEqual(readBrowserDescription('Firefox'), { kind: 'browser', browser: 'Firefox' });
    assert.deepEqual(readBrowserDescription('URGENT call on +1 555'), { kind: 'text', text: 'URGENT call on +1 555' });
  });

  it('English stays as written; other languages join the names in their words', () => {
    for (const text of ['Firefox on Windows', 'A browser on Linux', 'Unknown browser', 'Firefox', 'something else']) {
      assert.equal(browserLabel(translatorFor('en'), text), text);
    }
    assert.equal(browserLabel(translatorFor('de'), 'Firefox on Windows'), 'Firefox auf Windows');
    assert.equal(browserLabel(translatorFor('fr'), 'A browser on Linux'), 'Un navigateur sur Linux');
    assert.equal(browserLabel(translatorFor('ja'), 'Firefox on Windows'), 'Windows の Firefox');
    assert.equal(browserLabel(translatorFor('ar'), 'Unknown browser'), 'متصفح غير معروف');
    assert.equal(browserLabel(translatorFor('es'), 'something else'), 'something else');
  });

  it('a German mail names the browser in German', () => {
    const t = translatorFor('de');
    const mail = mails.passwordChanged({
      t,
      productName: 'Tessera',
      accountName: 'Acme Support',
      accountSlug: 'acme',
      baseUrl: 'https://sso.acme.test',
      at: Date.UTC(2026, 11, 6, 12),
      browser: 'Firefox on Windows',
      ip: '203.0.113.9',
    } as Parameters<typeof mails.passwordChanged>[0]);
    assert.match(mail.text, /Firefox auf Windows/);
    assert.doesNotMatch(mail.text, /Firefox on Windows/);
  });
});
