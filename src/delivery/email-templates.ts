import type { FactorType } from '../domain/factors.js';
import type { Role } from '../domain/types.js';
import { browserLabel } from '../i18n/browser-label.js';
import type { Translator } from '../i18n/translator.js';

// Every email Tessera sends, in one place so a rebrand is one product name away.
// Each mail names the account, the time, the browser and the address, and says what
// to do if it was not you. None holds a recovery code, a seed or a passcode, except
// the email-confirmation code that is its whole purpose.
export interface MailContext {
  /** The recipient's language and time zone. */
  t: Translator;
  productName: string;
  accountName: string;
  /** What the sign-in page asks for as "Account". */
  accountSlug: string;
  baseUrl: string;
  /** ms since the epoch */
  at: number;
  browser: string | null;
  ip: string | null;
}

export interface Mail {
  subject: string;
  text: string;
  html: string;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function when(context: MailContext): string {
  return context.t.moment(context.at);
}

/** A line of the HTML part: escaped, with links to our own pages made clickable. */
function htmlLine(line: string, baseUrl: string): string {
  const escaped = escapeHtml(line);
  const base = escapeHtml(baseUrl);
  return escaped.replace(/https?:\/\/[^\s<]+?(?=[.,;:!?)]*(?:\s|$))/g, (url) => (url.startsWith(`${base}/`) ? `<a href="${url}">${url}</a>` : url));
}

interface MailParts {
  subject: string;
  lines: string[];
  link?: { label: string; url: string };
  /** Says what to do if it was not them; false for mails the person asked for. */
  notYou?: string | false;
}

function compose(context: MailContext, parts: MailParts): Mail {
  const { t } = context;
  const details = [
    t.t('mail.details.account', { account: context.accountName, slug: context.accountSlug }),
    t.t('mail.details.signIn', { url: `${context.baseUrl}/sign-in?account=${encodeURIComponent(context.accountSlug)}` }),
    t.t('mail.details.when', { when: when(context) }),
    t.t('mail.details.browser', { browser: context.browser === null ? t.t('mail.details.unknown') : browserLabel(t, context.browser) }),
    t.t('mail.details.ip', { ip: context.ip ?? t.t('mail.details.unknown') }),
  ];
  const notYou = parts.notYou === false ? null : (parts.notYou ?? t.t('mail.notYou', { url: securityUrl(context) }));
  const text = [
    ...parts.lines,
    ...(parts.link ? ['', `${parts.link.label}: ${parts.link.url}`] : []),
    '',
    ...details,
    ...(notYou ? ['', notYou] : []),
    '',
    `— ${context.productName}`,
  ].join('\n');
  // English mail keeps its plain <html>; other languages say theirs, and Arabic reads right to left.
  const htmlTag = t.language === 'en' ? '<html>' : `<html lang="${t.language}" dir="${t.direction}">`;
  const html = [
    `<!doctype html>${htmlTag}<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1a1a2e">`,
    ...parts.lines.map((line) => `<p>${htmlLine(line, context.baseUrl)}</p>`),
    parts.link ? `<p><a href="${escapeHtml(parts.link.url)}">${escapeHtml(parts.link.label)}</a></p>` : '',
    `<p style="color:#555;font-size:14px">${details.map(escapeHtml).join('<br>')}</p>`,
    notYou ? `<p>${htmlLine(notYou, context.baseUrl)}</p>` : '',
    `<p style="color:#555">— ${escapeHtml(context.productName)}</p>`,
    '</body></html>',
  ].join('');
  return { subject: `${parts.subject} — ${context.productName} (${context.accountName})`, text, html };
}

/** Security settings, where most mails send the person. */
function securityUrl(context: MailContext): string {
  return `${context.baseUrl}/profile/security`;
}

export const mails = {
  invitation(context: MailContext, input: { inviterName: string; link: string }): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.invitation.subject'),
      lines: [
        t.t('mail.invitation.line1', { inviter: input.inviterName, account: context.accountName, product: context.productName }),
        t.t('mail.invitation.line2'),
      ],
      link: { label: t.t('mail.invitation.link'), url: input.link },
      notYou: t.t('mail.invitation.notYou'),
    });
  },
  passwordReset(context: MailContext, input: { link: string }): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.passwordReset.subject'),
      lines: [t.t('mail.passwordReset.line1'), t.t('mail.passwordReset.line2')],
      link: { label: t.t('mail.passwordReset.link'), url: input.link },
      notYou: t.t('mail.passwordReset.notYou'),
    });
  },
  passwordChanged(context: MailContext): Mail {
    const { t } = context;
    return compose(context, { subject: t.t('mail.passwordChanged.subject'), lines: [t.t('mail.passwordChanged.line')] });
  },
  signInLocked(context: MailContext): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.signInLocked.subject'),
      lines: [t.t('mail.signInLocked.line')],
      notYou: t.t('mail.signInLocked.notYou', { url: securityUrl(context) }),
    });
  },
  passcodeLocked(context: MailContext): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.passcodeLocked.subject'),
      lines: [t.t('mail.passcodeLocked.line1'), t.t('mail.passcodeLocked.line2')],
      notYou: t.t('mail.passcodeLocked.notYou', { url: securityUrl(context) }),
    });
  },
  twoFactorEnabled(context: MailContext, input: { method: FactorType }): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.twoFactorEnabled.subject'),
      lines: [t.t('mail.twoFactorEnabled.line1', { method: input.method }), t.t('mail.twoFactorEnabled.line2', { url: securityUrl(context) })],
    });
  },
  securityKeyAdded(context: MailContext, input: { name: string }): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.securityKeyAdded.subject'),
      lines: [t.t('mail.securityKeyAdded.line', { name: input.name, url: securityUrl(context) })],
    });
  },
  securityKeyRemoved(context: MailContext, input: { name: string }): Mail {
    const { t } = context;
    return compose(context, { subject: t.t('mail.securityKeyRemoved.subject'), lines: [t.t('mail.securityKeyRemoved.line', { name: input.name })] });
  },
  securityKeyCloned(context: MailContext, input: { name: string }): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.securityKeyCloned.subject'),
      lines: [t.t('mail.securityKeyCloned.line1', { name: input.name }), t.t('mail.securityKeyCloned.line2', { url: securityUrl(context) })],
    });
  },
  twoFactorDisabled(context: MailContext): Mail {
    const { t } = context;
    return compose(context, { subject: t.t('mail.twoFactorDisabled.subject'), lines: [t.t('mail.twoFactorDisabled.line')] });
  },
  recoveryCodeUsed(context: MailContext, input: { left: number }): Mail {
    const { t } = context;
    const { left } = input;
    // A warning at 3 or fewer (DESIGN.md row 11), before the last one is gone.
    const warning =
      left === 0
        ? [t.t('mail.recoveryCodeUsed.none', { url: securityUrl(context) })]
        : left <= 3
          ? [t.t('mail.recoveryCodeUsed.few', { left, url: securityUrl(context) })]
          : [];
    return compose(context, {
      subject: left <= 3 ? t.t('mail.recoveryCodeUsed.subjectFew', { left }) : t.t('mail.recoveryCodeUsed.subject'),
      lines: [t.t('mail.recoveryCodeUsed.line', { left }), ...warning],
    });
  },
  recoveryCodesRegenerated(context: MailContext): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.recoveryCodesRegenerated.subject'),
      lines: [t.t('mail.recoveryCodesRegenerated.line1'), t.t('mail.recoveryCodesRegenerated.line2', { url: securityUrl(context) })],
    });
  },
  twoFactorResetByAdmin(context: MailContext, input: { adminName: string }): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.twoFactorResetByAdmin.subject'),
      lines: [t.t('mail.twoFactorResetByAdmin.line1', { admin: input.adminName, account: context.accountName }), t.t('mail.twoFactorResetByAdmin.line2')],
      notYou: t.t('mail.twoFactorResetByAdmin.notYou', { url: securityUrl(context) }),
    });
  },
  roleChanged(context: MailContext, input: { adminName: string; role: Role }): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.roleChanged.subject'),
      lines: [t.t('mail.roleChanged.line', { admin: input.adminName, account: context.accountName, role: input.role })],
      notYou: t.t('mail.notExpected'),
    });
  },
  accessSuspended(context: MailContext, input: { adminName: string }): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.accessSuspended.subject'),
      lines: [t.t('mail.accessSuspended.line', { admin: input.adminName, account: context.accountName })],
      notYou: t.t('mail.accessSuspended.notYou'),
    });
  },
  accessRestored(context: MailContext, input: { adminName: string }): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.accessRestored.subject'),
      lines: [t.t('mail.accessRestored.line', { admin: input.adminName, account: context.accountName })],
      notYou: t.t('mail.notExpected'),
    });
  },
  signInUnlockedByAdmin(context: MailContext, input: { adminName: string }): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.signInUnlockedByAdmin.subject'),
      lines: [t.t('mail.signInUnlockedByAdmin.line', { admin: input.adminName, account: context.accountName })],
      notYou: t.t('mail.signInUnlockedByAdmin.notYou', { url: securityUrl(context) }),
    });
  },
  webhookPaused(context: MailContext, input: { address: string; lastError: string | null }): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.webhookPaused.subject'),
      lines: [
        t.t('mail.webhookPaused.line1', { account: context.accountName, url: input.address }),
        ...(input.lastError ? [t.t('mail.webhookPaused.lastError', { error: input.lastError })] : []),
        t.t('mail.webhookPaused.line2', { url: `${context.baseUrl}/admin/automation` }),
      ],
      notYou: false,
    });
  },
  recoveryCodeIssuedByAdmin(context: MailContext, input: { adminName: string; expiresAt: number }): Mail {
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.recoveryCodeIssuedByAdmin.subject'),
      lines: [
        t.t('mail.recoveryCodeIssuedByAdmin.line1', { admin: input.adminName, account: context.accountName, until: t.moment(input.expiresAt) }),
        t.t('mail.recoveryCodeIssuedByAdmin.line2'),
      ],
      notYou: t.t('mail.recoveryCodeIssuedByAdmin.notYou'),
    });
  },
  emailConfirmationCode(context: MailContext, input: { code: string; expiresInMinutes: number }): Mail {
    // The one mail that carries a passcode: proving the mailbox is its whole purpose.
    const { t } = context;
    return compose(context, {
      subject: t.t('mail.emailConfirmationCode.subject'),
      lines: [t.t('mail.emailConfirmationCode.line1', { code: input.code }), t.t('mail.emailConfirmationCode.line2', { minutes: input.expiresInMinutes })],
      notYou: t.t('mail.emailConfirmationCode.notYou', { url: securityUrl(context) }),
    });
  },
  emailedCode(context: MailContext, input: { code: string; expiresInMinutes: number; use: 'sign_in' | 'confirmation' | 'enrolment' }): Mail {
    // Emailed codes as a second factor (DESIGN.md row 19): the code is the mail's purpose.
    const { t } = context;
    const what =
      input.use === 'sign_in' ? 'mail.emailedCode.signIn' : input.use === 'enrolment' ? 'mail.emailedCode.enrolment' : 'mail.emailedCode.confirmation';
    return compose(context, {
      subject: input.use === 'sign_in' ? t.t('mail.emailedCode.subjectSignIn') : t.t('mail.emailedCode.subject'),
      lines: [t.t('mail.emailedCode.line1', { code: input.code }), t.t(what, { minutes: input.expiresInMinutes })],
      notYou: t.t('mail.emailedCode.notYou', { url: securityUrl(context) }),
    });
  },
  newComputer(context: MailContext, input: { trusted?: boolean } = {}): Mail {
    const { t } = context;
    return compose(context, {
      subject: input.trusted ? t.t('mail.newComputer.subjectTrusted') : t.t('mail.newComputer.subject'),
      lines: [t.t('mail.newComputer.line'), ...(input.trusted ? [t.t('mail.newComputer.trusted')] : [])],
    });
  },
  computerTrusted(context: MailContext): Mail {
    const { t } = context;
    return compose(context, { subject: t.t('mail.computerTrusted.subject'), lines: [t.t('mail.computerTrusted.line')] });
  },
};
