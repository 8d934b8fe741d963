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

function recoveryCodes(count: number): string {
  return count === 1 ? '1 recovery code' : `${count} recovery codes`;
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
  const details = [
    `Account: ${context.accountName} (short name: ${context.accountSlug})`,
    `Sign in: ${context.baseUrl}/sign-in?account=${encodeURIComponent(context.accountSlug)}`,
    `When: ${when(context)}`,
    `Browser: ${context.browser ?? 'unknown'}`,
    `IP address: ${context.ip ?? 'unknown'}`,
  ];
  const notYou =
    parts.notYou === false
      ? null
      : (parts.notYou ?? `If this was not you, change your password now at ${context.baseUrl}/profile/security and tell your account admin.`);
  const text = [
    ...parts.lines,
    ...(parts.link ? ['', `${parts.link.label}: ${parts.link.url}`] : []),
    '',
    ...details,
    ...(notYou ? ['', notYou] : []),
    '',
    `— ${context.productName}`,
  ].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1a1a2e">',
    ...parts.lines.map((line) => `<p>${htmlLine(line, context.baseUrl)}</p>`),
    parts.link ? `<p><a href="${escapeHtml(parts.link.url)}">${escapeHtml(parts.link.label)}</a></p>` : '',
    `<p style="color:#555;font-size:14px">${details.map(escapeHtml).join('<br>')}</p>`,
    notYou ? `<p>${htmlLine(notYou, context.baseUrl)}</p>` : '',
    `<p style="color:#555">— ${escapeHtml(context.productName)}</p>`,
    '</body></html>',
  ].join('');
  return { subject: `${parts.subject} — ${context.productName} (${context.accountName})`, text, html };
}

export const mails = {
  invitation(context: MailContext, input: { inviterName: string; link: string }): Mail {
    return compose(context, {
      subject: 'You are invited',
      lines: [
        `${input.inviterName} invited you to ${context.accountName} on ${context.productName}.`,
        'Choose your password to start. The link works for 72 hours.',
      ],
      link: { label: 'Set your password', url: input.link },
      notYou: 'If you did not expect this invitation, you can ignore this email.',
    });
  },
  passwordReset(context: MailContext, input: { link: string }): Mail {
    return compose(context, {
      subject: 'Reset your password',
      lines: [
        'Someone asked to reset your password. The link works for 1 hour and only once.',
        'Your two-factor authentication stays on: you will still be asked for a passcode.',
      ],
      link: { label: 'Choose a new password', url: input.link },
      notYou: 'If you did not ask for this, ignore this email: your password stays as it is.',
    });
  },
  passwordChanged(context: MailContext): Mail {
    return compose(context, { subject: 'Your password was changed', lines: ['Your password was changed. Your other sessions were signed out.'] });
  },
  signInLocked(context: MailContext): Mail {
    return compose(context, {
      subject: 'Sign-in paused after failed attempts',
      lines: ['There were many failed attempts to sign in with your email, so sign-in is paused for a while.'],
      notYou: `If these were not your attempts, someone may be guessing your password. Use a long, unique password and turn on two-factor authentication at ${context.baseUrl}/profile/security.`,
    });
  },
  passcodeLocked(context: MailContext): Mail {
    return compose(context, {
      subject: 'Someone has your password: sign-in paused after wrong passcodes',
      lines: [
        'Your password was entered correctly, then the passcode was wrong too many times, so signing in is paused for a while.',
        'If that was not you, someone knows your password.',
      ],
      notYou: `Change your password now at ${context.baseUrl}/profile/security and tell your account admin. Your two-factor authentication kept them out.`,
    });
  },
  twoFactorEnabled(context: MailContext, input: { method: string }): Mail {
    return compose(context, {
      subject: 'Two-factor authentication is on',
      lines: [
        `Two-factor authentication was turned on with ${input.method}.`,
        `Keep your recovery codes somewhere safe. You can make new ones at ${context.baseUrl}/profile/security.`,
      ],
    });
  },
  securityKeyAdded(context: MailContext, input: { name: string }): Mail {
    return compose(context, {
      subject: 'A security key was added',
      lines: [`The security key "${input.name}" was added to your two-factor authentication. You can see your keys at ${context.baseUrl}/profile/security.`],
    });
  },
  securityKeyRemoved(context: MailContext, input: { name: string }): Mail {
    return compose(context, {
      subject: 'A security key was removed',
      lines: [`The security key "${input.name}" was removed and no longer signs you in. Computers you had trusted will ask for a passcode again.`],
    });
  },
  securityKeyCloned(context: MailContext, input: { name: string }): Mail {
    return compose(context, {
      subject: 'Your security key may have been copied',
      lines: [
        `A sign-in with your security key "${input.name}" was refused: the key answered with a signature counter lower than before, which is what a copied key does.`,
        `If you did not just try to sign in, remove this key at ${context.baseUrl}/profile/security and tell your admin.`,
      ],
    });
  },
  twoFactorDisabled(context: MailContext): Mail {
    return compose(context, { subject: 'Two-factor authentication is off', lines: ['Two-factor authentication was turned off for your sign-in.'] });
  },
  recoveryCodeUsed(context: MailContext, input: { left: number }): Mail {
    const left = `${recoveryCodes(input.left)} ${input.left === 1 ? 'is' : 'are'} left`;
    // A warning at 3 or fewer (DESIGN.md row 11), before the last one is gone.
    const warning =
      input.left === 0
        ? [`No recovery codes are left. Make a new set now at ${context.baseUrl}/profile/security.`]
        : input.left <= 3
          ? [`Only ${left}. Make a new set at ${context.baseUrl}/profile/security.`]
          : [];
    return compose(context, {
      subject: input.left <= 3 ? `A recovery code was used; ${input.left === 0 ? 'none' : `only ${input.left}`} left` : 'A recovery code was used',
      lines: [`A recovery code was used to sign in. ${left}.`, ...warning],
    });
  },
  recoveryCodesRegenerated(context: MailContext): Mail {
    return compose(context, {
      subject: 'New recovery codes were made',
      lines: ['A new set of recovery codes was made; the old ones no longer work.', `You can see how many are left at ${context.baseUrl}/profile/security.`],
    });
  },
  twoFactorResetByAdmin(context: MailContext, input: { adminName: string }): Mail {
    return compose(context, {
      subject: 'Your two-factor authentication was reset',
      lines: [
        `${input.adminName}, an admin of ${context.accountName}, reset your two-factor authentication. Your authenticator and recovery codes no longer work.`,
        'You will set up two-factor authentication again at your next sign-in.',
      ],
      notYou: `If you did not ask for this, tell your account admin at once, and change your password at ${context.baseUrl}/profile/security.`,
    });
  },
  roleChanged(context: MailContext, input: { adminName: string; role: string }): Mail {
    return compose(context, {
      subject: 'Your role was changed',
      lines: [`${input.adminName}, an admin of ${context.accountName}, changed your role to ${input.role}.`],
      notYou: 'If you did not expect this, tell your account admin.',
    });
  },
  accessSuspended(context: MailContext, input: { adminName: string }): Mail {
    return compose(context, {
      subject: 'Your sign-in was suspended',
      lines: [
        `${input.adminName}, an admin of ${context.accountName}, suspended your sign-in. You were signed out everywhere and cannot sign in until an admin reactivates you.`,
      ],
      notYou: 'If you did not expect this, ask your account admin.',
    });
  },
  accessRestored(context: MailContext, input: { adminName: string }): Mail {
    return compose(context, {
      subject: 'Your sign-in was reactivated',
      lines: [`${input.adminName}, an admin of ${context.accountName}, reactivated your sign-in. You can sign in again.`],
      notYou: 'If you did not expect this, tell your account admin.',
    });
  },
  signInUnlockedByAdmin(context: MailContext, input: { adminName: string }): Mail {
    return compose(context, {
      subject: 'An admin unlocked your sign-in',
      lines: [
        `${input.adminName}, an admin of ${context.accountName}, lifted the pause on your sign-in that too many wrong passwords or passcodes had set. You can sign in again.`,
      ],
      notYou: `If the wrong attempts were not yours, someone may know your password: change it at ${context.baseUrl}/profile/security.`,
    });
  },
  webhookPaused(context: MailContext, input: { url: string; lastError: string | null }): Mail {
    return compose(context, {
      subject: 'A webhook was paused',
      lines: [
        `The webhook of ${context.accountName} that sends events to ${input.url} has failed every delivery for a day, so it was paused. Nothing more is sent to it until an admin resumes it.`,
        ...(input.lastError ? [`The last attempt: ${input.lastError}`] : []),
        `Fix the receiver, then resume the webhook and resend what it missed at ${context.baseUrl}/admin/webhooks.`,
      ],
      notYou: false,
    });
  },
  recoveryCodeIssuedByAdmin(context: MailContext, input: { adminName: string; expiresAt: number }): Mail {
    return compose(context, {
      subject: 'An admin issued a recovery code for you',
      lines: [
        `${input.adminName}, an admin of ${context.accountName}, issued a one-time recovery code for you. It works once, until ${context.t.moment(input.expiresAt)}.`,
        'After signing in with it you will set up two-factor authentication again.',
      ],
      notYou: 'If you did not ask for this, tell your account admin at once: someone may be trying to take over your sign-in.',
    });
  },
  emailConfirmationCode(context: MailContext, input: { code: string; expiresInMinutes: number }): Mail {
    // The one mail that carries a passcode: proving the mailbox is its whole purpose.
    return compose(context, {
      subject: 'Your confirmation code',
      lines: [
        `Your confirmation code is ${input.code}.`,
        `Enter it to continue setting up two-factor authentication. It works for ${input.expiresInMinutes} minutes.`,
      ],
      notYou: `If you are not setting up two-factor authentication, someone knows your password: change it now at ${context.baseUrl}/profile/security and tell your account admin. Do not give this code to anyone.`,
    });
  },
  emailedCode(context: MailContext, input: { code: string; expiresInMinutes: number; use: 'sign_in' | 'confirmation' | 'enrolment' }): Mail {
    // Emailed codes as a second factor (DESIGN.md row 19): the code is the mail's purpose.
    const what =
      input.use === 'sign_in'
        ? 'Enter it to finish signing in'
        : input.use === 'enrolment'
          ? 'Enter it to turn on emailed codes for two-factor authentication'
          : 'Enter it to confirm what you were doing in Security settings';
    return compose(context, {
      subject: input.use === 'sign_in' ? 'Your sign-in code' : 'Your verification code',
      lines: [`Your code is ${input.code}.`, `${what}. It works for ${input.expiresInMinutes} minutes.`],
      notYou: `If this was not you, someone knows your password: change it now at ${context.baseUrl}/profile/security and tell your account admin. Do not give this code to anyone.`,
    });
  },
  newComputer(context: MailContext, input: { trusted?: boolean } = {}): Mail {
    return compose(context, {
      subject: input.trusted ? 'Sign-in from a new computer, now trusted' : 'Sign-in from a new computer',
      lines: [
        'Your account was signed in to from a computer we had not seen before.',
        ...(input.trusted ? ['It was trusted to skip the passcode at sign-in. You can forget it at any time in Security settings.'] : []),
      ],
    });
  },
  computerTrusted(context: MailContext): Mail {
    return compose(context, {
      subject: 'A computer was trusted',
      lines: ['A computer was trusted to skip the passcode at sign-in. You can forget it at any time in Security settings.'],
    });
  },
};
