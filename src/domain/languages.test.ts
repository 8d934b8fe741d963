import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseLanguage, isTimeZone, negotiateLanguage, parseLanguage, textDirection } from './languages.js';

describe('negotiateLanguage (Accept-Language, RFC 9110 §12.5.4)', () => {
  const cases: [string | undefined, string | null][] = [
    [undefined, null],
    ['', null],
    ['de', 'de'],
    ['de-AT,de;q=0.9,en;q=0.8', 'de'],
    ['en;q=0.5, fr;q=0.9', 'fr'],
    ['pt-PT', 'pt-BR'],
    ['pt-br', 'pt-BR'],
    ['zh-CN, ja;q=0.3', 'ja'],
    ['zh-CN, *;q=0.5', null],
    ['ar-EG', 'ar'],
    ['es;q=0, en', 'en'],
    ['es-MX;q=1, es;q=0', null],
    ['fr;q=abc, de', 'de'],
    ['<script>, es', 'es'],
    ['en;q=0.2, de;q=0.2', 'en'],
    ['ja;q=1.0', 'ja'],
  ];
  for (const [header, expected] of cases) {
    it(`${JSON.stringify(header)} → ${expected}`, () => assert.equal(negotiateLanguage(header), expected));
  }
});

describe('chooseLanguage (DESIGN.md "Languages")', () => {
  const none = { person: null, accountDefault: null, chosenBeforeSignIn: null, acceptLanguage: null };
  it('the person’s choice first', () =>
    assert.equal(chooseLanguage({ person: 'ja', accountDefault: 'de', chosenBeforeSignIn: 'fr', acceptLanguage: 'es' }), 'ja'));
  it('then the account default', () => assert.equal(chooseLanguage({ ...none, accountDefault: 'de', chosenBeforeSignIn: 'fr', acceptLanguage: 'es' }), 'de'));
  it('then a choice made on the sign-in pages', () => assert.equal(chooseLanguage({ ...none, chosenBeforeSignIn: 'fr', acceptLanguage: 'es' }), 'fr'));
  it('then the browser', () => assert.equal(chooseLanguage({ ...none, acceptLanguage: 'es' }), 'es'));
  it('else English; unknown stored values are ignored', () => assert.equal(chooseLanguage({ ...none, person: 'xx', chosenBeforeSignIn: 'klingon' }), 'en'));
});

describe('languages', () => {
  it('parses our seven tags in any case only', () => {
    assert.equal(parseLanguage('PT-br'), 'pt-BR');
    assert.equal(parseLanguage('pt'), null);
    assert.equal(parseLanguage(3), null);
  });
  it('Arabic is right to left', () => {
    assert.equal(textDirection('ar'), 'rtl');
    assert.equal(textDirection('ja'), 'ltr');
  });
  it('time zones are IANA names, not offsets or nonsense', () => {
    for (const zone of ['UTC', 'Europe/Berlin', 'America/Sao_Paulo', 'Asia/Tokyo']) assert.ok(isTimeZone(zone), zone);
    for (const zone of ['', '+01:00', 'Mars/Olympus', 'Europe/Berlin; drop', 42, null]) assert.ok(!isTimeZone(zone), String(zone));
  });
});
