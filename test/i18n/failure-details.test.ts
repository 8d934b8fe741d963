// The details that services, rules and routes give with a failure reach every reader in
// their language (issue 24): a fixed detail by its English words (DETAIL_KEYS), one with
// values by its `detail` key. The catalogue test checks that each key is in every language.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkApiTokenSettings, checkWebhookSettings } from '../../src/domain/automation.js';
import { checkAppUri, checkNewApp } from '../../src/domain/apps.js';
import { parseFilterTime } from '../../src/domain/dates.js';
import type { Failure, Result } from '../../src/domain/failures.js';
import { normalizePhoneNumber } from '../../src/domain/phone-numbers.js';
import { describePasswordProblem, passwordProblemDetail } from '../../src/domain/password-policy.js';
import { DETAIL_KEYS, detailText, messageFor } from '../../src/http/errors.js';
import { en } from '../../src/i18n/messages/en.js';
import { translatorFor } from '../../src/i18n/translator.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'i18n' ? [] : sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

const SOURCES = sourceFiles('src').map((path) => ({ path, text: readFileSync(path, 'utf8') }));

function failureOf(result: Result<unknown>): Failure {
  assert.equal(result.ok, false);
  return (result as { ok: false; failure: Failure }).failure;
}

/** Failures as services and rules make them: the rules' own, and the services' (which
 * need a database) as they write them, one or more from each module that gives details. */
const FAILURES: [string, Failure][] = [
  ['admin-confirmation', { code: 'invalid_request', field: 'reason', message: 'Give a reason (it goes in the audit log).' }],
  ['users', { code: 'invalid_request', field: 'role', message: 'The role must be admin, agent or end_user.' }],
  [
    'users (language)',
    { code: 'invalid_request', message: 'The language must be one of en, de.', detail: { key: 'detail.languageChoice', values: { languages: 'en, de' } } },
  ],
  ['accounts', { code: 'invalid_request', message: 'The account name must be 1 to 100 characters.' }],
  ['passwords', { code: 'weak_password', message: describePasswordProblem('too_short'), detail: passwordProblemDetail('too_short') }],
  ['passwords (common)', { code: 'weak_password', message: describePasswordProblem('too_common'), detail: passwordProblemDetail('too_common') }],
  ['devices', { code: 'not_found', message: 'There is no such trusted computer.' }],
  ['confirmation', { code: 'confirmation_required', message: 'Confirm with your password.' }],
  [
    'challenge',
    { code: 'invalid_code', message: 'That code is not right. That was the last try for this sign-in: sign in again.', detail: { key: 'detail.lastTry' } },
  ],
  ['email-confirmation', { code: 'invalid_code', message: 'This code has expired. Send a new one.' }],
  ['emailed-code', { code: 'invalid_request', message: 'No code has been emailed yet. Ask for one with "Email me a code".' }],
  [
    'api-tokens',
    {
      code: 'invalid_request',
      message: 'An account may have at most 50 live API tokens. Revoke one you no longer use.',
      detail: { key: 'detail.apiTokenLimit', values: { max: 50 } },
    },
  ],
  ['two-factor', { code: 'invalid_code', message: 'This enrolment has expired. Start again to get a new QR code.' }],
  ['preferred-method', { code: 'invalid_request', message: '…', detail: { key: 'detail.preferredMethodChoice', values: { methods: 'totp, sms' } } }],
  ['second-factor', { code: 'invalid_request', message: '…', detail: { key: 'detail.methodChoice', values: { methods: 'totp, sms' } } }],
  ['webauthn', { code: 'invalid_request', message: '…', detail: { key: 'detail.securityKeyLimit', values: { max: 10 } } }],
  ['webauthn (fixed)', { code: 'invalid_code', message: 'The security key could not be verified. Try again, or use another key.' }],
  ['email-factor', { code: 'two_factor_not_enabled', message: 'Emailed codes are not one of your two-factor methods.' }],
  ['admin-help', { code: 'forbidden', message: 'Only the account owner can do this to the owner.' }],
  ['passkeys', { code: 'invalid_code', message: '…', detail: { key: 'detail.passkeySignInOff', values: { account: 'Acme' } } }],
  ['sms-enrolment', { code: 'invalid_request', message: 'Choose a country from the list.' }],
  ['preferences', { code: 'invalid_request', message: 'The time zone must be an IANA name such as Europe/Berlin, or null.' }],
  ['sms-sending', { code: 'sms_rate_limited', message: '…', detail: { key: 'detail.resendWait', values: { seconds: 30 } }, retryAfterSeconds: 30 }],
  ['apps', { code: 'invalid_request', message: 'Only a confidential app has a secret to replace.' }],
  ['security-policy', { code: 'invalid_request', message: '…', detail: { key: 'detail.policyDays', values: { setting: 'session_days', min: 1, max: 90 } } }],
  ['security-policy (budget)', { code: 'invalid_request', message: '…', detail: { key: 'detail.smsDailyBudget', values: { min: 1, max: 500 } } }],
  ['webhooks', { code: 'invalid_request', message: '…', detail: { key: 'detail.webhook.unreachable', values: { address: '10.0.0.1', allowable: 'yes' } } }],
  ['webhooks (fixed)', { code: 'invalid_request', message: 'Resume the webhook before you send anything to it again.' }],
  ['domain/automation (days)', failureOf(checkApiTokenSettings({ name: 'CI', scopes: ['users:read'], expiresInDays: 0 }))],
  ['domain/automation (scope)', failureOf(checkApiTokenSettings({ name: 'CI', scopes: ['everything'], expiresInDays: 30 }))],
  ['domain/automation (url)', failureOf(checkWebhookSettings({ url: 'http://hooks.example.com/x', events: ['user.created'] }))],
  ['domain/apps (uri)', failureOf(checkAppUri('https://app.example.com/cb#top', 'redirect_uris'))],
  ['domain/apps (type)', failureOf(checkNewApp({ name: 'Grafana', type: 'mainframe' }))],
  ['domain/phone-numbers', failureOf(normalizePhoneNumber('12', 'DE'))],
  ['domain/phone-numbers (fixed)', failureOf(normalizePhoneNumber('', null))],
  ['domain/dates', failureOf(parseFilterTime('yesterday', 'since'))],
  ['http', { code: 'invalid_request', message: 'The body must be a JSON object.' }],
  ['http (scope)', { code: 'insufficient_scope', message: '…', detail: { key: 'detail.scopeMissing', values: { scope: 'users:write' } } }],
];

describe('failure details in every language', () => {
  for (const language of ['de', 'ar'] as const) {
    const t = translatorFor(language);
    for (const [where, failure] of FAILURES) {
      it(`${language}: ${where} (${failure.message?.slice(0, 40)})`, () => {
        assert.ok(failure.message, 'the failure has an English detail');
        const text = messageFor(failure, t);
        assert.notEqual(text, failure.message, 'not the English');
        assert.notEqual(text, t.t(`error.${failure.code}`), 'not the generic message');
        assert.ok(!text.startsWith(t.t(`error.${failure.code}`)), 'not the generic message');
        assert.doesNotMatch(text, /\{|\}/, 'every placeholder filled');
      });
    }
  }

  it('English readers keep the English detail', () => {
    for (const [, failure] of FAILURES) assert.equal(messageFor(failure), failure.message);
  });

  it('a dynamic detail says the same as its English message in English', () => {
    const english = translatorFor('en');
    for (const [where, failure] of FAILURES) {
      // A URI's problems name the URI, not its kind, in the catalogues.
      if (!failure.detail || failure.message === '…' || failure.detail.key.startsWith('detail.app.uri')) continue;
      assert.equal(detailText(failure.detail, english), failure.message, where);
    }
  });

  it('every detail key named in src is in the English catalogue', () => {
    const missing: string[] = [];
    for (const { path, text } of SOURCES) {
      for (const [, key] of text.matchAll(/'(detail\.[A-Za-z0-9_.]+)'/g)) if (!Object.hasOwn(en, key!)) missing.push(`${path}: ${key}`);
    }
    assert.deepEqual(missing, []);
  });

  it('every fixed detail written in src has its message key', () => {
    const untranslated: string[] = [];
    // `message: '…'`, a rule's `invalid('…')`, and the constants some services name their details by.
    const patterns = [
      /message: '((?:[^'\\]|\\.)+)'/g,
      /message: "((?:[^"\\]|\\.)+)"/g,
      /invalid\('((?:[^'\\]|\\.)+)'\)/g,
      /^const [A-Z_]+ = '((?:[^'\\]|\\.)+)';$/gm,
      /noneSent: '((?:[^'\\]|\\.)+)'/g,
    ];
    for (const { path, text } of SOURCES) {
      // errors.ts holds the codes' own messages; ops-routes answers monitoring in English only.
      if (!/src\/(services|domain|http)\//.test(path) || /(errors|ops-routes)\.ts$/.test(path)) continue;
      for (const pattern of patterns) {
        for (const [, literal] of text.matchAll(pattern)) {
          const message = literal!.replace(/\\(.)/g, '$1');
          if (!/^[A-Z"a-z].* /.test(message) || !/[.)]$/.test(message)) continue;
          if (!DETAIL_KEYS.has(message)) untranslated.push(`${path}: ${message}`);
        }
      }
    }
    assert.deepEqual(untranslated, []);
  });
});
