import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deliveryOf, resendWaitInSeconds, smsCodeText, smsLength } from './sms-codes.js';

describe('texted codes', () => {
  it('reads "<code> is your <product> (<account>) verification code." then a blank line and "@<host> #<code>"', () => {
    assert.equal(
      smsCodeText({
        code: '042917',
        accountName: 'Acme Support',
        host: 'sign-in.acme.example',
        message: (account) => `042917 is your Tessera (${account}) verification code.`,
      }),
      '042917 is your Tessera (Acme Support) verification code.\n\n@sign-in.acme.example #042917',
    );
  });

  it('measures GSM-7 septets (extension characters count twice) and UCS-2 units', () => {
    assert.deepEqual(smsLength('Bestätigungscode é'), { encoding: 'gsm7', units: 18, segmentLimit: 160 });
    assert.deepEqual(smsLength('a€'), { encoding: 'gsm7', units: 3, segmentLimit: 160 });
    assert.deepEqual(smsLength('código'), { encoding: 'ucs2', units: 6, segmentLimit: 70 });
    assert.deepEqual(smsLength('確認コード'), { encoding: 'ucs2', units: 5, segmentLimit: 70 });
  });

  it('shortens a long account name so the text stays one segment', () => {
    const text = smsCodeText({ code: '042917', accountName: 'A'.repeat(100), host: 'id.example.com', message: (account) => `確認コード ${account}: 042917` });
    assert.ok(smsLength(text).units <= 70, text);
    assert.match(text, /A\.\.\.: 042917\n\n@id\.example\.com #042917$/);
  });

  it('"Send again" waits 30 seconds, rounded up', () => {
    assert.equal(resendWaitInSeconds(null, 1000), 0);
    assert.equal(resendWaitInSeconds(0, 0), 30);
    assert.equal(resendWaitInSeconds(0, 29_001), 1);
    assert.equal(resendWaitInSeconds(0, 30_000), 0);
  });

  it('tells a text that is waiting, sent, being retried or given up on', () => {
    assert.equal(deliveryOf(undefined), 'none');
    assert.equal(deliveryOf({ status: 'pending', attempts: 0 }), 'queued');
    assert.equal(deliveryOf({ status: 'pending', attempts: 2 }), 'retrying');
    assert.equal(deliveryOf({ status: 'sent', attempts: 1 }), 'sent');
    assert.equal(deliveryOf({ status: 'failed', attempts: 1 }), 'failed');
  });
});
