// The rules of automation (src/domain/automation.ts): which audit events webhooks hear, the checks of a token's settings and a webhook's address, the retry schedule, and the shape of a delivery's body.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  API_TOKEN_SCOPES,
  WEBHOOK_EVENTS,
  checkApiTokenSettings,
  checkWebhookUrl,
  webhookBody,
  webhookEventOf,
  webhookRetryDelay,
  WEBHOOK_RETRY_WINDOW_IN_MILLISECONDS,
} from '../../src/domain/automation.js';
import { AUDIT_EVENT_SENTENCES } from '../../src/http/pages/audit-event-names.js';

describe('automation rules', () => {
  it('every webhook event is an audit event the code writes, and a resent invitation is none', () => {
    const mapped = Object.keys(AUDIT_EVENT_SENTENCES).flatMap((type) => {
      const event = webhookEventOf(type, null);
      return event ? [event] : [];
    });
    assert.deepEqual([...new Set(mapped)].sort(), [...WEBHOOK_EVENTS].sort());
    assert.equal(webhookEventOf('user_invited', { resent: true }), null);
    assert.equal(webhookEventOf('sign_in_succeeded', null), null);
    assert.equal(webhookEventOf('__proto__', null), null);
  });

  it('checks a token’s name, scopes (each once) and days', () => {
    assert.deepEqual(checkApiTokenSettings({ name: ' HR  sync ', scopes: ['users:read', 'users:read', 'audit:read'], expiresInDays: 365 }), {
      ok: true,
      value: { name: 'HR sync', scopes: ['users:read', 'audit:read'], expiresInDays: 365 },
    });
    for (const bad of [
      { name: 'x', scopes: [], expiresInDays: 1 },
      { name: 'x', scopes: ['admin'], expiresInDays: 1 },
      { name: 'x', scopes: API_TOKEN_SCOPES, expiresInDays: 1.5 },
      { name: '', scopes: ['users:read'], expiresInDays: 1 },
      { name: 'x', scopes: 'users:read', expiresInDays: 1 },
    ]) {
      assert.equal(checkApiTokenSettings(bad).ok, false, JSON.stringify(bad));
    }
  });

  it('takes https addresses, and http only on loopback', () => {
    assert.deepEqual(checkWebhookUrl('https://hooks.example.com/tessera?x=1'), { ok: true, value: 'https://hooks.example.com/tessera?x=1' });
    assert.equal(checkWebhookUrl('http://127.0.0.1:9000/h').ok, true);
    for (const bad of [
      'http://hooks.example.com/',
      'https://a:b@hooks.example.com/',
      'https://hooks.example.com/#x',
      'javascript:alert(1)',
      'https://hooks.example.com\\@evil',
      'https://exämple.com/',
      '',
      42,
    ]) {
      assert.equal(checkWebhookUrl(bad).ok, false, String(bad));
    }
  });

  it('retries about thirty times in the day, hourly at most', () => {
    let elapsed = 0;
    let attempts = 0;
    while (elapsed < WEBHOOK_RETRY_WINDOW_IN_MILLISECONDS) elapsed += webhookRetryDelay(++attempts);
    assert.ok(attempts >= 25 && attempts <= 40, `${attempts} attempts`);
    assert.equal(webhookRetryDelay(1), 5000);
    assert.equal(webhookRetryDelay(50), 60 * 60 * 1000);
  });

  it('shapes a body as Standard Webhooks does: type, timestamp, data of ids and facts', () => {
    const body = JSON.parse(
      webhookBody(
        'user.suspended',
        {
          accountId: 'a1',
          subject: { id: 'u1', email: 'amos@acme.test' },
          actor: { userId: 'u0', tokenId: 't1' },
          ip: '203.0.113.9',
          reason: 'left',
          details: null,
        },
        Date.UTC(2026, 11, 6, 12, 0, 0),
      ),
    );
    assert.deepEqual(body, {
      type: 'user.suspended',
      timestamp: '2026-12-06T12:00:00.000Z',
      data: {
        account_id: 'a1',
        user: { id: 'u1', email: 'amos@acme.test' },
        actor: { user_id: 'u0', api_token_id: 't1' },
        ip: '203.0.113.9',
        reason: 'left',
        details: {},
      },
    });
  });
});
