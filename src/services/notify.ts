// Writes a notification email into the outbox, inside the caller's transaction, so the
// mail exists exactly when the action does.
import type { Kysely } from 'kysely';
import { describeBrowser } from '../domain/browser-name.js';
import type { Mail, MailContext } from '../delivery/email-templates.js';
import { translatorForPerson } from '../i18n/translator.js';
import { enqueueMessage } from '../store/outbox.js';
import type { Account, Database, User } from '../store/schema.js';
import type { RequestContext, ServiceDeps } from './deps.js';

/** The recipient's language and time zone (DESIGN.md row 21): theirs, else their
 * account's default, else English, in UTC unless they chose a zone. */
export function mailContext(
  deps: ServiceDeps,
  account: Pick<Account, 'name' | 'slug' | 'default_language'>,
  recipient: Pick<User, 'language' | 'time_zone'>,
  context: RequestContext,
): MailContext {
  return {
    t: translatorForPerson(recipient, account),
    productName: deps.config.productName,
    accountName: account.name,
    accountSlug: account.slug,
    baseUrl: deps.config.baseUrl,
    at: deps.now(),
    browser: context.userAgent ? describeBrowser(context.userAgent) : null,
    ip: context.ip,
  };
}

export async function emailUser(
  db: Kysely<Database>,
  deps: ServiceDeps,
  input: {
    account: Account;
    user: Pick<User, 'id' | 'email' | 'language' | 'time_zone'>;
    purpose: string;
    context: RequestContext;
    compose: (context: MailContext) => Mail;
  },
): Promise<string> {
  const mail = input.compose(mailContext(deps, input.account, input.user, input.context));
  return enqueueMessage(
    db,
    deps.keys,
    {
      accountId: input.account.id,
      userId: input.user.id,
      channel: 'email',
      purpose: input.purpose,
      payload: { to: input.user.email, subject: mail.subject, text: mail.text, html: mail.html },
    },
    deps.now(),
  );
}
