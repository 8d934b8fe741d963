// The pages speak plainly (issue 20, "Looks and words"): methods by their names,
// audit events as sentences, no standards or date-format jargon; the CSV and JSON
// exports keep the codes scripts rely on. SQLite only: this is about the words.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator } from '../support/authenticator.js';
import { setUpAccount, startTestApp, type TestApp } from '../support/harness.js';

/** What a person reads: the page without its tags. */
function text(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

/** The audit page's events, without the filter's list of every event. */
function auditRows(html: string): string {
  return text(/<tbody>([\s\S]*)<\/tbody>/.exec(html)![1]!);
}

const METHOD_CODES = /\b(totp|sms|webauthn|recovery_code)\b/;
const SNAKE_CASE = /\b[a-z]+(?:_[a-z]+)+\b/;

describe('words on the pages (sqlite)', () => {
  let app: TestApp;
  /** The owner's session, as the browser's session cookie. */
  let cookie: string;

  const page = async (url: string) => {
    const response = await app.inject({ method: 'GET', url, headers: { cookie } });
    assert.equal(response.statusCode, 200, `${url}: ${response.body.slice(0, 300)}`);
    return response;
  };

  before(async () => {
    app = await startTestApp();
    const { token } = await setUpAccount(app);
    const started = (await app.api('POST', '/api/v1/me/two-factor/totp', { token })).json();
    const authenticator = new Authenticator(started.otpauth_uri);
    assert.equal((await app.api('POST', '/api/v1/me/two-factor/totp/verify', { token, body: { code: authenticator.code(app.clock.now()) } })).statusCode, 200);
    cookie = `tessera_session=${encodeURIComponent(token)}`;
  });
  after(async () => app?.close());

  it('People names each person\'s methods ("Authenticator app"), not their codes', async () => {
    const words = text((await page('/admin/users')).body);
    assert.match(words, /On Authenticator app/);
    assert.doesNotMatch(words, METHOD_CODES);
  });

  it('the audit log shows each event as a sentence and offers the events by name; the exports keep the types', async () => {
    const audit = await page('/admin/audit');
    const rows = auditRows(audit.body);
    assert.match(rows, /Two-factor method turned on/);
    assert.match(rows, /Two-factor set-up started/);
    assert.doesNotMatch(text(audit.body), SNAKE_CASE);
    assert.match(audit.body, /<option value="sign_in_failed">Sign-in failed<\/option>/);
    const filtered = auditRows((await page('/admin/audit?type=two_factor_enabled')).body);
    assert.match(filtered, /Two-factor method turned on/);
    assert.doesNotMatch(filtered, /Two-factor set-up started/);

    assert.match((await page('/admin/audit.csv')).body, /two_factor_enabled/);
    const json = JSON.parse((await page('/admin/audit.json')).body) as { audit_events: { type: string }[] };
    assert.ok(json.audit_events.some((event) => event.type === 'two_factor_enabled'));
  });

  it('a date the audit filter cannot read is explained beside its field, without "ISO 8601"', async () => {
    const body = (await page('/admin/audit?since=last+week')).body;
    assert.match(body, /<p class="error" id="field-since-error">Enter a date like 2026-11-28\.<\/p>/);
    assert.doesNotMatch(text(body), /ISO 8601/);
    // The API's callers still get the precise rule.
    const api = await app.inject({ method: 'GET', url: '/admin/audit.json?since=last+week', headers: { cookie } });
    assert.equal(api.statusCode, 400);
  });

  it('Account security cites no standard to the admin', async () => {
    assert.doesNotMatch(text((await page('/admin/security')).body), /NIST|800-63/);
  });
});
