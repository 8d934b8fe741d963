// /admin/security: require 2FA for staff (with a grace period) and the two durations.
// Changes are reviewed in words first, then confirmed with the admin's own passcode.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Translator } from '../../i18n/translator.js';
import { confirmationMethods } from '../../services/confirmation.js';
import {
  checkPolicyChange,
  policyOf,
  staffWithoutTwoFactorCount,
  updateSecurityPolicy,
  type PolicyChange,
  type SecurityPolicy,
} from '../../services/security-policy.js';
import type { Failure } from '../../domain/failures.js';
import type { SignedIn } from '../../services/sessions.js';
import { messageFor } from '../errors.js';
import { html, type Html } from '../html.js';
import { requestContext } from '../request-context.js';
import { confirmationFields, sendConfirmationCodeForms } from './confirmation-fields.js';
import { csrfField, field, formConfirmation, formString } from './forms.js';
import { accountLanguageSection } from './preference-sections.js';
import type { PageKit } from './kit.js';

const DAY = 24 * 60 * 60 * 1000;

function readChange(body: unknown): PolicyChange {
  const number = (name: string) => {
    const raw = formString(body, name).trim();
    return /^-?\d+$/.test(raw) ? Number(raw) : raw === '' ? undefined : raw;
  };
  const budget = formString(body, 'sms_daily_budget').trim();
  return {
    require_two_factor: formString(body, 'require_two_factor') === 'staff' ? 'staff' : 'off',
    grace_days: number('grace_days') ?? 0,
    session_days: number('session_days'),
    trusted_device_days: number('trusted_device_days'),
    country: formString(body, 'country') || undefined,
    sms_daily_budget: budget === '' ? null : /^\d+$/.test(budget) ? Number(budget) : budget,
    sms_allowed_countries: formString(body, 'sms_allowed_countries'),
    require_security_keys_for_admins: formString(body, 'require_security_keys_for_admins') === '1',
    passkey_sign_in: formString(body, 'passkey_sign_in') === '1',
  };
}

/** What the change will do, in plain words (DESIGN.md row 8: the confirmation says exactly what happens). */
function describeChange(current: SecurityPolicy, change: PolicyChange, staffWithout: number, now: number, t: Translator): string[] {
  const lines: string[] = [];
  const requireNext = change.require_two_factor as 'off' | 'staff';
  const grace = typeof change.grace_days === 'number' ? change.grace_days : 0;
  if (current.requireTwoFactor === 'off' && requireNext === 'staff') {
    const deadline = t.moment(now + grace * DAY);
    lines.push(
      `Two-factor authentication will be required for every agent and admin. End users are not affected.`,
      staffWithout === 0
        ? 'Every agent and admin already has it: nobody will be interrupted.'
        : grace > 0
          ? `${staffWithout} staff member${staffWithout === 1 ? '' : 's'} without it will see a reminder with the deadline and may skip it until ${deadline}; after that they must set it up at sign-in before doing anything else.`
          : `${staffWithout} staff member${staffWithout === 1 ? '' : 's'} without it must set it up at their next sign-in before doing anything else, starting with a code sent to their email.`,
      'Nobody loses or has to redo the two-factor authentication they already have.',
    );
  } else if (current.requireTwoFactor === 'staff' && requireNext === 'off') {
    lines.push(
      'Two-factor authentication will no longer be required. Everyone keeps their two-factor authentication exactly as it is; people may turn theirs off themselves.',
    );
  } else if (requireNext === 'staff' && grace !== current.graceDays) {
    lines.push(`The grace period becomes ${grace} day${grace === 1 ? '' : 's'} from when the requirement was turned on.`);
  }
  if (change.require_security_keys_for_admins === true && !current.securityKeysForAdmins) {
    lines.push(
      'Admins will have to sign in with a security key or passkey every time; a passcode from an app or a text will no longer do, and trusted computers will not skip it. Admins without a key will add one at their next sign-in, after a code sent to their email. Recovery codes still work if a key is lost.',
      'Every admin is signed out now, everywhere except this session of yours, so that each signs in again with a key.',
    );
  } else if (change.require_security_keys_for_admins === false && current.securityKeysForAdmins) {
    lines.push('Admins may sign in with any of their two-factor methods again.');
  }
  if (change.passkey_sign_in === false && current.passkeySignIn) {
    lines.push('Passkeys will no longer sign anyone in alone: people give their password first, then their passkey counts as the second step.');
  } else if (change.passkey_sign_in === true && !current.passkeySignIn) {
    lines.push('People with a passkey may sign in with it alone again: one touch, no password or code.');
  }
  if (change.session_days !== undefined && change.session_days !== current.sessionDays) {
    lines.push(
      `People stay signed in for ${String(change.session_days)} days (was ${current.sessionDays}); a shorter time also ends open sessions older than that.`,
    );
  }
  if (typeof change.country === 'string' && change.country.toUpperCase() !== current.country) {
    lines.push(`Phone numbers typed without a country code are read as ${change.country.toUpperCase()} numbers (was ${current.country}).`);
  }
  if (change.sms_daily_budget !== undefined && change.sms_daily_budget !== current.smsDailyBudget) {
    lines.push(
      change.sms_daily_budget === null
        ? 'The account may send the default number of texts a day.'
        : `The account may send at most ${String(change.sms_daily_budget)} texts a day.`,
    );
  }
  const allowed =
    typeof change.sms_allowed_countries === 'string'
      ? change.sms_allowed_countries
          .toUpperCase()
          .split(/[\s,;]+/)
          .filter(Boolean)
          .join(', ')
      : '';
  if (allowed !== (current.smsAllowedCountries ?? []).join(', ')) {
    lines.push(allowed === '' ? 'Texts may go to numbers in any country.' : `Texts may only go to numbers in: ${allowed}.`);
  }
  if (change.trusted_device_days !== undefined && change.trusted_device_days !== current.trustedDeviceDays) {
    lines.push(
      change.trusted_device_days === 0
        ? 'A passcode will be asked at every sign-in: no computer is trusted any more.'
        : `A computer stays trusted for ${String(change.trusted_device_days)} days (was ${current.trustedDeviceDays}).`,
    );
  }
  return lines.length > 0 ? lines : ['Nothing changes.'];
}

/** The form's fields as text: from the saved policy, or as the admin last typed them. */
type FormValues = Record<
  | 'require_two_factor'
  | 'require_security_keys_for_admins'
  | 'passkey_sign_in'
  | 'grace_days'
  | 'session_days'
  | 'trusted_device_days'
  | 'country'
  | 'sms_daily_budget'
  | 'sms_allowed_countries',
  string
>;

function valuesOf(policy: SecurityPolicy): FormValues {
  return {
    require_two_factor: policy.requireTwoFactor === 'staff' ? 'staff' : '',
    require_security_keys_for_admins: policy.securityKeysForAdmins ? '1' : '',
    passkey_sign_in: policy.passkeySignIn ? '1' : '',
    grace_days: String(policy.graceDays),
    session_days: String(policy.sessionDays),
    trusted_device_days: String(policy.trustedDeviceDays),
    country: policy.country,
    sms_daily_budget: policy.smsDailyBudget === null ? '' : String(policy.smsDailyBudget),
    sms_allowed_countries: (policy.smsAllowedCountries ?? []).join(', '),
  };
}

function valuesFrom(body: unknown): FormValues {
  const text = (name: keyof FormValues) => formString(body, name, 200);
  return {
    require_two_factor: text('require_two_factor') === 'staff' ? 'staff' : '',
    require_security_keys_for_admins: text('require_security_keys_for_admins') === '1' ? '1' : '',
    passkey_sign_in: text('passkey_sign_in') === '1' ? '1' : '',
    grace_days: text('grace_days'),
    session_days: text('session_days'),
    trusted_device_days: text('trusted_device_days'),
    country: text('country'),
    sms_daily_budget: text('sms_daily_budget'),
    sms_allowed_countries: text('sms_allowed_countries'),
  };
}

/** Where a failure belongs: beside one of the form's fields, or (null) above it. */
function formError(failure: Failure): { field?: string; text: string } {
  return failure.field ? { field: failure.field, text: messageFor(failure) } : { text: messageFor(failure) };
}

export function registerAdminSecurityPages(
  app: FastifyInstance,
  kit: PageKit,
  requireAdmin: (request: FastifyRequest, reply: FastifyReply) => SignedIn | null,
): void {
  const settingsForm = (csrf: string, values: FormValues, error: { field?: string; text: string } | null): Html =>
    html` <form method="post" action="/admin/security" novalidate>
      ${csrfField(csrf)}
      <section class="card" aria-labelledby="require-heading">
        <h2 id="require-heading">Two-factor authentication for staff</h2>
        <label class="checkbox"
          ><input type="checkbox" name="require_two_factor" value="staff"${values.require_two_factor === 'staff' ? html` checked` : ''}> Require two-factor
          authentication for all agents and administrators</label
        >
        <p class="hint">Turning this off later keeps everyone's two-factor authentication as it is. End users are never required.</p>
        <label class="checkbox"
          ><input type="checkbox" name="require_security_keys_for_admins" value="1"${values.require_security_keys_for_admins === '1' ? html` checked` : ''}>
          Require a security key or passkey for administrators</label
        >
        <p class="hint">
          A fake sign-in page gets nothing from a key, so the people who can change everyone's access cannot be phished. Add a key to your own sign-in first.
        </p>
        ${error?.field === 'require_security_keys_for_admins' ? html`<p class="error" role="alert">${error.text}</p>` : ''}
        <label class="checkbox"
          ><input type="checkbox" name="passkey_sign_in" value="1"${values.passkey_sign_in === '1' ? html` checked` : ''}>
          Let people sign in with a passkey alone</label
        >
        <p class="hint">A passkey checks the person's PIN, fingerprint or face and cannot be phished. Off, a passkey is asked for after the password instead.</p>
        ${field({ name: 'grace_days', label: 'Grace period (days)', type: 'number', value: values.grace_days, required: false, hint: 'Days staff may skip set-up after you turn the requirement on (0: at their next sign-in).', error: error?.field === 'grace_days' ? error.text : null })}
      </section>
      <section class="card" aria-labelledby="durations-heading">
        <h2 id="durations-heading">How long sign-ins last</h2>
        ${field({ name: 'session_days', label: 'Stay signed in for (days)', type: 'number', value: values.session_days, hint: '1 to 90 days. After this, people sign in again with their password.', error: error?.field === 'session_days' ? error.text : null })}
        ${field({ name: 'trusted_device_days', label: 'Trust a computer for (days)', type: 'number', value: values.trusted_device_days, hint: '0 to 90 days without a passcode on a trusted computer; 0 asks for a passcode at every sign-in.', error: error?.field === 'trusted_device_days' ? error.text : null })}
      </section>
      <section class="card" aria-labelledby="sms-heading">
        <h2 id="sms-heading">Text messages</h2>
        ${field({ name: 'country', label: 'Country for phone numbers', value: values.country, maxlength: 2, hint: 'Two-letter code (US, GB, FR…): numbers typed without +country code are read as this country’s.', error: error?.field === 'country' ? error.text : null })}
        ${field({ name: 'sms_daily_budget', label: 'Texts a day (optional)', type: 'number', value: values.sms_daily_budget, required: false, hint: 'The most texts the account sends in 24 hours, so that fake requests cannot run up your bill; empty for the default (1000).', error: error?.field === 'sms_daily_budget' ? error.text : null })}
        ${field({ name: 'sms_allowed_countries', label: 'Only text these countries (optional)', value: values.sms_allowed_countries, required: false, hint: 'Two-letter codes separated by commas, e.g. GB, IE; empty for every country.', error: error?.field === 'sms_allowed_countries' ? error.text : null })}
      </section>
      <button type="submit" class="primary">Review changes</button>
    </form>`;

  const settingsPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    admin: SignedIn,
    options: {
      notice?: { kind: 'success' | 'error'; text: string } | null;
      error?: { field?: string; text: string } | null;
      values?: FormValues;
      status?: number;
    } = {},
  ) => {
    const policy = policyOf(admin.account);
    const staffWithout = await staffWithoutTwoFactorCount(kit.deps, admin.account.id);
    const state =
      policy.requireTwoFactor === 'staff'
        ? `Required for staff since ${request.i18n.moment(policy.requireTwoFactorSince ?? 0)}${policy.graceDays > 0 ? `, with ${policy.graceDays} days of grace` : ''}. ${staffWithout} staff member${staffWithout === 1 ? '' : 's'} still without it.`
        : `Not required. ${staffWithout} staff member${staffWithout === 1 ? '' : 's'} without it.`;
    const error = options.error ?? null;
    return kit.send(
      request,
      reply,
      {
        title: 'Account security',
        current: 'admin-security',
        notice: options.notice ?? (error && !error.field ? { kind: 'error', text: error.text } : null),
        body: html`<h1>Security for ${admin.account.name}</h1>
          <p>${state} <a href="/admin/users?filter=staff_without_2fa">See who</a></p>
          ${settingsForm(kit.csrfToken(request, reply), options.values ?? valuesOf(policy), error)}
          ${accountLanguageSection(request.i18n, admin, kit.csrfToken(request, reply))}`,
      },
      options.status ?? 200,
    );
  };

  /** What the change will do, then the admin's confirmation; every typed value is
   * carried through, so a wrong passcode loses nothing. */
  const reviewPage = async (request: FastifyRequest, reply: FastifyReply, admin: SignedIn, values: FormValues, confirmationError: string | null) => {
    const csrf = kit.csrfToken(request, reply);
    const methods = await confirmationMethods(kit.deps.db, admin.user, admin.account);
    const lines = describeChange(
      policyOf(admin.account),
      readChange(values),
      await staffWithoutTwoFactorCount(kit.deps, admin.account.id),
      kit.deps.now(),
      request.i18n,
    );
    return kit.send(
      request,
      reply,
      {
        title: 'Review changes',
        current: 'admin-security',
        body: html`<h1>Review changes</h1>
          ${sendConfirmationCodeForms(csrf, '/admin/security', methods)}
          <section class="card">
            <h2>What will happen</h2>
            <ul>
              ${lines.map((line) => html`<li>${line}</li>`)}
            </ul>
            <form method="post" action="/admin/security" novalidate>
              ${csrfField(csrf)}
              <input type="hidden" name="step" value="confirm" />
              ${Object.entries(values).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`)}
              ${confirmationFields({ prefix: 'policy', error: confirmationError, methods: methods })}
              <button type="submit" class="primary">Confirm and save</button>
              <a href="/admin/security">Cancel</a>
            </form>
          </section>`,
      },
      confirmationError ? 400 : 200,
    );
  };

  app.get('/admin/security', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    const done = (request.query as Record<string, unknown>).done;
    const text = done === '1' ? 'The security settings were saved.' : done === 'language' ? request.i18n.t('accountLanguage.saved') : null;
    return settingsPage(request, reply, admin, { notice: text ? { kind: 'success', text } : null });
  });

  app.post('/admin/security', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    const values = valuesFrom(request.body);
    const change = readChange(values);
    // Out-of-range values are refused before the review, beside their fields.
    const checked = checkPolicyChange(kit.deps, admin.account, change);
    if (!checked.ok) return settingsPage(request, reply, admin, { error: formError(checked.failure), values, status: 400 });
    if (formString(request.body, 'step') !== 'confirm') return reviewPage(request, reply, admin, values, null);
    const result = await updateSecurityPolicy(kit.deps, admin, change, formConfirmation(request.body), requestContext(request));
    if (!result.ok) {
      // A change the account cannot take goes back to the form; a wrong confirmation
      // stays on the review, with everything the admin chose.
      if (result.failure.field && result.failure.field !== 'code')
        return settingsPage(request, reply, admin, { error: formError(result.failure), values, status: 400 });
      return reviewPage(request, reply, admin, values, messageFor(result.failure));
    }
    return reply.redirect('/admin/security?done=1', 303);
  });
}
