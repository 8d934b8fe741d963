// `bin/tessera`: the operator's command line. Every command has --help, exits non-zero
// with a one-line reason on bad input, and offers --json where a script reads it.
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { KeyError, addKeyToFile, loadKeyRing, pruneKeyFile } from '../crypto/keys.js';
import { reencryptAll } from '../services/key-rotation.js';
import { messageFor } from '../http/errors.js';
import type { Failure } from '../domain/failures.js';
import { createRuntime, type Runtime } from '../runtime.js';
import { createAccount } from '../services/accounts.js';
import { NO_REQUEST_CONTEXT } from '../services/deps.js';
import { createUser, listUsers } from '../services/users.js';
import { issueRecoveryCodeFor, operatorHelper, resetTwoFactorFor } from '../services/admin-help.js';
import { readOutbox } from '../http/ops-routes.js';
import { migrateToLatest, openStore } from '../store/database.js';
import { UsageError, checkKnownOptions, optionalOption, parseArgs, requireOption, type ParsedArgs } from './args.js';
import { serve } from './serve.js';

const HELP: Record<string, string> = {
  '': `Usage: tessera <command> [options]

Commands:
  serve                       Start the server (migrates the database first)
  migrate                     Bring the database schema up to date
  account create              Create an account
  user create                 Create a person in an account
  user list                   List the people of an account
  user reset-two-factor       Reset someone's 2FA (they enrol again at next sign-in)
  user issue-recovery-code    Make a one-time recovery code for a locked-out person
  outbox                      Show messages in the outbox (newest first)
  keys rotate                 Add an encryption key and re-encrypt every secret

Run "tessera <command> --help" for a command's options.`,
  serve: 'Usage: tessera serve\n\nStarts Tessera on PORT (3000) with the configuration from the environment (see README).',
  migrate: 'Usage: tessera migrate\n\nApplies pending database migrations. Safe to run from several instances at once.',
  'account create': 'Usage: tessera account create --slug SLUG --name NAME [--json]',
  'user create':
    'Usage: tessera user create --account SLUG --email EMAIL --role admin|agent|end_user [--name NAME] [--password-stdin] [--json]\n\nWithout --password-stdin the person is emailed an invitation (72 hours).',
  'user list': 'Usage: tessera user list --account SLUG [--json]',
  'user reset-two-factor':
    'Usage: tessera user reset-two-factor --account SLUG --email EMAIL --reason TEXT [--json]\n\nFor the operator when the only admin is locked out: removes their factors, recovery codes and trusted computers and ends their sessions; they enrol again at next sign-in. They are emailed.',
  'user issue-recovery-code':
    'Usage: tessera user issue-recovery-code --account SLUG --email EMAIL --reason TEXT [--json]\n\nPrints a one-time recovery code (valid 1 hour). Signing in with it makes them set up 2FA again. They are emailed.',
  'keys rotate':
    'Usage: tessera keys rotate [--prune] [--json]\n\nWith the key file (development): adds a new key and re-encrypts every stored secret under it. Once every instance has restarted, run it with --prune to re-encrypt anything written meanwhile and drop the old keys.\nWith TESSERA_ENCRYPTION_KEYS: put the new key first in the list, run this to re-encrypt under it, then remove the old keys from the list.',
  outbox: 'Usage: tessera outbox [--json]\n\nShows the messages (emails and texts) in the outbox, newest first.',
};

const FLAGS = new Set(['json', 'help', 'password-stdin', 'prune']);

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

class CommandFailure extends Error {}

function failWith(failure: Failure): never {
  throw new CommandFailure(messageFor(failure).replace(/\.$/, ''));
}

async function withRuntime<T>(config: Config, action: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await createRuntime(config);
  try {
    return await action(runtime);
  } finally {
    await runtime.close();
  }
}

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  } catch {
    throw new UsageError('--password-stdin needs the password on standard input');
  }
}

async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  const [first = '', second = ''] = args.words;
  const command = ['account', 'user', 'keys'].includes(first) ? `${first} ${second}`.trim() : first;
  if (args.options.has('help') || command === '' || command === 'help') {
    print(HELP[command] ?? HELP['']!);
    return command === '' && !args.options.has('help') ? 2 : 0;
  }
  const json = args.options.has('json');
  const config = loadConfig();
  switch (command) {
    case 'serve':
      checkKnownOptions(args, []);
      await serve(config);
      return 0;
    case 'migrate': {
      checkKnownOptions(args, ['json']);
      const store = openStore(config.databaseUrl);
      try {
        const applied = await migrateToLatest(store.db, store.dialect);
        print(json ? JSON.stringify({ applied }) : applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'account create': {
      checkKnownOptions(args, ['slug', 'name', 'json']);
      const slug = requireOption(args, 'slug');
      const name = requireOption(args, 'name');
      return withRuntime(config, async ({ deps }) => {
        const result = await createAccount(deps, { slug, name }, NO_REQUEST_CONTEXT);
        if (!result.ok) failWith(result.failure);
        print(json ? JSON.stringify({ id: result.value.id, slug: result.value.slug, name: result.value.name }) : `Created account ${result.value.slug} (${result.value.name}).`);
        return 0;
      });
    }
    case 'user create': {
      checkKnownOptions(args, ['account', 'email', 'role', 'name', 'password-stdin', 'json']);
      const input = {
        account: requireOption(args, 'account'),
        email: requireOption(args, 'email'),
        role: requireOption(args, 'role'),
        name: optionalOption(args, 'name') ?? undefined,
        password: args.options.has('password-stdin') ? readStdin() : null,
      };
      if (!['admin', 'agent', 'end_user'].includes(input.role)) throw new UsageError(`--role must be admin, agent or end_user, not "${input.role}"`);
      return withRuntime(config, async ({ deps }) => {
        const result = await createUser(deps, input, NO_REQUEST_CONTEXT);
        if (!result.ok) failWith(result.failure);
        const { user, invited } = result.value;
        print(
          json
            ? JSON.stringify({ id: user.id, email: user.email, name: user.name, role: user.role, invited })
            : `Created ${user.role} ${user.email}${invited ? ' and emailed an invitation' : ''}.`,
        );
        return 0;
      });
    }
    case 'user list': {
      checkKnownOptions(args, ['account', 'json']);
      const slug = requireOption(args, 'account');
      return withRuntime(config, async ({ deps }) => {
        const result = await listUsers(deps, slug);
        if (!result.ok) failWith(result.failure);
        const rows = result.value.users.map((u) => ({
          id: u.id,
          email: u.email,
          name: u.name,
          role: u.role,
          suspended: u.suspended_at !== null,
          two_factor_enabled: u.two_factor_enabled === 1,
        }));
        if (json) print(JSON.stringify({ users: rows }));
        else if (rows.length === 0) print('No one yet.');
        else for (const row of rows) print(`${row.email}\t${row.role}\t${row.name}${row.suspended ? '\tsuspended' : ''}\t2FA ${row.two_factor_enabled ? 'on' : 'off'}`);
        return 0;
      });
    }
    case 'user reset-two-factor':
    case 'user issue-recovery-code': {
      checkKnownOptions(args, ['account', 'email', 'reason', 'json']);
      const accountSlug = requireOption(args, 'account');
      const email = requireOption(args, 'email');
      const reason = requireOption(args, 'reason');
      return withRuntime(config, async ({ deps }) => {
        const found = await operatorHelper(deps, accountSlug, email);
        if (!found.ok) failWith(found.failure);
        const context = { ip: null, userAgent: 'bin/tessera' };
        if (command === 'user reset-two-factor') {
          const result = await resetTwoFactorFor(deps, found.value.helper, { userId: found.value.userId, reason, context });
          if (!result.ok) failWith(result.failure);
          print(json ? JSON.stringify({ status: 'reset' }) : `Reset two-factor authentication for ${email}; they set it up again at their next sign-in.`);
        } else {
          const result = await issueRecoveryCodeFor(deps, found.value.helper, { userId: found.value.userId, reason, context });
          if (!result.ok) failWith(result.failure);
          const expiresAt = new Date(result.value.expiresAt).toISOString();
          print(json ? JSON.stringify({ code: result.value.code, expires_at: expiresAt }) : `One-time recovery code for ${email} (valid until ${expiresAt}):\n\n  ${result.value.code}\n`);
        }
        return 0;
      });
    }
    case 'outbox': {
      checkKnownOptions(args, ['json']);
      return withRuntime(config, async ({ deps }) => {
        const messages = await readOutbox(deps);
        if (json) print(JSON.stringify({ messages: messages.map(({ html: _html, ...rest }) => rest) }));
        else if (messages.length === 0) print('The outbox is empty.');
        else for (const m of messages) print(`--- ${m.created_at} ${m.channel} to ${m.to}${m.channel === 'email' ? `: ${m.subject}` : ''}\n${m.body}\n`);
        return 0;
      });
    }
    case 'keys rotate': {
      checkKnownOptions(args, ['json', 'prune']);
      const store = openStore(config.databaseUrl);
      try {
        await migrateToLatest(store.db, store.dialect);
        const fromFile = config.encryptionKeys === null;
        const prune = args.options.has('prune');
        let ring = loadKeyRing(config); // creates the key file on first use
        if (fromFile && !prune) ring = addKeyToFile(config.dataDir);
        const report = await reencryptAll(store.db, ring);
        // Old keys stay until --prune: instances started before the rotation still
        // encrypt under them until they restart.
        if (fromFile && prune) pruneKeyFile(config.dataDir);
        print(
          json
            ? JSON.stringify({ active_key: ring.active.id, reencrypted: report.reencrypted, already_current: report.alreadyCurrent })
            : `Active key ${ring.active.id}: re-encrypted ${report.reencrypted} secret${report.reencrypted === 1 ? '' : 's'} (${report.alreadyCurrent} already current).`,
        );
      } finally {
        await store.close();
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${argv.join(' ')}"; run "tessera --help"`);
  }
}

function describe(error: unknown): string {
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof KeyError || error instanceof CommandFailure) return error.message;
  const code = (error as { code?: string })?.code;
  if (code === 'ECONNREFUSED') return `cannot reach the database (${(error as Error).message})`;
  return error instanceof Error ? error.message : String(error);
}

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`tessera: ${describe(error)}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
