import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TOTP, URI } from 'otpauth';
import {
  DEFAULT_TOTP_PARAMETERS,
  TOTP_SECRET_BYTES,
  buildOtpauthUri,
  encodeSecretBase32,
  formatSecretForManualEntry,
  generateHotp,
  generateTotp,
  normalizePasscodeInput,
  verifyTotp,
  type TotpAlgorithm,
  type TotpParameters,
} from './totp.js';

const ascii = (text: string) => new TextEncoder().encode(text);
const SECONDS = 1000;

describe('defaults', () => {
  it('uses SHA1 / 6 digits / 30 s and a 160-bit seed', () => {
    assert.deepEqual(DEFAULT_TOTP_PARAMETERS, { algorithm: 'SHA1', digits: 6, periodInSeconds: 30 });
    assert.equal(TOTP_SECRET_BYTES, 20);
  });
});

describe('RFC 4226 Appendix D (HOTP, SHA1, 6 digits)', () => {
  const secret = ascii('12345678901234567890');
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];

  expected.forEach((code, counter) => {
    it(`counter ${counter} → ${code}`, () => {
      assert.equal(generateHotp(secret, counter, DEFAULT_TOTP_PARAMETERS), code);
      // The same value as a TOTP at the start of step `counter`.
      const time = counter * 30 * SECONDS;
      assert.equal(generateTotp(secret, time, DEFAULT_TOTP_PARAMETERS), code);
      assert.deepEqual(verifyTotp({ secret, code, timeInMilliseconds: time, parameters: DEFAULT_TOTP_PARAMETERS, lastUsedStep: null }), {
        ok: true,
        step: counter,
      });
    });
  });
});

describe('RFC 6238 Appendix B (8 digits, 30 s)', () => {
  const seeds: Record<TotpAlgorithm, Uint8Array> = {
    SHA1: ascii('12345678901234567890'),
    SHA256: ascii('12345678901234567890123456789012'),
    SHA512: ascii('1234567890123456789012345678901234567890123456789012345678901234'),
  };
  const table: Array<[timeInSeconds: number, sha1: string, sha256: string, sha512: string]> = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];

  for (const [timeInSeconds, ...codes] of table) {
    (['SHA1', 'SHA256', 'SHA512'] as const).forEach((algorithm, index) => {
      const code = codes[index]!;
      it(`${algorithm} at ${timeInSeconds} → ${code}`, () => {
        const parameters: TotpParameters = { algorithm, digits: 8, periodInSeconds: 30 };
        const time = timeInSeconds * SECONDS;
        const secret = seeds[algorithm];
        assert.equal(generateTotp(secret, time, parameters), code);
        assert.deepEqual(verifyTotp({ secret, code, timeInMilliseconds: time, parameters, lastUsedStep: null }), {
          ok: true,
          step: Math.floor(timeInSeconds / 30),
        });
      });
    });
  }

  it('honours the stored algorithm: a SHA256 code fails under SHA1', () => {
    const parameters: TotpParameters = { algorithm: 'SHA1', digits: 8, periodInSeconds: 30 };
    const result = verifyTotp({
      secret: seeds.SHA1,
      code: '46119246', // SHA256 code at t = 59 (with the 32-byte seed)
      timeInMilliseconds: 59 * SECONDS,
      parameters,
      lastUsedStep: null,
    });
    assert.deepEqual(result, { ok: false, reason: 'invalid' });
  });
});

describe('verification window (fake clock at exact step boundaries)', () => {
  const secret = ascii('tessera-window-test!');
  const parameters = DEFAULT_TOTP_PARAMETERS;
  const N = 57_000_000; // around 2024
  const codeAt = (step: number) => generateHotp(secret, step, parameters);
  const verifyAt = (time: number, step: number, windowInSteps?: number) =>
    verifyTotp({ secret, code: codeAt(step), timeInMilliseconds: time, parameters, lastUsedStep: null, windowInSteps });

  it('has distinct codes for the steps used below (so the test means something)', () => {
    const codes = new Set([-3, -2, -1, 0, 1, 2].map((delta) => codeAt(N + delta)));
    assert.equal(codes.size, 6);
  });

  for (const [label, time, currentStep] of [
    ['first millisecond of step N', 30 * SECONDS * N, N],
    ['last millisecond of step N-1', 30 * SECONDS * N - 1, N - 1],
  ] as const) {
    it(`${label}: accepts T-1, T, T+1; refuses T-2 and T+2`, () => {
      assert.equal(generateTotp(secret, time, parameters), codeAt(currentStep));
      for (const delta of [-1, 0, 1]) {
        assert.deepEqual(verifyAt(time, currentStep + delta), { ok: true, step: currentStep + delta });
      }
      for (const delta of [-2, 2]) {
        assert.deepEqual(verifyAt(time, currentStep + delta), { ok: false, reason: 'invalid' });
      }
    });
  }

  it('windowInSteps 0 accepts only the current step; 2 accepts T±2', () => {
    const time = 30 * SECONDS * N;
    assert.deepEqual(verifyAt(time, N, 0), { ok: true, step: N });
    assert.deepEqual(verifyAt(time, N + 1, 0), { ok: false, reason: 'invalid' });
    assert.deepEqual(verifyAt(time, N - 2, 2), { ok: true, step: N - 2 });
    assert.deepEqual(verifyAt(time, N + 2, 2), { ok: true, step: N + 2 });
  });

  it('honours a non-default period', () => {
    const sixty: TotpParameters = { ...parameters, periodInSeconds: 60 };
    const time = 60 * SECONDS * 1000;
    const code = generateHotp(secret, 1000, sixty);
    assert.equal(generateTotp(secret, time + 59_999, sixty), code);
    assert.deepEqual(verifyTotp({ secret, code, timeInMilliseconds: time, parameters: sixty, lastUsedStep: null }), { ok: true, step: 1000 });
  });
});

describe('replay (RFC 6238 §5.2)', () => {
  const secret = ascii('tessera-replay-test!');
  const parameters = DEFAULT_TOTP_PARAMETERS;
  const N = 57_000_000;
  const time = 30 * SECONDS * N;
  const verify = (step: number, lastUsedStep: number | null) =>
    verifyTotp({ secret, code: generateHotp(secret, step, parameters), timeInMilliseconds: time, parameters, lastUsedStep });

  it('refuses the same step twice', () => {
    const first = verify(N, null);
    assert.deepEqual(first, { ok: true, step: N });
    assert.deepEqual(verify(N, first.ok ? first.step : null), { ok: false, reason: 'replayed' });
  });

  it('refuses an older step after a newer one', () => {
    assert.deepEqual(verify(N - 1, N), { ok: false, reason: 'replayed' });
    assert.deepEqual(verify(N, N + 1), { ok: false, reason: 'replayed' });
  });

  it('accepts a newer step', () => {
    assert.deepEqual(verify(N + 1, N), { ok: true, step: N + 1 });
  });

  it('when two steps in the window share a code, matches the newest (not the replayed one)', () => {
    // Found by search: with the RFC seed, steps 57017782 and 57017784 both give 882938.
    const rfcSecret = ascii('12345678901234567890');
    const middle = 57_017_783;
    assert.equal(generateHotp(rfcSecret, middle - 1, parameters), '882938');
    assert.equal(generateHotp(rfcSecret, middle + 1, parameters), '882938');
    const at = (lastUsedStep: number | null) =>
      verifyTotp({ secret: rfcSecret, code: '882938', timeInMilliseconds: 30 * SECONDS * middle, parameters, lastUsedStep });
    assert.deepEqual(at(null), { ok: true, step: middle + 1 });
    assert.deepEqual(at(middle - 1), { ok: true, step: middle + 1 });
    assert.deepEqual(at(middle + 1), { ok: false, reason: 'replayed' });
  });

  it('says invalid, not replayed, for a wrong code', () => {
    const wrong = generateHotp(secret, N + 5, parameters);
    assert.deepEqual(verifyTotp({ secret, code: wrong, timeInMilliseconds: time, parameters, lastUsedStep: N }), { ok: false, reason: 'invalid' });
  });
});

describe('bad codes', () => {
  const secret = ascii('12345678901234567890');
  const base = { secret, timeInMilliseconds: 59 * SECONDS, parameters: DEFAULT_TOTP_PARAMETERS, lastUsedStep: null };

  for (const code of ['', '12345', '1234567', 'abcdef', '１２３４５６', ' 287082', '287 082', '28708\u0000', '٢٨٧٠٨٢']) {
    it(`${JSON.stringify(code)} is invalid`, () => {
      assert.deepEqual(verifyTotp({ ...base, code }), { ok: false, reason: 'invalid' });
    });
  }

  it('an 8-digit code is refused under 6-digit parameters', () => {
    assert.deepEqual(verifyTotp({ ...base, code: '94287082' }), { ok: false, reason: 'invalid' });
  });

  it('a non-string code is invalid, not a crash', () => {
    assert.deepEqual(verifyTotp({ ...base, code: 287082 as unknown as string }), { ok: false, reason: 'invalid' });
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (code) => {
        const result = verifyTotp({ ...base, code });
        assert.ok(result.ok || result.reason === 'invalid');
      }),
    );
  });

  it('throws (a bug, not user input) on impossible parameters', () => {
    assert.throws(() => verifyTotp({ ...base, code: '123456', parameters: { ...DEFAULT_TOTP_PARAMETERS, digits: 4 } }));
    assert.throws(() => verifyTotp({ ...base, code: '123456', parameters: { ...DEFAULT_TOTP_PARAMETERS, algorithm: 'MD5' as TotpAlgorithm } }));
    assert.throws(() => verifyTotp({ ...base, code: '123456', timeInMilliseconds: Number.NaN }));
  });
});

describe('normalizePasscodeInput', () => {
  const table: Array<[string, string | null]> = [
    ['123456', '123456'],
    ['123 456', '123456'],
    ['123-456', '123456'],
    [' 12 34 56 ', '123456'],
    ['\t123456\n', '123456'],
    ['123\u00A0456', '123456'], // no-break space from copy-paste
    ['123\u2013456', '123456'], // en dash
    ['', null],
    ['12345', null],
    ['1234567', null],
    ['abcdef', null],
    ['12345a', null],
    ['１２３４５６', null],
    ['123_456', null],
    ['1'.repeat(10_000), null],
  ];
  for (const [raw, expected] of table) {
    it(`${JSON.stringify(raw.slice(0, 20))} → ${JSON.stringify(expected)}`, () => {
      assert.equal(normalizePasscodeInput(raw), expected);
    });
  }

  it('takes the digit count', () => {
    assert.equal(normalizePasscodeInput('1234 5678', 8), '12345678');
    assert.equal(normalizePasscodeInput('123456', 8), null);
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (raw) => {
        const result = normalizePasscodeInput(raw);
        assert.ok(result === null || /^[0-9]{6}$/.test(result));
      }),
    );
  });
});

describe('secret encoding', () => {
  it('encodes RFC 4648 Base32 upper case without padding', () => {
    assert.equal(encodeSecretBase32(ascii('foobar')), 'MZXW6YTBOI'); // RFC 4648 §10: "MZXW6YTBOI======"
    assert.equal(encodeSecretBase32(ascii('12345678901234567890')), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    assert.match(encodeSecretBase32(new Uint8Array(32).fill(0xff)), /^[A-Z2-7]{52}$/);
  });

  it('encodes only the bytes of a view, not its whole underlying buffer', () => {
    const backing = ascii('xxfoobarxx');
    assert.equal(encodeSecretBase32(backing.subarray(2, 8)), 'MZXW6YTBOI');
    assert.equal(generateHotp(ascii('__12345678901234567890').subarray(2), 0, DEFAULT_TOTP_PARAMETERS), '755224');
  });

  it('groups by four for manual entry', () => {
    assert.equal(formatSecretForManualEntry('MZXW6YTBOI'), 'MZXW 6YTB OI');
    assert.equal(formatSecretForManualEntry('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'), 'GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ');
  });
});

describe('buildOtpauthUri', () => {
  const secret = ascii('12345678901234567890');

  it('builds the Key Uri Format with the issuer in both places', () => {
    assert.equal(
      buildOtpauthUri({ issuer: 'Tessera', accountName: 'ada@example.com', secret }),
      'otpauth://totp/Tessera:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ' + '&issuer=Tessera&algorithm=SHA1&digits=6&period=30',
    );
  });

  it('encodes spaces and non-ASCII, replaces ":" with a space, and parses back', () => {
    const oddSecret = new Uint8Array(32).map((_, i) => i * 7); // 52 Base32 chars: would need padding
    const parameters: TotpParameters = { algorithm: 'SHA256', digits: 8, periodInSeconds: 60 };
    const uri = buildOtpauthUri({
      issuer: 'Tessera (Café: Ünïcode)',
      accountName: 'José Ünïcode:admin@example.com',
      secret: oddSecret,
      parameters,
    });

    const [label = '', query = ''] = uri.slice('otpauth://totp/'.length).split('?');
    assert.equal(label, 'Tessera%20(Caf%C3%A9%20%C3%9Cn%C3%AFcode):Jos%C3%A9%20%C3%9Cn%C3%AFcode%20admin%40example.com');
    assert.equal(label.split(':').length, 2, 'exactly one ":" in the label, the separator');
    assert.doesNotMatch(uri, /%3A/i);
    assert.doesNotMatch(uri, /secret=[^&]*=/, 'no Base32 padding');
    assert.doesNotMatch(uri, / /);
    const params = new URLSearchParams(query);
    assert.equal(params.get('issuer'), 'Tessera (Café Ünïcode)');
    assert.equal(params.get('secret'), encodeSecretBase32(oddSecret));

    const parsed = URI.parse(uri);
    assert.ok(parsed instanceof TOTP);
    assert.deepEqual([...parsed.secret.bytes], [...oddSecret]);
    assert.equal(parsed.issuer, 'Tessera (Café Ünïcode)');
    assert.equal(parsed.label, 'José Ünïcode admin@example.com');
    assert.equal(parsed.issuerInLabel, true);
    assert.equal(parsed.algorithm, 'SHA256');
    assert.equal(parsed.digits, 8);
    assert.equal(parsed.period, 60);
  });

  it('parses back for arbitrary names', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), fc.string({ unit: 'grapheme', minLength: 1 }), (issuer, account) => {
        fc.pre(issuer.replace(/[:\s]/g, '') !== '' && account.replace(/[:\s]/g, '') !== '');
        const parsed = URI.parse(buildOtpauthUri({ issuer, accountName: account, secret }));
        const cleaned = (name: string) => name.replace(/:/g, ' ').replace(/\s+/g, ' ').trim();
        assert.equal(parsed.issuer, cleaned(issuer));
        assert.equal(parsed.label, cleaned(account));
        assert.equal(parsed.secret.base32, encodeSecretBase32(secret));
      }),
    );
  });

  it('does not throw on lone surrogates', () => {
    const uri = buildOtpauthUri({ issuer: 'Tessera', accountName: 'a\uD800b', secret });
    assert.equal(URI.parse(uri).label, 'a\uFFFDb');
  });

  it('refuses names that are empty once cleaned', () => {
    assert.throws(() => buildOtpauthUri({ issuer: ' : ', accountName: 'ada', secret }));
    assert.throws(() => buildOtpauthUri({ issuer: 'Tessera', accountName: '', secret }));
  });
});

it('a Node Buffer from the shared pool gives the same codes as a plain copy', async () => {
  const { generateTotp: generate, DEFAULT_TOTP_PARAMETERS: parameters } = await import('./totp.js');
  const pooled = Buffer.from('MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=', 'base64');
  assert.notEqual(pooled.byteLength, pooled.buffer.byteLength, 'the test needs a pooled Buffer');
  assert.equal(generate(pooled, 59_000, parameters), generate(new Uint8Array(pooled), 59_000, parameters));
});
