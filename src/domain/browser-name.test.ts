import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeBrowser } from './browser-name.js';

describe('describeBrowser', () => {
  it('names the browsers and systems bowser knows', () => {
    assert.equal(describeBrowser('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'), 'Chrome on Linux');
    assert.equal(describeBrowser('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0'), 'Firefox on Windows');
  });

  it("never repeats an outsider's own words: an agent it does not know is an unknown browser", () => {
    assert.equal(describeBrowser('URGENT-call-1-555-0100/2.0 (Windows NT 10.0)'), 'A browser on Windows');
    assert.equal(describeBrowser('Your-account-is-suspended-visit-evil.example/1.0'), 'Unknown browser');
    assert.equal(describeBrowser(null), 'Unknown browser');
  });
});
