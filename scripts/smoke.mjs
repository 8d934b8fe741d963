#!/usr/bin/env node
// A short smoke run of what `npm start` serves, on whatever Node runs this script:
// start the server on a fresh data dir, set up the first account from the printed
// link, turn on an authenticator app, sign out, sign in with password and passcode,
// stop. CI runs it on Node 22, the oldest version we support, so that it cannot break
// unseen while the suite runs on 24.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Secret, TOTP } from 'otpauth';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-smoke-'));
const port = 20_000 + Math.floor(Math.random() * 20_000);
const base = `http://127.0.0.1:${port}`;
const password = 'correct horse battery staple';

const server = spawn(process.execPath, [join(root, 'bin/tessera'), 'serve'], {
  cwd: root,
  env: { ...process.env, PORT: String(port), TESSERA_DATA_DIR: dataDir, TESSERA_BASE_URL: base, TESSERA_LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});

function fail(message) {
  console.error(`smoke on Node ${process.version}: ${message}`);
  server.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(1);
}

const setupLink = await new Promise((resolve) => {
  let stdout = '';
  const timer = setTimeout(() => fail(`no setup link within 30 s; stdout: ${stdout}`), 30_000);
  server.stdout.on('data', (chunk) => {
    stdout += chunk;
    const match = /(http:\/\/\S+\/setup\?token=\S+)/.exec(stdout);
    if (match) {
      clearTimeout(timer);
      resolve(match[1]);
    }
  });
  server.on('exit', (code) => fail(`the server exited (${code}) before printing its setup link`));
});

async function api(method, path, body, token) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) fail(`${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

const setup = await api('POST', '/api/v1/setup', {
  token: new URL(setupLink).searchParams.get('token'),
  account_name: 'Smoke Test',
  account_slug: 'smoke',
  name: 'Sam Smoke',
  email: 'sam@smoke.test',
  password,
});
const enrolment = await api('POST', '/api/v1/me/two-factor/totp', {}, setup.session_token);
const totp = new TOTP({ secret: Secret.fromBase32(enrolment.secret) });
// The previous step's code activates the app and the current one signs in: a code is
// never accepted twice, and both lie within the ±1 step window.
await api('POST', '/api/v1/me/two-factor/totp/verify', { code: totp.generate({ timestamp: Date.now() - 30_000 }) }, setup.session_token);
await api('POST', '/api/v1/sign-out', {}, setup.session_token);

const first = await api('POST', '/api/v1/sign-in', { account: 'smoke', email: 'sam@smoke.test', password });
if (first.status !== 'two_factor_required') fail(`sign-in answered ${JSON.stringify(first)}`);
const second = await api('POST', '/api/v1/sign-in/two-factor', { challenge_token: first.challenge_token, method: 'totp', code: totp.generate() });
if (second.status !== 'signed_in') fail(`the passcode answered ${JSON.stringify(second)}`);
const me = await api('GET', '/api/v1/me', undefined, second.session_token);
if (me.email !== 'sam@smoke.test' || !me.two_factor.enabled) fail(`/me answered ${JSON.stringify(me)}`);

server.removeAllListeners('exit');
server.kill('SIGTERM');
const exitCode = await new Promise((resolve) => server.on('exit', resolve));
rmSync(dataDir, { recursive: true, force: true });
if (exitCode !== 0) fail(`the server exited ${exitCode} on SIGTERM`);
console.log(`smoke on Node ${process.version}: started, set up, signed in with a passcode, stopped`);
