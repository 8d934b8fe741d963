import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deliveryOf, resendWaitInSeconds, smsCodeText } from './sms-codes.js';

describe('texted codes', () => {
  it('reads "<code> is your <product> (<account>) verification code." then a blank line and "@<host> #<code>"', () => {
    assert.equal(
      smsCodeText({ code: '042917', productName: 'Tessera', accountName: 'Acme Support', host: 'sign-in.acme.example' }),
      '042917 is your Tessera (Acme Support) verification code.\n\n@sign-in.acme.example #042917',
    );
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
