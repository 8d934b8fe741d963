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

/** What the change will do, in plain words, in the admin's language (DESIGN.md row 8:
 * the confirmation says exactly what happens). */
function describeChange(current: SecurityPolicy, change: PolicyChange, staffWithout: number, now: number, t: Translator): string[] {
  const lines: string[] = [];
  const requireNext = change.require_two_factor as 'off' | 'staff';
  const grace = typeof change.grace_days === 'number' ? change.grace_days : 0;
  if (current.requireTwoFactor === 'off' && requireNext === 'staff') {
    const deadline = t.moment(now + grace * DAY);
    lines.push(
      t.t('adminSecurity.change.requireOn'),
      staffWithout === 0
        ? t.t('adminSecurity.change.everyoneHasIt')
        : grace > 0
          ? t.t('adminSecurity.change.staffWithGrace', { count: staffWithout, deadline })
          : t.t('adminSecurity.change.staffAtNextSignIn', { count: staffWithout }),
      t.t('adminSecurity.change.nobodyLoses'),
    );
  } else if (current.requireTwoFactor === 'staff' && requireNext === 'off') {
    lines.push(t.t('adminSecurity.change.requireOff'));
  } else if (requireNext === 'staff' && grace !== current.graceDays) {
    lines.push(t.t('adminSecurity.change.grace', { days: grace }));
  }
  if (change.require_security_keys_for_admins === true && !current.securityKeysForAdmins) {
    lines.push(t.t('adminSecurity.change.keysOn'), t.t('adminSecurity.change.keysOnSignOut'));
  } else if (change.require_security_keys_for_admins === false && current.securityKeysForAdmins) {
    lines.push(t.t('adminSecurity.change.keysOff'));
  }
  if (change.passkey_sign_in === false && current.passkeySignIn) {
    lines.push(t.t('adminSecurity.change.passkeyOff'));
  } else if (change.passkey_sign_in === true && !current.passkeySignIn) {
    lines.push(t.t('adminSecurity.change.passkeyOn'));
  }
  if (change.session_days !== undefined && change.session_days !== current.sessionDays) {
    lines.push(t.t('adminSecurity.change.sessionDays', { days: Number(change.session_days), was: current.sessionDays }));
  }
  if (typeof change.country === 'string' && change.country.toUpperCase() !== current.country) {
    lines.push(t.t('adminSecurity.change.country', { country: change.country.toUpperCase(), was: current.country }));
  }
  if (change.sms_daily_budget !== undefined && change.sms_daily_budget !== current.smsDailyBudget) {
    lines.push(
      change.sms_daily_budget === null
        ? t.t('adminSecurity.change.smsBudgetDefault')
        : t.t('adminSecurity.change.smsBudget', { count: Number(change.sms_daily_budget) }),
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
    lines.push(allowed === '' ? t.t('adminSecurity.change.smsAnyCountry') : t.t('adminSecurity.change.smsCountries', { countries: allowed }));
  }
  if (change.trusted_device_days !== undefined && change.trusted_device_days !== current.trustedDeviceDays) {
    lines.push(
      change.trusted_device_days === 0
        ? t.t('adminSecurity.change.trustNone')
        : t.t('adminSecurity.change.trustDays', { days: Number(change.trusted_device_days), was: current.trustedDeviceDays }),
    );
  }
  return lines.length > 0 ? lines : [t.t('adminSecurity.change.nothing')];
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
function formError(failure: Failure, t: Translator): { field?: string; text: string } {
  return failure.field ? { field: failure.field, text: messageFor(failure, t) } : { text: messageFor(failure, t) };
}

export function registerAdminSecurityPages(
  app: FastifyInstance,
  kit: PageKit,
  requireAdmin: (request: FastifyRequest, reply: FastifyReply) => SignedIn | null,
): void {
  const settingsForm = (t: Translator, csrf: string, values: FormValues, error: { field?: string; text: string } | null): Html =>
    html` <form method="post" action="/admin/security" novalidate>
      ${csrfField(csrf)}
      <section class="card" aria-labelledby="require-heading">
        <h2 id="require-heading">${t.t('adminSecurity.require.heading')}</h2>
        <label class="checkbox"
          ><input type="checkbox" name="require_two_factor" value="staff"${values.require_two_factor === 'staff' ? html` checked` : ''}>
          ${t.t('adminSecurity.require.label')}</label
        >
        <p class="hint">${t.t('adminSecurity.require.hint')}</p>
        <label class="checkbox"
          ><input type="checkbox" name="require_security_keys_for_admins" value="1"${values.require_security_keys_for_admins === '1' ? html` checked` : ''}>
          ${t.t('adminSecurity.keys.label')}</label
        >
        <p class="hint">${t.t('adminSecurity.keys.hint')}</p>
        ${error?.field === 'require_security_keys_for_admins' ? html`<p class="error" role="alert">${error.text}</p>` : ''}
        <label class="checkbox"
          ><input type="checkbox" name="passkey_sign_in" value="1"${values.passkey_sign_in === '1' ? html` checked` : ''}>
          ${t.t('adminSecurity.passkeys.label')}</label
        >
        <p class="hint">${t.t('adminSecurity.passkeys.hint')}</p>
        ${field({ name: 'grace_days', label: t.t('adminSecurity.grace.label'), type: 'number', value: values.grace_days, required: false, hint: t.t('adminSecurity.grace.hint'), error: error?.field === 'grace_days' ? error.text : null })}
      </section>
      <section class="card" aria-labelledby="durations-heading">
        <h2 id="durations-heading">${t.t('adminSecurity.durations.heading')}</h2>
        ${field({ name: 'session_days', label: t.t('adminSecurity.sessionDays.label'), type: 'number', value: values.session_days, hint: t.t('adminSecurity.sessionDays.hint'), error: error?.field === 'session_days' ? error.text : null })}
        ${field({ name: 'trusted_device_days', label: t.t('adminSecurity.trustedDays.label'), type: 'number', value: values.trusted_device_days, hint: t.t('adminSecurity.trustedDays.hint'), error: error?.field === 'trusted_device_days' ? error.text : null })}
      </section>
      <section class="card" aria-labelledby="sms-heading">
        <h2 id="sms-heading">${t.t('adminSecurity.sms.heading')}</h2>
        ${field({ name: 'country', label: t.t('adminSecurity.country.label'), value: values.country, maxlength: 2, hint: t.t('adminSecurity.country.hint'), error: error?.field === 'country' ? error.text : null })}
        ${field({ name: 'sms_daily_budget', label: t.t('adminSecurity.smsBudget.label'), type: 'number', value: values.sms_daily_budget, required: false, hint: t.t('adminSecurity.smsBudget.hint'), error: error?.field === 'sms_daily_budget' ? error.text : null })}
        ${field({ name: 'sms_allowed_countries', label: t.t('adminSecurity.smsCountries.label'), value: values.sms_allowed_countries, required: false, hint: t.t('adminSecurity.smsCountries.hint'), error: error?.field === 'sms_allowed_countries' ? error.text : null })}
      </section>
      <button type="submit" class="primary">${t.t('adminSecurity.review')}</button>
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
    const t = request.i18n;
    const policy = policyOf(admin.account);
    const staffWithout = await staffWithoutTwoFactorCount(kit.deps, admin.account.id);
    const state =
      policy.requireTwoFactor === 'staff'
        ? t.t('adminSecurity.state.required', { since: t.moment(policy.requireTwoFactorSince ?? 0), graceDays: policy.graceDays, count: staffWithout })
        : t.t('adminSecurity.state.notRequired', { count: staffWithout });
    const error = options.error ?? null;
    return kit.send(
      request,
      reply,
      {
        title: t.t('adminSecurity.title'),
        current: 'admin-security',
        notice: options.notice ?? (error && !error.field ? { kind: 'error', text: error.text } : null),
        body: html`<h1>${t.t('adminSecurity.heading', { account: admin.account.name })}</h1>
          <p>${state} <a href="/admin/users?filter=staff_without_2fa">${t.t('adminSecurity.seeWho')}</a></p>
          ${settingsForm(t, kit.csrfToken(request, reply), options.values ?? valuesOf(policy), error)}
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
        title: request.i18n.t('adminSecurity.review'),
        current: 'admin-security',
        body: html`<h1>${request.i18n.t('adminSecurity.review')}</h1>
          ${sendConfirmationCodeForms(csrf, '/admin/security', methods)}
          <section class="card">
            <h2>${request.i18n.t('adminSecurity.whatWillHappen')}</h2>
            <ul>
              ${lines.map((line) => html`<li>${line}</li>`)}
            </ul>
            <form method="post" action="/admin/security" novalidate>
              ${csrfField(csrf)}
              <input type="hidden" name="step" value="confirm" />
              ${Object.entries(values).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`)}
              ${confirmationFields({ prefix: 'policy', error: confirmationError, methods: methods, t: request.i18n })}
              <button type="submit" class="primary">${request.i18n.t('adminSecurity.confirmAndSave')}</button>
              <a href="/admin/security">${request.i18n.t('admin.review.cancel')}</a>
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
    const text = done === '1' ? request.i18n.t('adminSecurity.saved') : done === 'language' ? request.i18n.t('accountLanguage.saved') : null;
    return settingsPage(request, reply, admin, { notice: text ? { kind: 'success', text } : null });
  });

  app.post('/admin/security', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    const values = valuesFrom(request.body);
    const change = readChange(values);
    // Out-of-range values are refused before the review, beside their fields.
    const checked = checkPolicyChange(kit.deps, admin.account, change);
    if (!checked.ok) return settingsPage(request, reply, admin, { error: formError(checked.failure, request.i18n), values, status: 400 });
    if (formString(request.body, 'step') !== 'confirm') return reviewPage(request, reply, admin, values, null);
    const result = await updateSecurityPolicy(kit.deps, admin, change, formConfirmation(request.body), requestContext(request));
    if (!result.ok) {
      // A change the account cannot take goes back to the form; a wrong confirmation
      // stays on the review, with everything the admin chose.
      if (result.failure.field && result.failure.field !== 'code')
        return settingsPage(request, reply, admin, { error: formError(result.failure, request.i18n), values, status: 400 });
      return reviewPage(request, reply, admin, values, messageFor(result.failure, request.i18n));
    }
    return reply.redirect('/admin/security?done=1', 303);
  });
}
