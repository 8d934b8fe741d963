// Crash safety (issue #11): the real server (`node bin/tessera serve`) under a mixed
// load of enrolments, sign-ins with TOTP and recovery codes, recovery-code renewals and
// admin actions (one-time codes, 2FA resets, suspensions), killed with SIGKILL at a
// random moment, several rounds, restarted on the same data each time. The client
// keeps a model of what the server acknowledged (every 2xx it saw); after each crash,
// with the server down, the database left behind is checked against it:
//   - SQLite `PRAGMA integrity_check` is ok (and no foreign key is dangling);
//   - nobody is half-enrolled: 2FA on means an active factor and a set of ten
//     recovery codes; 2FA off means no active factor and no usable recovery code;
//   - every acknowledged action is there: a person the model knows exactly has in the
//     database exactly the factor, unused recovery codes (by HMAC), last TOTP step and
//     suspension the model holds, and every acknowledged action has its audit event;
//   - each notification mail is written once per action (an audit event and its
//     outbox message come from one transaction, so their counts are equal);
//   - no code was accepted twice: every 2xx the client saw is counted per TOTP step
//     and per recovery code, deliberate replays and same-instant races included.
// At the end the outbox worker drains to a local SMTP server: every message marked
// sent arrived, and none arrived twice except one in flight at a kill (delivery is at
// least once by design: src/delivery/outbox-worker.ts). The same runs on PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { loadKeyRing, type KeyRing } from '../../src/crypto/keys.js';
import { decryptSecret, sealedPlace } from '../../src/crypto/secret-box.js';
import { parseToken } from '../../src/crypto/tokens.js';
import { normalizeRecoveryCode } from '../../src/domain/recovery-codes.js';
import { createRuntime } from '../../src/runtime.js';
import { createAccount } from '../../src/services/accounts.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';
import { recoveryCodeHmac } from '../../src/services/second-factor.js';
import { createUser } from '../../src/services/users.js';
import { openStore, type Store } from '../../src/store/database.js';
import { Authenticator } from '../support/authenticator.js';
import { STRONG_PASSWORD, dialects, postgresDatabaseUrl, type DialectName } from '../support/harness.js';
import { TestSmtpServer } from '../support/smtp-server.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin', 'tessera');

/** Rounds of load-then-kill per dialect (each ends with a SIGKILL). */
const ROUNDS = Number(process.env.TESSERA_CRASH_ROUNDS ?? 6);
const PEOPLE = 48;
const CLIENTS = 5;
const ADMINS = 2;
/** The kill comes this long after the load starts, at random, but not before the
 * round has had this many answers (on a busy machine the load is slow to get going). */
const KILL_AFTER_MILLISECONDS = { min: 1500, max: 5000 };
const MIN_ANSWERS_PER_ROUND = 40;
const STEP_IN_MILLISECONDS = 30_000;
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

// ---- the server, as an operator runs it ------------------------------------

class NetworkError extends Error {}

class ServerProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly output: { text: string },
  ) {}

  static async start(env: Record<string, string>): Promise<ServerProcess> {
    const inherited: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('TESSERA_') && name !== 'PORT') inherited[name] = value;
    const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env: { ...inherited, NODE_ENV: 'test', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = { text: '' };
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output.text += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output.text += chunk));
    const port = await new Promise<number>((resolvePort, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start within 30 s: ${output.text}`)), 30_000);
      const look = () => {
        const match = /listening on 127\.0\.0\.1:(\d+)/.exec(output.text);
        if (match) {
          clearTimeout(timer);
          resolvePort(Number(match[1]));
        }
      };
      child.stdout!.on('data', look);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code ?? signal}) before listening: ${output.text}`));
      });
    });
    return new ServerProcess(child, `http://127.0.0.1:${port}`, output);
  }

  private exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolveExit) => this.child.once('exit', () => resolveExit()));
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited();
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited();
    clearTimeout(timer);
  }
}

// ---- what the client saw ---------------------------------------------------

type State = 'new' | 'enrolled' | 'setup' | 'retired';

interface Person {
  index: number;
  id: string;
  email: string;
  ip: string;
  state: State;
  auth: Authenticator | null;
  /** The secret of an enrolment started but not yet verified. */
  pendingAuth: Authenticator | null;
  recoveryCodes: string[];
  usedRecoveryCodes: string[];
  lastStep: number | null;
  suspended: boolean;
  adminCode: string | null;
  setupToken: string | null;
  sessions: string[];
  busy: boolean;
  /** An admin's reset of their 2FA was acknowledged (they then leave the load). */
  resetAcknowledged: boolean;
  /** An admin is acting on this person while the person's own request runs. */
  adminBusy: boolean;
  /** Two requests on this person ran at once: the model is not exact until the database
   * is read at the next crash, and the person sits out until then. */
  tainted: boolean;
  /** A request of this person's was in flight at a kill: the outcome is unknown until
   * the database is read. */
  uncertain: boolean;
}

class Ledger {
  /** 2xx answers per code: `totp:<secret>:<step>` or `rc:<code>`. */
  readonly acceptances = new Map<string, number>();
  /** Acknowledged actions per `<user id> <audit event type>`. */
  readonly acknowledged = new Map<string, number>();
  /** Answers by status and error code. */
  readonly statuses = new Map<string, number>();
  readonly operations = new Map<string, number>();
  readonly findings: string[] = [];
  requests = 0;
  interrupted = 0;

  accept(key: string): void {
    const count = (this.acceptances.get(key) ?? 0) + 1;
    this.acceptances.set(key, count);
    if (count > 1) this.findings.push(`code accepted ${count} times: ${key.replace(/:[^:]+:/, ':…:')}`);
  }

  acknowledge(person: Person, type: string): void {
    const key = `${person.id} ${type}`;
    this.acknowledged.set(key, (this.acknowledged.get(key) ?? 0) + 1);
  }

  count(operation: string): void {
    this.operations.set(operation, (this.operations.get(operation) ?? 0) + 1);
  }
}

interface Answer {
  status: number;
  json: any;
}

class Client {
  constructor(
    private readonly ledger: Ledger,
    private readonly url: string,
  ) {}

  async call(method: string, path: string, options: { body?: unknown; token?: string; ip: string }): Promise<Answer> {
    this.ledger.requests += 1;
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          'x-forwarded-for': options.ip,
          'user-agent': USER_AGENT,
        },
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        signal: AbortSignal.timeout(20_000),
      });
      text = await response.text();
    } catch (error) {
      this.ledger.interrupted += 1;
      throw new NetworkError((error as Error).message);
    }
    if (response.status >= 500) this.ledger.findings.push(`${method} ${path} answered ${response.status}: ${text.slice(0, 200)}`);
    const json = text ? JSON.parse(text) : null;
    const key = response.status < 300 ? String(response.status) : `${response.status} ${json?.error?.code ?? '?'}`;
    this.ledger.statuses.set(key, (this.ledger.statuses.get(key) ?? 0) + 1);
    return { status: response.status, json };
  }
}

// ---- the workload ------------------------------------------------------------

function currentStep(): number {
  return Math.floor(Date.now() / STEP_IN_MILLISECONDS);
}

/** The code of the first step after the last accepted one that the server still
 * takes (±1 step), or null when all three are spent. */
function freshStep(person: Person): number | null {
  const now = currentStep();
  for (const step of [now - 1, now, now + 1]) if (person.lastStep === null || step > person.lastStep) return step;
  return null;
}

function codeAt(auth: Authenticator, step: number): string {
  return auth.totp.generate({ timestamp: step * STEP_IN_MILLISECONDS + 1 });
}

function totpKey(auth: Authenticator, step: number): string {
  return `totp:${auth.totp.secret.base32}:${step}`;
}

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

class Workload {
  constructor(
    readonly people: Person[],
    readonly admins: { email: string; ip: string; token: string | null }[],
    readonly ledger: Ledger,
  ) {}

  /** A surprise in what one person's request got: not one when an admin acted on the
   * same person at the same time (a tainted model), since then either order is right. */
  private personFinding(person: Person, text: string): void {
    if (!person.tainted) this.ledger.findings.push(text);
  }

  private signIn(client: Client, person: Person): Promise<Answer> {
    return client.call('POST', '/api/v1/sign-in', { body: { account: 'acme', email: person.email, password: STRONG_PASSWORD }, ip: person.ip });
  }

  private async challenge(client: Client, person: Person): Promise<string | null> {
    const answer = await this.signIn(client, person);
    if (answer.status === 200 && answer.json.status === 'two_factor_required') return answer.json.challenge_token;
    if (answer.status === 200) this.personFinding(person, `${person.email} (2FA on) signed in with a password alone: ${answer.json.status}`);
    return null;
  }

  private secondFactor(client: Client, person: Person, challengeToken: string, method: string, code: string): Promise<Answer> {
    return client.call('POST', '/api/v1/sign-in/two-factor', { body: { challenge_token: challengeToken, method, code }, ip: person.ip });
  }

  /** Records a sign-in the server acknowledged. */
  private signedIn(person: Person, answer: Answer, method: 'totp' | 'recovery_code'): void {
    this.ledger.acknowledge(person, 'sign_in_succeeded');
    if (method === 'recovery_code') this.ledger.acknowledge(person, 'recovery_code_used');
    person.sessions.push(answer.json.session_token);
  }

  async enrol(client: Client, person: Person): Promise<void> {
    this.ledger.count('enrol');
    let token = person.setupToken;
    if (person.state === 'new') {
      const answer = await this.signIn(client, person);
      if (answer.status !== 200) return;
      if (answer.json.status !== 'signed_in') {
        this.personFinding(person, `${person.email} without 2FA got ${answer.json.status} at sign-in`);
        person.state = 'retired';
        return;
      }
      token = answer.json.session_token;
      person.sessions.push(token!);
    }
    const started = await client.call('POST', '/api/v1/me/two-factor/totp', { token: token!, ip: person.ip });
    if (started.status !== 200) return;
    person.pendingAuth = new Authenticator(started.json.otpauth_uri);
    const step = currentStep();
    const verified = await client.call('POST', '/api/v1/me/two-factor/totp/verify', {
      body: { code: codeAt(person.pendingAuth, step) },
      token: token!,
      ip: person.ip,
    });
    if (verified.status !== 200) return;
    this.ledger.accept(totpKey(person.pendingAuth, step));
    this.ledger.acknowledge(person, 'two_factor_enabled');
    person.auth = person.pendingAuth;
    person.pendingAuth = null;
    person.lastStep = step;
    person.recoveryCodes = verified.json.recovery_codes;
    person.usedRecoveryCodes = [];
    person.state = 'enrolled';
    if (verified.json.session_token) {
      person.setupToken = null;
      person.sessions.push(verified.json.session_token);
    }
  }

  async signInWithTotp(client: Client, person: Person): Promise<void> {
    this.ledger.count('sign-in totp');
    const step = freshStep(person);
    if (step === null) return this.replay(client, person);
    const challengeToken = await this.challenge(client, person);
    if (!challengeToken) return;
    const answer = await this.secondFactor(client, person, challengeToken, 'totp', codeAt(person.auth!, step));
    if (answer.status !== 200) return;
    this.ledger.accept(totpKey(person.auth!, step));
    person.lastStep = Math.max(person.lastStep ?? step, step);
    this.signedIn(person, answer, 'totp');
  }

  async signInWithRecoveryCode(client: Client, person: Person): Promise<void> {
    this.ledger.count('sign-in recovery code');
    const code = person.recoveryCodes.pop();
    if (!code) return this.signInWithTotp(client, person);
    // Gone from the model before the request: a code whose fate a kill hides is not
    // offered again as "unused".
    person.usedRecoveryCodes.push(code);
    const challengeToken = await this.challenge(client, person);
    if (!challengeToken) {
      person.recoveryCodes.push(code);
      person.usedRecoveryCodes.pop();
      return;
    }
    const answer = await this.secondFactor(client, person, challengeToken, 'recovery_code', code);
    if (answer.status === 200) {
      this.ledger.accept(`rc:${code}`);
      this.signedIn(person, answer, 'recovery_code');
      return;
    }
    // Refused (locked out for now by earlier replays, most likely): still unused.
    person.recoveryCodes.push(code);
    person.usedRecoveryCodes.pop();
    if (answer.status === 400 && answer.json?.error?.code === 'invalid_code') {
      this.personFinding(person, `${person.email}: an unused recovery code was refused: ${JSON.stringify(answer.json)}`);
    }
  }

  /** Sends a code the server already took: it must be refused. */
  async replay(client: Client, person: Person): Promise<void> {
    this.ledger.count('replay');
    const usedCode = person.usedRecoveryCodes.length > 0 && Math.random() < 0.5 ? pick(person.usedRecoveryCodes) : null;
    if (!usedCode && person.lastStep === null) return;
    const challengeToken = await this.challenge(client, person);
    if (!challengeToken) return;
    const answer = usedCode
      ? await this.secondFactor(client, person, challengeToken, 'recovery_code', usedCode)
      : await this.secondFactor(client, person, challengeToken, 'totp', codeAt(person.auth!, person.lastStep!));
    if (answer.status === 200) {
      this.ledger.accept(usedCode ? `rc:${usedCode}` : totpKey(person.auth!, person.lastStep!));
      this.ledger.findings.push(`${person.email}: a replayed ${usedCode ? 'recovery code' : 'TOTP code'} was accepted`);
      this.signedIn(person, answer, usedCode ? 'recovery_code' : 'totp');
    }
  }

  /** The same fresh code on two challenges at the same instant: at most one wins. */
  async race(client: Client, person: Person): Promise<void> {
    this.ledger.count('race');
    const useRecoveryCode = person.recoveryCodes.length > 0 && Math.random() < 0.4;
    const step = useRecoveryCode ? null : freshStep(person);
    if (!useRecoveryCode && step === null) return;
    const code = useRecoveryCode ? person.recoveryCodes.pop()! : codeAt(person.auth!, step!);
    if (useRecoveryCode) person.usedRecoveryCodes.push(code);
    const tokens = await Promise.all([this.challenge(client, person), this.challenge(client, person)]);
    if (!tokens[0] || !tokens[1]) {
      if (useRecoveryCode) {
        person.recoveryCodes.push(code);
        person.usedRecoveryCodes.pop();
      }
      return;
    }
    const method = useRecoveryCode ? 'recovery_code' : 'totp';
    const answers = await Promise.all(tokens.map((token) => this.secondFactor(client, person, token!, method, code)));
    const wins = answers.filter((answer) => answer.status === 200);
    for (const win of wins) {
      this.ledger.accept(useRecoveryCode ? `rc:${code}` : totpKey(person.auth!, step!));
      this.signedIn(person, win, method);
    }
    if (!useRecoveryCode && wins.length > 0) person.lastStep = Math.max(person.lastStep ?? step!, step!);
    if (useRecoveryCode && wins.length === 0) {
      person.recoveryCodes.push(code);
      person.usedRecoveryCodes.pop();
    }
  }

  /** New recovery codes, confirmed with a fresh TOTP code: the old set is void. */
  async renewRecoveryCodes(client: Client, person: Person): Promise<void> {
    this.ledger.count('renew recovery codes');
    const token = person.sessions.at(-1);
    const step = freshStep(person);
    if (!token || step === null) return this.signInWithTotp(client, person);
    const answer = await client.call('POST', '/api/v1/me/two-factor/recovery-codes', {
      body: { method: 'totp', code: codeAt(person.auth!, step) },
      token,
      ip: person.ip,
    });
    if (answer.status === 401) {
      person.sessions = person.sessions.filter((session) => session !== token);
      return;
    }
    if (answer.status !== 200) return;
    this.ledger.accept(totpKey(person.auth!, step));
    person.lastStep = Math.max(person.lastStep ?? step, step);
    this.ledger.acknowledge(person, 'recovery_codes_regenerated');
    person.usedRecoveryCodes.push(...person.recoveryCodes);
    person.recoveryCodes = answer.json.recovery_codes;
  }

  /** The admin-issued one-time code: a setup-only session, the old factors gone. */
  async useAdminCode(client: Client, person: Person): Promise<void> {
    this.ledger.count('use admin code');
    const code = person.adminCode!;
    person.adminCode = null;
    const challengeToken = await this.challenge(client, person);
    if (!challengeToken) return;
    const answer = await this.secondFactor(client, person, challengeToken, 'recovery_code', code);
    if (answer.status !== 200) return;
    this.ledger.accept(`rc:${code}`);
    if (answer.json.status !== 'two_factor_setup_required') {
      this.personFinding(person, `${person.email}: an admin-issued code gave ${answer.json.status}`);
      return;
    }
    this.ledger.acknowledge(person, 'recovery_code_used');
    this.ledger.acknowledge(person, 'sign_in_setup_required');
    person.state = 'setup';
    person.setupToken = answer.json.session_token;
    person.auth = null;
    person.lastStep = null;
    person.usedRecoveryCodes.push(...person.recoveryCodes);
    person.recoveryCodes = [];
  }

  /** A suspended person cannot sign in, whatever the factor. */
  async signInWhileSuspended(client: Client, person: Person): Promise<void> {
    this.ledger.count('sign-in while suspended');
    const answer = await this.signIn(client, person);
    if (answer.status === 200) this.personFinding(person, `${person.email} is suspended but signed in: ${answer.json.status}`);
  }

  async personStep(client: Client, person: Person): Promise<void> {
    if (person.suspended) return this.signInWhileSuspended(client, person);
    if (person.state === 'new' || person.state === 'setup') return this.enrol(client, person);
    if (person.adminCode) return this.useAdminCode(client, person);
    const roll = Math.random();
    if (roll < 0.45) return this.signInWithTotp(client, person);
    if (roll < 0.65) return this.signInWithRecoveryCode(client, person);
    if (roll < 0.75) return this.replay(client, person);
    if (roll < 0.9) return this.race(client, person);
    return this.renewRecoveryCodes(client, person);
  }

  // ---- admins ----

  private async adminToken(client: Client, admin: { email: string; ip: string; token: string | null }): Promise<string | null> {
    if (admin.token) return admin.token;
    const answer = await client.call('POST', '/api/v1/sign-in', { body: { account: 'acme', email: admin.email, password: STRONG_PASSWORD }, ip: admin.ip });
    if (answer.status === 200 && answer.json.status === 'signed_in') admin.token = answer.json.session_token;
    return admin.token;
  }

  async adminStep(client: Client, admin: { email: string; ip: string; token: string | null }, person: Person): Promise<void> {
    const token = await this.adminToken(client, admin);
    if (!token) return;
    const confirmation = { method: 'password', code: STRONG_PASSWORD };
    const roll = Math.random();
    let answer: Answer;
    if (person.suspended || (roll < 0.3 && person.state !== 'setup')) {
      this.ledger.count(person.suspended ? 'admin reactivates' : 'admin suspends');
      const suspend = !person.suspended;
      answer = await client.call('PATCH', `/api/v1/admin/users/${person.id}`, {
        body: { suspended: suspend, ...confirmation, reason: 'crash-safety round' },
        token,
        ip: admin.ip,
      });
      if (answer.status === 200) {
        this.ledger.acknowledge(person, suspend ? 'user_suspended' : 'user_reactivated');
        person.suspended = suspend;
        if (suspend) person.sessions = [];
      }
    } else if (roll < 0.85 && person.state === 'enrolled' && !person.adminCode) {
      this.ledger.count('admin issues a code');
      answer = await client.call('POST', `/api/v1/admin/users/${person.id}/recovery-code`, {
        body: { reason: 'lost phone (crash test)', ...confirmation },
        token,
        ip: admin.ip,
      });
      if (answer.status === 200) {
        this.ledger.acknowledge(person, 'admin_recovery_code_issued');
        person.adminCode = answer.json.code;
        // The code presumes the device lost: the person's sessions end with it.
        person.sessions = [];
      }
    } else if (roll >= 0.85 && person.state !== 'new') {
      this.ledger.count('admin resets 2FA');
      answer = await client.call('DELETE', `/api/v1/admin/users/${person.id}/two-factor`, {
        body: { reason: 'new phone (crash test)', ...confirmation },
        token,
        ip: admin.ip,
      });
      if (answer.status === 200 || answer.status === 204) {
        this.ledger.acknowledge(person, 'two_factor_reset_by_admin');
        // The next sign-in starts with an emailed code; this person leaves the load.
        person.state = 'retired';
        // With the person's own request running beside it, an enrolment may land after.
        if (!person.tainted) person.resetAcknowledged = true;
        person.sessions = [];
      }
    } else {
      return;
    }
    if (answer.status === 401) admin.token = null;
  }

  /** Runs until `stop` is set; each person has one operation at a time, so the model
   * of what the server holds for them stays exact until a kill cuts a request off. */
  async run(url: string, stop: { now: boolean }): Promise<void> {
    const client = new Client(this.ledger, url);
    const available = (person: Person) => !person.uncertain && !person.tainted && person.state !== 'retired';
    const take = (filter: (person: Person) => boolean, alongside: boolean): { person: Person; release: () => void } | null => {
      if (alongside && Math.random() < 0.15) {
        // Now and then an admin acts on someone whose own request is running.
        const running = this.people.filter((person) => person.busy && !person.adminBusy && available(person) && filter(person));
        if (running.length > 0) {
          const person = pick(running);
          person.adminBusy = true;
          person.tainted = true;
          return { person, release: () => (person.adminBusy = false) };
        }
      }
      const idle = this.people.filter((person) => !person.busy && !person.adminBusy && available(person) && filter(person));
      if (idle.length === 0) return null;
      const person = pick(idle);
      person.busy = true;
      return { person, release: () => (person.busy = false) };
    };
    const loop = async (step: (person: Person) => Promise<void>, filter: (person: Person) => boolean, pauseInMilliseconds: number, alongside = false) => {
      while (!stop.now) {
        const taken = take(filter, alongside);
        if (!taken) {
          await new Promise((resolveWait) => setTimeout(resolveWait, 20));
          continue;
        }
        const { person } = taken;
        try {
          await step(person);
        } catch (error) {
          if (!(error instanceof NetworkError)) throw error;
          person.uncertain = true;
        } finally {
          taken.release();
        }
        if (pauseInMilliseconds > 0) await new Promise((resolveWait) => setTimeout(resolveWait, pauseInMilliseconds));
      }
    };
    await Promise.all([
      ...Array.from({ length: CLIENTS }, () =>
        loop(
          (person) => this.personStep(client, person),
          () => true,
          0,
        ),
      ),
      ...this.admins.map((admin) =>
        loop(
          (person) => this.adminStep(client, admin, person),
          (person) => person.state !== 'new',
          150,
          true,
        ),
      ),
    ]);
  }
}

// ---- the database after a crash ----------------------------------------------

interface CrashCheck {
  keys: KeyRing;
  ledger: Ledger;
  people: Person[];
}

async function integrity(store: Store): Promise<void> {
  if (store.dialect !== 'sqlite') return;
  const check = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(store.db);
  assert.deepEqual(
    check.rows.map((row) => row.integrity_check),
    ['ok'],
    'SQLite integrity_check',
  );
  const foreignKeys = await sql`pragma foreign_key_check`.execute(store.db);
  assert.deepEqual(foreignKeys.rows, [], 'SQLite foreign_key_check');
}

/** Checks the invariants, then brings the model of every person whose last request was
 * cut off up to date from the database (their outcome is unknown to the client). */
async function inspect(store: Store, check: CrashCheck, label: string): Promise<void> {
  const { db } = store;
  await integrity(store);
  const users = await db.selectFrom('users').selectAll().execute();
  const methods = await db.selectFrom('two_factor_methods').selectAll().where('status', '=', 'active').execute();
  const codes = await db.selectFrom('recovery_codes').selectAll().execute();
  const events = await db.selectFrom('audit_events').select(['subject_user_id', 'type', 'details']).execute();
  const messages = await db.selectFrom('outbox_messages').select(['user_id', 'purpose']).execute();
  const now = Date.now();

  // Nobody half-enrolled.
  for (const user of users) {
    const active = methods.filter((method) => method.user_id === user.id);
    const userCodes = codes.filter((code) => code.user_id === user.id && code.kind === 'user');
    if (user.two_factor_enabled === 1) {
      assert.ok(active.length > 0, `${label}: ${user.email} has 2FA on without an active factor`);
      assert.equal(userCodes.length, 10, `${label}: ${user.email} has 2FA on with ${userCodes.length} recovery codes instead of a set of 10`);
    } else {
      assert.equal(active.length, 0, `${label}: ${user.email} has 2FA off but an active factor`);
      assert.equal(userCodes.filter((code) => code.used_at === null).length, 0, `${label}: ${user.email} has 2FA off but usable recovery codes`);
    }
  }

  // Audit events and their mails: at least one event per acknowledged action, and one
  // mail per event (written in the same transaction).
  const eventCount = new Map<string, number>();
  for (const event of events) {
    const key = `${event.subject_user_id} ${event.type}`;
    eventCount.set(key, (eventCount.get(key) ?? 0) + 1);
    if (event.type === 'sign_in_succeeded' && event.details?.includes('"method":"recovery_code"')) {
      eventCount.set(`${event.subject_user_id} sign_in_with_recovery_code`, (eventCount.get(`${event.subject_user_id} sign_in_with_recovery_code`) ?? 0) + 1);
    }
  }
  for (const [key, count] of check.ledger.acknowledged) {
    assert.ok((eventCount.get(key) ?? 0) >= count, `${label}: ${count} acknowledged "${key.split(' ')[1]}" but ${eventCount.get(key) ?? 0} audit events`);
  }
  const mailCount = new Map<string, number>();
  for (const message of messages) mailCount.set(`${message.user_id} ${message.purpose}`, (mailCount.get(`${message.user_id} ${message.purpose}`) ?? 0) + 1);
  const pairs: [event: string, purpose: string][] = [
    ['two_factor_enabled', 'two_factor_enabled'],
    ['admin_recovery_code_issued', 'admin_recovery_code'],
    ['two_factor_reset_by_admin', 'two_factor_reset'],
    ['recovery_codes_regenerated', 'recovery_codes_regenerated'],
    ['new_device_sign_in', 'new_device_sign_in'],
    ['sign_in_with_recovery_code', 'recovery_code_used'],
  ];
  for (const user of users) {
    for (const [event, purpose] of pairs) {
      assert.equal(
        mailCount.get(`${user.id} ${purpose}`) ?? 0,
        eventCount.get(`${user.id} ${event}`) ?? 0,
        `${label}: ${user.email}: "${purpose}" mails and "${event}" events differ`,
      );
    }
  }

  // What the model knows exactly is exactly in the database.
  const byId = new Map(users.map((user) => [user.id, user]));
  for (const person of check.people) {
    const user = byId.get(person.id)!;
    const totp = methods.find((method) => method.user_id === person.id && method.type === 'totp') ?? null;
    const secret = totp?.secret_ciphertext
      ? decryptSecret(check.keys, totp.secret_ciphertext, sealedPlace('two_factor_methods', 'secret_ciphertext', totp.id))
      : null;
    const secretOf = (auth: Authenticator | null) => (auth ? Buffer.from(auth.totp.secret.bytes).toString('base64') : null);
    const unused = new Set(codes.filter((code) => code.user_id === person.id && code.kind === 'user' && code.used_at === null).map((code) => code.code_hmac));
    const hmacOf = (code: string) => recoveryCodeHmac(check.keys, normalizeRecoveryCode(code)!);
    if (person.tainted) person.uncertain = true;
    person.tainted = false;
    if (!person.uncertain && person.state !== 'retired') {
      const who = `${label}: ${person.email}`;
      assert.equal(
        user.suspended_at !== null,
        person.suspended,
        `${who}: suspended in the database ${user.suspended_at !== null}, acknowledged ${person.suspended}`,
      );
      if (person.state === 'enrolled') {
        assert.equal(user.two_factor_enabled, 1, `${who}: acknowledged enrolment missing`);
        assert.equal(secret, secretOf(person.auth), `${who}: not the acknowledged authenticator`);
        assert.equal(totp!.last_used_step, person.lastStep, `${who}: last used TOTP step`);
        assert.deepEqual([...unused].sort(), person.recoveryCodes.map(hmacOf).sort(), `${who}: unused recovery codes differ from the acknowledged ones`);
        if (person.adminCode) {
          const adminCode = codes.find((code) => code.user_id === person.id && code.kind === 'admin' && code.used_at === null);
          assert.equal(adminCode?.code_hmac, hmacOf(person.adminCode), `${who}: the acknowledged admin-issued code is missing`);
        }
      } else {
        assert.equal(user.two_factor_enabled, 0, `${who}: 2FA on, but no enrolment was acknowledged`);
        if (person.state === 'setup') assert.equal(user.two_factor_setup_required, 1, `${who}: setup required after the admin-issued code`);
      }
    }
    if (person.resetAcknowledged) {
      assert.equal(user.two_factor_enabled, 0, `${label}: ${person.email}: 2FA on after an acknowledged reset`);
    }

    if (!person.uncertain) continue;
    // Resolve from the database what the cut-off request did.
    person.uncertain = false;
    person.suspended = user.suspended_at !== null;
    if (person.suspended) person.sessions = [];
    if (person.state === 'retired') continue;
    if (user.two_factor_enabled === 1 && totp) {
      const auth = [person.auth, person.pendingAuth].find((candidate) => secretOf(candidate) === secret) ?? null;
      if (!auth) {
        person.state = 'retired';
        continue;
      }
      person.state = 'enrolled';
      person.auth = auth;
      person.pendingAuth = null;
      person.setupToken = null;
      person.lastStep = totp.last_used_step;
      const known = [...person.recoveryCodes, ...person.usedRecoveryCodes];
      person.recoveryCodes = known.filter((code) => unused.has(hmacOf(code)));
      person.usedRecoveryCodes = known.filter((code) => !unused.has(hmacOf(code)));
      if (person.recoveryCodes.length !== unused.size) {
        // A renewal or an enrolment was cut off after it committed: codes nobody saw.
        person.state = 'retired';
        continue;
      }
      const adminCode = codes.find((code) => code.user_id === person.id && code.kind === 'admin' && code.used_at === null && (code.expires_at ?? 0) > now);
      if (adminCode && (!person.adminCode || adminCode.code_hmac !== hmacOf(person.adminCode))) person.state = 'retired'; // issued, but the code never reached the admin
      if (!adminCode) person.adminCode = null;
    } else if (user.two_factor_setup_required === 1) {
      const session = person.setupToken
        ? await db.selectFrom('sessions').select('kind').where('id', '=', parseToken(person.setupToken)!.id).executeTakeFirst()
        : undefined;
      person.state = session?.kind === 'setup' ? 'setup' : 'retired';
      person.auth = null;
    } else {
      person.state = 'new';
      person.auth = null;
      person.recoveryCodes = [];
    }
  }
}

// ---- the suite -----------------------------------------------------------------

for (const { name: dialect, skip } of dialects()) {
  describe(`crash safety on ${dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'}: kill -9 under load, restart, check`, { skip, timeout: 240_000 }, () => {
    let dataDir: string;
    let smtp: TestSmtpServer;
    let dropDatabase: () => Promise<void> = async () => {};
    let env: Record<string, string>;
    let server: ServerProcess | null = null;

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), `tessera-crash-${dialect}-`));
      smtp = await TestSmtpServer.start();
      let databaseUrl = `sqlite:${join(dataDir, 'tessera.db')}`;
      if ((dialect as DialectName) === 'postgres') {
        const database = await postgresDatabaseUrl();
        databaseUrl = database.url;
        dropDatabase = database.drop;
      }
      env = {
        PORT: '0',
        TESSERA_HOST: '127.0.0.1',
        TESSERA_BASE_URL: 'http://tessera.test',
        TESSERA_DATA_DIR: dataDir,
        TESSERA_DATABASE_URL: databaseUrl,
        TESSERA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
        TESSERA_HMAC_KEY: randomBytes(32).toString('base64'),
        TESSERA_SMTP_URL: smtp.url,
        // Each simulated person comes from their own address (X-Forwarded-For), so the
        // per-address limits and "new computer" mails behave as with real people.
        TESSERA_TRUST_PROXY: '127.0.0.1',
        TESSERA_LOG_LEVEL: 'warn',
      };
    });

    after(async () => {
      await server?.kill().catch(() => {});
      await smtp?.close();
      await dropDatabase();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it(`${ROUNDS} rounds: no half-enrolment, no code accepted twice, every acknowledged action kept, each mail once`, async (t) => {
      const started = Date.now();
      const config = loadConfig(env, dataDir);
      const keys = loadKeyRing({ dataDir, encryptionKeys: config.encryptionKeys, hmacKey: config.hmacKey });
      // The account and its people, made the way the command line does.
      const runtime = await createRuntime(config);
      const admins: { email: string; ip: string; token: string | null }[] = [];
      try {
        assert.ok((await createAccount(runtime.deps, { slug: 'acme', name: 'Acme Support' }, NO_REQUEST_CONTEXT)).ok);
        for (let i = 0; i < ADMINS; i += 1) {
          admins.push({ email: `admin${i}@acme.test`, ip: `10.200.0.${i + 1}`, token: null });
          assert.ok(
            (await createUser(runtime.deps, { account: 'acme', email: `admin${i}@acme.test`, role: 'admin', password: STRONG_PASSWORD }, NO_REQUEST_CONTEXT))
              .ok,
          );
        }
        for (let i = 0; i < PEOPLE; i += 2) {
          await Promise.all(
            [i, i + 1].map(async (n) =>
              assert.ok(
                (
                  await createUser(
                    runtime.deps,
                    { account: 'acme', email: `agent${n}@acme.test`, role: 'agent', password: STRONG_PASSWORD },
                    NO_REQUEST_CONTEXT,
                  )
                ).ok,
              ),
            ),
          );
        }
      } finally {
        await runtime.close();
      }
      const store = openStore(config.databaseUrl);
      const rows = await store.db.selectFrom('users').select(['id', 'email']).where('role', '=', 'agent').execute();
      await store.close();
      const people: Person[] = rows.map((row) => {
        const index = Number(/agent(\d+)@/.exec(row.email)![1]);
        return {
          index,
          id: row.id,
          email: row.email,
          ip: `10.${100 + Math.floor(index / 200)}.${index % 200}.7`,
          state: 'new',
          auth: null,
          pendingAuth: null,
          recoveryCodes: [],
          usedRecoveryCodes: [],
          lastStep: null,
          suspended: false,
          adminCode: null,
          setupToken: null,
          sessions: [],
          busy: false,
          resetAcknowledged: false,
          adminBusy: false,
          tainted: false,
          uncertain: false,
        };
      });
      const ledger = new Ledger();
      const workload = new Workload(people, admins, ledger);
      const check: CrashCheck = { keys, ledger, people };
      /** Mails that had reached the SMTP server while their message was still pending
       * at a kill: sent, not yet marked sent, so sent again later (at least once). */
      const inFlightMails = new Set<string>();
      const roundLog: string[] = [];

      for (let round = 1; round <= ROUNDS; round += 1) {
        server = await ServerProcess.start(env);
        const requestsBefore = ledger.requests;
        const roundStarted = Date.now();
        const stop = { now: false };
        const running = workload.run(server.url, stop);
        const killAfter = KILL_AFTER_MILLISECONDS.min + Math.random() * (KILL_AFTER_MILLISECONDS.max - KILL_AFTER_MILLISECONDS.min);
        await new Promise((resolveWait) => setTimeout(resolveWait, killAfter));
        const busyUntil = Date.now() + 60_000;
        while (ledger.requests - requestsBefore < MIN_ANSWERS_PER_ROUND && Date.now() < busyUntil)
          await new Promise((resolveWait) => setTimeout(resolveWait, 50));
        const killedAfter = Date.now() - roundStarted;
        await server.kill();
        stop.now = true;
        await running;
        assert.equal(server.child.signalCode, 'SIGKILL', `round ${round}: the server was killed, not crashed by itself: ${server.output.text.slice(-2000)}`);
        const inspection = openStore(config.databaseUrl);
        try {
          const uncertain = people.filter((person) => person.uncertain).length;
          await inspect(inspection, check, `after kill ${round}`);
          const pending = new Set(
            (await inspection.db.selectFrom('outbox_messages').select('id').where('status', '=', 'pending').execute()).map((row) => row.id),
          );
          const newlyInFlight = smtp.mails.map(messageIdOf).filter((id) => id !== null && pending.has(id) && !inFlightMails.has(id)) as string[];
          assert.ok(newlyInFlight.length <= 1, `round ${round}: ${newlyInFlight.length} mails delivered but not marked sent (the worker sends one at a time)`);
          newlyInFlight.forEach((id) => inFlightMails.add(id));
          roundLog.push(
            `round ${round}: killed after ${killedAfter} ms of load, ${ledger.requests - requestsBefore} requests, ${uncertain} people with a request cut off`,
          );
        } finally {
          await inspection.close();
        }
        assert.deepEqual(ledger.findings, [], `round ${round}`);
      }

      // Back up once more: acknowledged sessions still work, and the outbox drains.
      server = await ServerProcess.start(env);
      const client = new Client(ledger, server.url);
      const live = people.filter((person) => person.state === 'enrolled' && !person.suspended && person.sessions.length > 0);
      for (const person of live.slice(0, 20)) {
        const me = await client.call('GET', '/api/v1/me', { token: person.sessions.at(-1)!, ip: person.ip });
        assert.equal(me.status, 200, `${person.email}: an acknowledged session was lost`);
      }
      const final = openStore(config.databaseUrl);
      try {
        // Messages claimed by a killed worker wait for their claim to run out (60 s);
        // every other one goes now. The worker sends one mail at a time on a fresh SMTP
        // connection (about 0.1 s each here, more on a busy machine), so a backlog takes
        // a while: it must keep shrinking, without a pause of 20 s, for at most 3 minutes.
        const drainStarted = Date.now();
        const giveUpAt = drainStarted + 180_000;
        let deadline = Date.now() + 20_000;
        let fewest = Number.POSITIVE_INFINITY;
        let drainedInMilliseconds = 0;
        for (;;) {
          const waiting = await final.db
            .selectFrom('outbox_messages')
            .select(['id', 'attempts', 'next_attempt_at', 'claimed_until', 'last_error', 'created_at'])
            .where('status', '=', 'pending')
            .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', Date.now())]))
            .execute();
          if (waiting.length === 0) {
            drainedInMilliseconds = Date.now() - drainStarted;
            break;
          }
          if (waiting.length < fewest) {
            fewest = waiting.length;
            deadline = Math.min(giveUpAt, Date.now() + 20_000);
          }
          if (Date.now() >= deadline) {
            const now = Date.now();
            const shown = waiting.slice(0, 5).map((m) => ({
              attempts: m.attempts,
              due_in_ms: m.next_attempt_at - now,
              claimed_until_ms: m.claimed_until === null ? null : m.claimed_until - now,
              age_ms: now - m.created_at,
              last_error: m.last_error,
            }));
            assert.fail(
              `${waiting.length} outbox messages still unsent after ${Date.now() - drainStarted} ms, e.g. ${JSON.stringify(shown)}; server output: ${server.output.text.slice(-1500)}`,
            );
          }
          await new Promise((resolveWait) => setTimeout(resolveWait, 200));
        }
        await server.stop();
        server = null;
        await inspect(final, check, 'at the end');
        const outbox = await final.db.selectFrom('outbox_messages').select(['id', 'status', 'channel']).execute();
        const received = new Map<string, number>();
        for (const mail of smtp.mails) {
          const id = messageIdOf(mail);
          assert.ok(id && outbox.some((message) => message.id === id), `a mail with no outbox message: ${mail.headers.get('message-id')}`);
          received.set(id!, (received.get(id!) ?? 0) + 1);
        }
        for (const message of outbox) {
          if (message.channel !== 'email') continue;
          const times = received.get(message.id) ?? 0;
          assert.notEqual(message.status, 'failed', `outbox message ${message.id} failed`);
          if (message.status === 'sent') assert.ok(times >= 1, `outbox message ${message.id} marked sent but never received`);
          const allowed = inFlightMails.has(message.id) ? 2 : 1;
          assert.ok(times <= allowed, `outbox message ${message.id} received ${times} times`);
        }
        const duplicates = [...received.values()].filter((times) => times > 1).length;
        const acceptances = [...ledger.acceptances.values()];
        const summary = [
          `${dialect}: ${ROUNDS} kills in ${Math.round((Date.now() - started) / 1000)} s, ${ledger.requests} requests (${ledger.interrupted} cut off by a kill)`,
          ...roundLog,
          `operations: ${[...ledger.operations].map(([name, count]) => `${name} ${count}`).join(', ')}`,
          `answers: ${[...ledger.statuses]
            .sort((a, b) => a[0].localeCompare(b[0]))
            .map(([status, count]) => `${status} ×${count}`)
            .join(', ')}`,
          `codes accepted: ${acceptances.length} (at most once each: ${acceptances.every((count) => count === 1)})`,
          `people: ${['new', 'enrolled', 'setup', 'retired'].map((state) => `${state} ${people.filter((person) => person.state === state).length}`).join(', ')}, suspended ${people.filter((person) => person.suspended).length}`,
          `outbox: ${outbox.length} messages, ${smtp.mails.length} mails received, ${duplicates} received twice (in flight at a kill: ${inFlightMails.size}), ${smtp.connectionErrors.length} SMTP connections cut off; the last restart drained its backlog in ${drainedInMilliseconds} ms`,
        ];
        for (const line of summary) t.diagnostic(line);
      } finally {
        await final.close();
      }
      assert.deepEqual(ledger.findings, []);
      assert.ok(ledger.acceptances.size >= ROUNDS * 3, `the load had codes accepted (${ledger.acceptances.size})`);
    });
  });
}

function messageIdOf(mail: { headers: Map<string, string> }): string | null {
  return /^<([^@>]+)@/.exec(mail.headers.get('message-id') ?? '')?.[1] ?? null;
}
