// The commands themselves, loaded only when one runs: --help and usage errors answer
// without loading the server, the database drivers or the crypto.
import { readFileSync } from 'node:fs';
import type { Config } from '../config.js';
import { addKeyToFile, pruneKeyFile } from '../crypto/keys.js';
import { PUBLISH_AHEAD_IN_MILLISECONDS, ensureSigningKeys, rotateSigningKeys } from '../services/signing-keys.js';
import type { Failure } from '../domain/failures.js';
import { messageFor } from '../http/errors.js';
import { readOutbox } from '../services/dev-outbox.js';
import { createRuntime, openKeyRing, type Runtime } from '../runtime.js';
import { createAccount } from '../services/accounts.js';
import { issueRecoveryCodeFor, operatorHelper, resetTwoFactorFor } from '../services/admin-help.js';
import { NO_REQUEST_CONTEXT } from '../services/deps.js';
import { reencryptAll } from '../services/key-rotation.js';
import { createUser, listUsers } from '../services/users.js';
import { createApp, deleteApp, listApps, operatorAppManager } from '../services/apps.js';
import { appBody } from '../http/api/app-routes.js';
import { migrateToLatest, openStore } from '../store/database.js';
import { CommandFailure, UsageError, checkKnownOptions, optionValues, optionalOption, requireOption, type ParsedArgs } from './args.js';
import { serve } from './serve.js';

/** Who acts, for the audit log, when the operator runs a command. */
const OPERATOR_CONTEXT = { ip: null, userAgent: 'bin/tessera' };

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

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

export async function runCommand(command: string, args: ParsedArgs, config: Config, argv: string[]): Promise<number> {
  const json = args.options.has('json');
  switch (command) {
    case 'serve':
      checkKnownOptions(args, []);
      await serve(config);
      return 0;
    case 'migrate': {
      checkKnownOptions(args, ['json']);
      const store = openStore(config.databaseUrl, { preparedStatements: config.databasePreparedStatements });
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
        print(
          json
            ? JSON.stringify({ id: result.value.id, slug: result.value.slug, name: result.value.name })
            : `Created account ${result.value.slug} (${result.value.name}).`,
        );
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
        else
          for (const row of rows)
            print(`${row.email}\t${row.role}\t${row.name}${row.suspended ? '\tsuspended' : ''}\t2FA ${row.two_factor_enabled ? 'on' : 'off'}`);
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
          print(
            json
              ? JSON.stringify({ code: result.value.code, expires_at: expiresAt })
              : `One-time recovery code for ${email} (valid until ${expiresAt}):\n\n  ${result.value.code}\n`,
          );
        }
        return 0;
      });
    }
    case 'app create': {
      checkKnownOptions(args, ['account', 'name', 'redirect-uri', 'public', 'first-party', 'reason', 'json']);
      const slug = requireOption(args, 'account');
      const name = requireOption(args, 'name');
      const redirectUris = optionValues(args, 'redirect-uri');
      if (redirectUris.length === 0) throw new UsageError('--redirect-uri is required (give it once for each URI)');
      return withRuntime(config, async ({ deps }) => {
        const manager = await operatorAppManager(deps, slug);
        if (!manager.ok) failWith(manager.failure);
        const result = await createApp(
          deps,
          manager.value,
          {
            name,
            type: args.options.has('public') ? 'public' : 'confidential',
            redirect_uris: redirectUris,
            first_party: args.options.has('first-party'),
            reason: optionalOption(args, 'reason') ?? 'Added with bin/tessera',
          },
          OPERATOR_CONTEXT,
        );
        if (!result.ok) failWith(result.failure);
        const { app, clientSecret } = result.value;
        if (json) print(JSON.stringify({ ...appBody(app), ...(clientSecret !== null ? { client_secret: clientSecret } : {}) }));
        else {
          print(`Created ${app.type} app ${app.name}.`);
          print(`  client_id:     ${app.id}`);
          if (clientSecret !== null) print(`  client_secret: ${clientSecret}   (shown once: only its SHA-256 is kept)`);
          print(`  discovery:     ${config.baseUrl}/.well-known/openid-configuration`);
        }
        return 0;
      });
    }
    case 'app list': {
      checkKnownOptions(args, ['account', 'json']);
      const slug = requireOption(args, 'account');
      return withRuntime(config, async ({ deps }) => {
        const manager = await operatorAppManager(deps, slug);
        if (!manager.ok) failWith(manager.failure);
        const apps = await listApps(deps, manager.value);
        if (json) print(JSON.stringify({ apps: apps.map(appBody) }));
        else if (apps.length === 0) print('No apps yet.');
        else for (const app of apps) print(`${app.id}\t${app.type}\t${app.name}\t${app.type === 'proxy' ? (app.host ?? '') : app.redirectUris.join(' ')}`);
        return 0;
      });
    }
    case 'app delete': {
      checkKnownOptions(args, ['account', 'id', 'reason', 'json']);
      const slug = requireOption(args, 'account');
      const id = requireOption(args, 'id');
      return withRuntime(config, async ({ deps }) => {
        const manager = await operatorAppManager(deps, slug);
        if (!manager.ok) failWith(manager.failure);
        const result = await deleteApp(deps, manager.value, id, { reason: optionalOption(args, 'reason') ?? 'Removed with bin/tessera' }, OPERATOR_CONTEXT);
        if (!result.ok) failWith(result.failure);
        print(
          json
            ? JSON.stringify({ status: 'deleted', id: result.value.id })
            : `Removed app ${result.value.name} (${result.value.id}); its tokens no longer work.`,
        );
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
      checkKnownOptions(args, ['json', 'prune', 'signing']);
      const store = openStore(config.databaseUrl, { preparedStatements: config.databasePreparedStatements });
      try {
        await migrateToLatest(store.db, store.dialect);
        if (args.options.has('signing')) {
          // The OpenID Connect signing keys: a new key per algorithm, published now,
          // signing once every instance has it; the old ones stay published a day.
          const ring = await openKeyRing(config, store);
          const now = Date.now();
          await ensureSigningKeys(store.db, store.dialect, ring, now);
          const rotated = await rotateSigningKeys(store.db, ring, now);
          const signsAt = new Date(now + PUBLISH_AHEAD_IN_MILLISECONDS).toISOString();
          print(
            json
              ? JSON.stringify({ added: rotated.added, retiring: rotated.retiring, signs_from: signsAt })
              : `Added ${rotated.added} signing keys, published now; they sign from ${signsAt}. The ${rotated.retiring} keys they replace stay published for a day after that.`,
          );
          return 0;
        }
        const fromFile = config.encryptionKeys === null;
        const prune = args.options.has('prune');
        let ring = await openKeyRing(config, store); // creates the key file on first use only
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
