// The real command line, run as a child process the way an operator runs it:
// `node bin/tessera …` in the repository, with a fresh data directory per suite.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { POSTGRES_URL, STRONG_PASSWORD, skipReason } from '../support/harness.js';
import { openStore } from '../../src/store/database.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin', 'tessera');
const COMMAND_TIMEOUT_IN_MILLISECONDS = 60_000;

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment of the child: nothing Tessera-related leaks in from ours. */
function childEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('TESSERA_') || name === 'PORT') continue;
    env[name] = value;
  }
  return { ...env, TESSERA_DATA_DIR: dataDir, NODE_ENV: 'test', TESSERA_LOG_LEVEL: 'silent', ...extra };
}

function tessera(args: string[], options: { dataDir: string; env?: Record<string, string>; input?: string }): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(options.dataDir, options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tessera ${args.join(' ')} did not finish in ${COMMAND_TIMEOUT_IN_MILLISECONDS} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, COMMAND_TIMEOUT_IN_MILLISECONDS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the command may exit before reading stdin
    child.stdin.end(options.input ?? '');
  });
}

function describeRun(result: RunResult): string {
  return `exit ${result.code}; stdout: ${JSON.stringify(result.stdout)}; stderr: ${JSON.stringify(result.stderr)}`;
}

function assertSucceeded(result: RunResult): void {
  assert.equal(result.code, 0, describeRun(result));
  assert.equal(result.stderr, '', describeRun(result));
}

/** Non-zero exit, nothing on stdout, exactly one line (`tessera: reason`) on stderr. */
function assertOneLineFailure(result: RunResult, reason: RegExp, code?: number): void {
  if (code === undefined) assert.notEqual(result.code, 0, describeRun(result));
  else assert.equal(result.code, code, describeRun(result));
  assert.equal(result.signal, null, describeRun(result));
  assert.equal(result.stdout, '', describeRun(result));
  assert.match(result.stderr, /^tessera: [^\n]+\n$/, `one line on stderr: ${describeRun(result)}`);
  assert.match(result.stderr, reason, describeRun(result));
}

function parseJson(result: RunResult): unknown {
  assertSucceeded(result);
  assert.match(result.stdout, /^[^\n]+\n$/, 'one JSON document on one line');
  return JSON.parse(result.stdout);
}

describe('bin/tessera on SQLite', () => {
  let dataDir: string;

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  const run = (args: string[], options: { env?: Record<string, string>; input?: string } = {}) => tessera(args, { dataDir, ...options });

  it('--help lists every command and exits 0', async () => {
    const result = await run(['--help']);
    assertSucceeded(result);
    assert.match(result.stdout, /^Usage: tessera <command>/);
    for (const command of ['serve', 'migrate', 'account create', 'user create', 'user list', 'outbox', 'app create', 'app list', 'app delete']) {
      assert.match(result.stdout, new RegExp(`^  ${command} `, 'm'), `--help mentions ${command}`);
    }
  });

  it("each command's --help shows its own usage and exits 0", async () => {
    const commands = [
      ['serve'],
      ['migrate'],
      ['account', 'create'],
      ['user', 'create'],
      ['user', 'list'],
      ['outbox'],
      ['app', 'create'],
      ['app', 'list'],
      ['app', 'delete'],
    ];
    const results = await Promise.all(commands.map((words) => run([...words, '--help'])));
    results.forEach((result, index) => {
      const words = commands[index]!;
      assertSucceeded(result);
      assert.match(result.stdout, new RegExp(`^Usage: tessera ${words.join(' ')}\\b`), `${words.join(' ')} --help: ${describeRun(result)}`);
    });
    assert.match(results[3]!.stdout, /--password-stdin/);
    assert.match(results[3]!.stdout, /admin\|agent\|end_user/);
  });

  it('no command prints the usage and exits non-zero', async () => {
    const result = await run([]);
    assert.notEqual(result.code, 0, describeRun(result));
    assert.match(result.stdout + result.stderr, /Usage: tessera <command>/);
  });

  it('migrate applies the migrations once; migrate --json then reports nothing to apply', async () => {
    const first = await run(['migrate']);
    assertSucceeded(first);
    assert.match(first.stdout, /^Applied: \S+/);
    assert.ok(existsSync(join(dataDir, 'tessera.db')), 'the SQLite database is in the data dir');
    assert.deepEqual(parseJson(await run(['migrate', '--json'])), { applied: [] });
  });

  it('account create --json prints the new account', async () => {
    const account = parseJson(await run(['account', 'create', '--slug', 'acme', '--name', 'Acme', '--json'])) as Record<string, unknown>;
    assert.equal(account.slug, 'acme');
    assert.equal(account.name, 'Acme');
    assert.equal(typeof account.id, 'string');
    assert.ok((account.id as string).length > 0);
  });

  it('account create without --json says what it created', async () => {
    const result = await run(['account', 'create', '--slug', 'globex', '--name', 'Globex Corp']);
    assertSucceeded(result);
    assert.match(result.stdout, /globex/);
    assert.match(result.stdout, /Globex Corp/);
  });

  it('refuses a duplicate slug (in any case) with one line on stderr', async () => {
    assertOneLineFailure(await run(['account', 'create', '--slug', 'acme', '--name', 'Another Acme']), /slug/i);
    assertOneLineFailure(await run(['account', 'create', '--slug', 'ACME', '--name', 'Another Acme']), /slug/i);
  });

  it('refuses an invalid slug with one line on stderr', async () => {
    assertOneLineFailure(await run(['account', 'create', '--slug', 'Not A Slug!', '--name', 'Acme']), /slug/i);
    assertOneLineFailure(await run(['account', 'create', '--slug', '-dash-', '--name', 'Acme']), /slug/i);
  });

  it('account create without --slug is a usage error (exit 2)', async () => {
    assertOneLineFailure(await run(['account', 'create', '--name', 'Acme']), /--slug/, 2);
  });

  it('user create --password-stdin creates a person with that password', async () => {
    const result = await run(['user', 'create', '--account', 'acme', '--email', 'a@acme.test', '--role', 'admin', '--name', 'Ann Admin', '--password-stdin'], {
      input: `${STRONG_PASSWORD}\n`,
    });
    assertSucceeded(result);
    assert.match(result.stdout, /a@acme\.test/);
    assert.doesNotMatch(result.stdout, /invitation/i, 'someone with a password is not invited');
  });

  it('refuses a weak password from stdin with one line, and creates no one', async () => {
    assertOneLineFailure(
      await run(['user', 'create', '--account', 'acme', '--email', 'weak@acme.test', '--role', 'agent', '--password-stdin'], { input: 'password\n' }),
      /password/i,
    );
  });

  it('refuses an unknown account', async () => {
    assertOneLineFailure(
      await run(['user', 'create', '--account', 'nope', '--email', 'a@nope.test', '--role', 'admin', '--password-stdin'], { input: `${STRONG_PASSWORD}\n` }),
      /account/i,
    );
  });

  it('refuses a duplicate email in another case', async () => {
    assertOneLineFailure(
      await run(['user', 'create', '--account', 'acme', '--email', 'A@ACME.Test', '--role', 'agent', '--password-stdin'], { input: `${STRONG_PASSWORD}\n` }),
      /email/i,
    );
  });

  it('refuses an unknown role with exit 2', async () => {
    assertOneLineFailure(await run(['user', 'create', '--account', 'acme', '--email', 'c@acme.test', '--role', 'boss']), /boss/, 2);
  });

  it('refuses an unknown option with exit 2', async () => {
    assertOneLineFailure(await run(['user', 'create', '--account', 'acme', '--email', 'c@acme.test', '--role', 'agent', '--colour', 'blue']), /--colour/, 2);
    assertOneLineFailure(await run(['outbox', '--verbose']), /--verbose/, 2);
  });

  it('refuses an unknown command with exit 2', async () => {
    assertOneLineFailure(await run(['frobnicate']), /frobnicate/, 2);
  });

  it('user create without --password-stdin invites the person by email', async () => {
    const created = parseJson(
      await run(['user', 'create', '--account', 'acme', '--email', 'Bob@Acme.test', '--role', 'agent', '--name', 'Bob Agent', '--json']),
    ) as Record<string, unknown>;
    assert.equal(created.email, 'bob@acme.test');
    assert.equal(created.role, 'agent');
    assert.equal(created.invited, true);

    const { messages } = parseJson(await run(['outbox', '--json'])) as { messages: { to: string; channel: string; subject: string; body: string }[] };
    assert.ok(Array.isArray(messages));
    const invitation = messages.filter((m) => m.to === 'bob@acme.test');
    assert.equal(invitation.length, 1, JSON.stringify(messages));
    assert.equal(invitation[0]!.channel, 'email');
    assert.match(invitation[0]!.subject, /invited/i);
    assert.match(invitation[0]!.body, /https?:\/\/\S+\/invitation\?token=[A-Za-z0-9_.%-]+/);
    assert.ok(!messages.some((m) => m.to === 'a@acme.test'), 'no invitation for the person created with a password');
    assert.ok(!messages.some((m) => m.to === 'weak@acme.test'), 'nothing for the refused person');
  });

  it('outbox without --json prints the messages', async () => {
    const result = await run(['outbox']);
    assertSucceeded(result);
    assert.match(result.stdout, /bob@acme\.test/);
    assert.match(result.stdout, /\/invitation\?token=/);
  });

  it('user list --json lists exactly the people created, with their roles', async () => {
    const { users } = parseJson(await run(['user', 'list', '--account', 'acme', '--json'])) as {
      users: { email: string; role: string; name: string; suspended: boolean }[];
    };
    assert.deepEqual(
      users.map((u) => ({ email: u.email, role: u.role, name: u.name, suspended: u.suspended })).sort((a, b) => a.email.localeCompare(b.email)),
      [
        { email: 'a@acme.test', role: 'admin', name: 'Ann Admin', suspended: false },
        { email: 'bob@acme.test', role: 'agent', name: 'Bob Agent', suspended: false },
      ],
    );
    assert.deepEqual(parseJson(await run(['user', 'list', '--account', 'globex', '--json'])), { users: [] });
  });

  it('user list of an unknown account fails with one line', async () => {
    assertOneLineFailure(await run(['user', 'list', '--account', 'nope']), /account/i);
  });

  it('app create registers a confidential app: its client id and secret printed once, only a SHA-256 of the secret stored', async () => {
    const created = parseJson(
      await run([
        'app',
        'create',
        '--account',
        'acme',
        '--name',
        'Grafana',
        '--redirect-uri',
        'https://grafana.acme.test/login/generic_oauth',
        '--redirect-uri',
        'http://localhost:3000/login/generic_oauth',
        '--json',
      ]),
    ) as Record<string, unknown>;
    assert.equal(created.type, 'confidential');
    assert.equal(created.client_id, created.id);
    assert.deepEqual(created.redirect_uris, ['https://grafana.acme.test/login/generic_oauth', 'http://localhost:3000/login/generic_oauth']);
    assert.deepEqual(created.allowed_roles, ['admin', 'agent']);
    assert.equal(created.first_party, false);
    const secret = created.client_secret as string;
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    const store = openStore(`sqlite:${join(dataDir, 'tessera.db')}`);
    try {
      const row = await store.db
        .selectFrom('apps')
        .selectAll()
        .where('id', '=', created.id as string)
        .executeTakeFirstOrThrow();
      assert.equal(row.secret_hash, createHash('sha256').update(secret).digest('hex'));
      const event = await store.db.selectFrom('audit_events').selectAll().where('type', '=', 'app_created').executeTakeFirstOrThrow();
      assert.equal(event.actor_user_id, null);
      assert.equal(JSON.parse(event.details!).by, 'cli');
    } finally {
      await store.close();
    }

    const text = await run([
      'app',
      'create',
      '--account',
      'acme',
      '--name',
      'Dashboard',
      '--redirect-uri',
      'https://dash.acme.test/cb',
      '--public',
      '--first-party',
    ]);
    assertSucceeded(text);
    assert.match(
      text.stdout,
      /^Created public app Dashboard\.\n  client_id: +[A-Za-z0-9_-]{22}\n  discovery: +http:\/\/\S+\/\.well-known\/openid-configuration\n$/,
    );
    assert.doesNotMatch(text.stdout, /client_secret/, 'a public app has no secret');
  });

  it('app list shows the apps of the account, never a secret', async () => {
    const { apps } = parseJson(await run(['app', 'list', '--account', 'acme', '--json'])) as { apps: Record<string, unknown>[] };
    assert.deepEqual(
      apps.map((a) => [a.name, a.type, a.first_party]),
      [
        ['Dashboard', 'public', true],
        ['Grafana', 'confidential', false],
      ],
    );
    assert.ok(apps.every((a) => !('client_secret' in a)));
    const text = await run(['app', 'list', '--account', 'acme']);
    assertSucceeded(text);
    assert.match(
      text.stdout,
      /^[A-Za-z0-9_-]{22}\tconfidential\tGrafana\thttps:\/\/grafana\.acme\.test\/login\/generic_oauth http:\/\/localhost:3000\/login\/generic_oauth$/m,
    );
    assert.deepEqual(parseJson(await run(['app', 'list', '--account', 'globex', '--json'])), { apps: [] });
    assertSucceeded(await run(['app', 'list', '--account', 'globex']));
  });

  it('app create refuses a bad redirect URI, a missing one, an unknown account, with one line and nothing created', async () => {
    assertOneLineFailure(await run(['app', 'create', '--account', 'acme', '--name', 'Bad', '--redirect-uri', 'http://evil.example/cb']), /must use https/);
    assertOneLineFailure(await run(['app', 'create', '--account', 'acme', '--name', 'Bad', '--redirect-uri', 'https://a.example/cb#x']), /fragment/);
    assertOneLineFailure(await run(['app', 'create', '--account', 'acme', '--name', 'Bad']), /--redirect-uri/, 2);
    assertOneLineFailure(await run(['app', 'create', '--account', 'nope', '--name', 'Bad', '--redirect-uri', 'https://a.example/cb']), /account/i);
    assertOneLineFailure(await run(['app', 'create', '--account', 'acme', '--name', 'Bad', '--redirect-uri', 'https://a.example/cb', '--proxy']), /--proxy/, 2);
    const { apps } = parseJson(await run(['app', 'list', '--account', 'acme', '--json'])) as { apps: { name: string }[] };
    assert.ok(!apps.some((a) => a.name === 'Bad'));
  });

  it('app delete removes the app of that account only', async () => {
    const { apps } = parseJson(await run(['app', 'list', '--account', 'acme', '--json'])) as { apps: { id: string; name: string }[] };
    const grafana = apps.find((a) => a.name === 'Grafana')!;
    assertOneLineFailure(await run(['app', 'delete', '--account', 'globex', '--id', grafana.id]), /no such app/i);
    assertOneLineFailure(await run(['app', 'delete', '--account', 'acme']), /--id/, 2);
    const removed = await run(['app', 'delete', '--account', 'acme', '--id', grafana.id]);
    assertSucceeded(removed);
    assert.match(removed.stdout, /Removed app Grafana/);
    const left = parseJson(await run(['app', 'list', '--account', 'acme', '--json'])) as { apps: { name: string }[] };
    assert.deepEqual(
      left.apps.map((a) => a.name),
      ['Dashboard'],
    );
    const dashboard = apps.find((a) => a.name === 'Dashboard')!;
    assert.deepEqual(parseJson(await run(['app', 'delete', '--account', 'acme', '--id', dashboard.id, '--json'])), { status: 'deleted', id: dashboard.id });
    assertOneLineFailure(await run(['app', 'delete', '--account', 'acme', '--id', dashboard.id]), /no such app/i);
  });

  it('a bad PORT is a one-line configuration error', async () => {
    assertOneLineFailure(await run(['migrate'], { env: { PORT: 'abc' } }), /PORT.*abc/);
  });

  it('a bad TESSERA_MODE is a one-line configuration error', async () => {
    assertOneLineFailure(await run(['user', 'list', '--account', 'acme'], { env: { TESSERA_MODE: 'staging' } }), /TESSERA_MODE.*staging/);
  });
});

async function createPostgresSchema(baseUrl: string): Promise<{ url: string; schema: string; drop: () => Promise<void> }> {
  const schema = `t_cli_${randomBytes(6).toString('hex')}`;
  const withClient = async <T>(action: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: baseUrl });
    await client.connect();
    try {
      return await action(client);
    } finally {
      await client.end();
    }
  };
  await withClient((client) => client.query(`create schema ${schema}`));
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    schema,
    drop: async () => {
      await withClient((client) => client.query(`drop schema if exists ${schema} cascade`));
    },
  };
}

describe('bin/tessera on PostgreSQL', { skip: skipReason(!POSTGRES_URL, 'PostgreSQL CLI suite skipped: TESSERA_TEST_DATABASE_URL is not set') }, () => {
  let dataDir: string;
  let database: Awaited<ReturnType<typeof createPostgresSchema>>;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-cli-pg-'));
    database = await createPostgresSchema(POSTGRES_URL!);
  });
  after(async () => {
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const run = (args: string[], input?: string) => tessera(args, { dataDir, env: { TESSERA_DATABASE_URL: database.url }, input });

  it('migrates, creates an account, a person and an app, and lists them, all in PostgreSQL', async () => {
    const migrated = parseJson(await run(['migrate', '--json'])) as { applied: string[] };
    assert.ok(Array.isArray(migrated.applied) && migrated.applied.length > 0, `migrations applied: ${JSON.stringify(migrated)}`);
    assert.deepEqual(parseJson(await run(['migrate', '--json'])), { applied: [] });

    const account = parseJson(await run(['account', 'create', '--slug', 'acme', '--name', 'Acme', '--json'])) as Record<string, unknown>;
    assert.equal(account.slug, 'acme');
    assertOneLineFailure(await run(['account', 'create', '--slug', 'acme', '--name', 'Acme again']), /slug/i);

    assertSucceeded(
      await run(['user', 'create', '--account', 'acme', '--email', 'a@acme.test', '--role', 'admin', '--password-stdin'], `${STRONG_PASSWORD}\n`),
    );
    const { users } = parseJson(await run(['user', 'list', '--account', 'acme', '--json'])) as { users: { email: string; role: string }[] };
    assert.deepEqual(
      users.map((u) => ({ email: u.email, role: u.role })),
      [{ email: 'a@acme.test', role: 'admin' }],
    );
    const app = parseJson(
      await run(['app', 'create', '--account', 'acme', '--name', 'Grafana', '--redirect-uri', 'https://grafana.acme.test/cb', '--json']),
    ) as {
      id: string;
      client_secret: string;
    };
    assert.match(app.client_secret, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(
      (parseJson(await run(['app', 'list', '--account', 'acme', '--json'])) as { apps: { id: string }[] }).apps.map((a) => a.id),
      [app.id],
    );
    assertSucceeded(await run(['app', 'delete', '--account', 'acme', '--id', app.id]));
    assert.deepEqual(parseJson(await run(['app', 'list', '--account', 'acme', '--json'])), { apps: [] });

    // It really is PostgreSQL, in our schema: not a SQLite file in the data dir.
    assert.ok(!existsSync(join(dataDir, 'tessera.db')), 'no SQLite database was created');
    const client = new pg.Client({ connectionString: POSTGRES_URL! });
    await client.connect();
    try {
      const rows = await client.query(`select slug from ${database.schema}.accounts`);
      assert.deepEqual(rows.rows, [{ slug: 'acme' }]);
    } finally {
      await client.end();
    }
  });

  it('migrates a fresh schema while another schema of the same database already holds a Tessera', async () => {
    // Two deployments (or two test runs) in one database, each in its own schema:
    // the first schema's migration tables must not fool the second's migration.
    const second = await createPostgresSchema(POSTGRES_URL!);
    try {
      const env = { TESSERA_DATABASE_URL: second.url };
      const migrated = parseJson(await tessera(['migrate', '--json'], { dataDir, env })) as { applied: string[] };
      assert.ok(migrated.applied.length > 0, `migrations applied: ${JSON.stringify(migrated)}`);
      const account = parseJson(await tessera(['account', 'create', '--slug', 'globex', '--name', 'Globex', '--json'], { dataDir, env })) as Record<
        string,
        unknown
      >;
      assert.equal(account.slug, 'globex');
      const { users } = parseJson(await tessera(['user', 'list', '--account', 'acme', '--json'], { dataDir, env: { TESSERA_DATABASE_URL: database.url } })) as {
        users: unknown[];
      };
      assert.equal(users.length, 1, 'the first schema is untouched');
    } finally {
      await second.drop();
    }
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

function waitFor<T>(what: string, milliseconds: number, check: (done: (value: T) => void) => () => void): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    let cleanup: () => void = () => {};
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${milliseconds} ms waiting for ${what}`));
    }, milliseconds);
    cleanup = check((value) => {
      clearTimeout(timer);
      cleanup();
      resolvePromise(value);
    });
  });
}

describe('bin/tessera serve (what npm start runs)', () => {
  let dataDir: string;
  let child: ChildProcess | null = null;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let stdout = '';
  let stderr = '';

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-serve-'));
  });
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints a one-time setup link on a fresh data dir, answers /healthz, keeps keys private and stops on SIGTERM', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const started = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env: childEnv(dataDir, { PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    exited = new Promise((resolvePromise) => started.on('exit', (code, signal) => resolvePromise({ code, signal })));
    started.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    started.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

    const link = await waitFor<string>(`the setup link (stdout so far: ${JSON.stringify(stdout)})`, 15_000, (done) => {
      const check = () => {
        const match = /^ +(\S+\/setup\?token=\S+)$/m.exec(stdout);
        if (match) done(match[1]!);
      };
      const onExit = () => done(`exited early: ${JSON.stringify({ stdout, stderr })}`);
      started.stdout!.on('data', check);
      started.on('exit', onExit);
      check();
      return () => {
        started.stdout!.off('data', check);
        started.off('exit', onExit);
      };
    });
    assert.match(link, new RegExp(`^http://localhost:${port}/setup\\?token=[A-Za-z0-9_.%-]+$`), `setup link: ${link}; stderr: ${stderr}`);
    assert.match(stdout, /one-time setup link/);

    const health = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });

    // The printed link really opens the setup form.
    const setupUrl = new URL(link);
    setupUrl.hostname = '127.0.0.1';
    const setup = await fetch(setupUrl, { signal: AbortSignal.timeout(10_000) });
    assert.equal(setup.status, 200);
    assert.match(await setup.text(), /Team name/);

    const keysFile = join(dataDir, 'keys.json');
    assert.ok(existsSync(keysFile), 'keys.json in the data dir');
    assert.equal(statSync(keysFile).mode & 0o777, 0o600, `keys.json mode ${(statSync(keysFile).mode & 0o777).toString(8)}`);
    assert.ok(existsSync(join(dataDir, 'tessera.db')), 'the SQLite database in the data dir');

    started.kill('SIGTERM');
    const result = await Promise.race([
      exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('serve did not exit within 10 s of SIGTERM')), 10_000).unref()),
    ]);
    assert.deepEqual(result, { code: 0, signal: null }, `stderr: ${stderr}`);
  });
});
