// `bin/tessera`: the operator's command line. Every command has --help, exits non-zero
// with a one-line reason on bad input, and offers --json where a script reads it.
import { ConfigError, loadConfig } from '../config.js';
import { KeyError } from '../crypto/keys.js';
import { CommandFailure, UsageError, parseArgs } from './args.js';

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
                              (--signing: rotate the OpenID Connect signing keys)
  app create                  Register an app that signs people in through Tessera
  app list                    List the apps of an account
  app delete                  Remove an app (its tokens stop working)

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
    'Usage: tessera keys rotate [--prune] [--json]\n       tessera keys rotate --signing [--json]\n\n--signing: adds a new OpenID Connect signing key per algorithm (ES256, RS256). It is published at once and signs from 10 minutes later, when every instance has reloaded its keys; the keys it replaces stay published a day longer, so tokens in flight still verify.\n\nWith the key file (development): adds a new key and re-encrypts every stored secret under it. Once every instance has restarted, run it with --prune to re-encrypt anything written meanwhile and drop the old keys.\nWith TESSERA_ENCRYPTION_KEYS: put the new key first in the list, run this to re-encrypt under it, then remove the old keys from the list.',
  'app create':
    'Usage: tessera app create --account SLUG --name NAME --redirect-uri URI [--redirect-uri URI …] [--public] [--first-party] [--reason TEXT] [--json]\n\nRegisters an OpenID Connect app of the account (up to 10 redirect URIs: https://, or http:// for 127.0.0.1, localhost or [::1]). A confidential app (the default) gets a client secret, printed once: only its SHA-256 is kept. --public: a single-page or mobile app, with PKCE and no secret. --first-party: people are not asked to consent. Admins and agents may use it; change that, and the rest, on the Apps page or with PATCH /api/v1/admin/apps/:id.',
  'app list': 'Usage: tessera app list --account SLUG [--json]\n\nLists the apps of an account: client id, type, name, redirect URIs (or host).',
  'app delete':
    'Usage: tessera app delete --account SLUG --id CLIENT_ID [--reason TEXT] [--json]\n\nRemoves the app, and every grant, code and token it holds.',
  outbox: 'Usage: tessera outbox [--json]\n\nShows the messages (emails and texts) in the outbox, newest first.',
};

const FLAGS = new Set(['json', 'help', 'password-stdin', 'prune', 'signing', 'public', 'first-party']);

async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  const [first = '', second = ''] = args.words;
  const command = ['account', 'user', 'keys', 'app'].includes(first) ? `${first} ${second}`.trim() : first;
  if (args.options.has('help') || command === '' || command === 'help') {
    process.stdout.write(`${HELP[command] ?? HELP['']!}\n`);
    return command === '' && !args.options.has('help') ? 2 : 0;
  }
  const config = loadConfig();
  const { runCommand } = await import('./commands.js');
  return runCommand(command, args, config, argv);
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
