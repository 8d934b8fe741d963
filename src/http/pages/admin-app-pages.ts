// /admin/apps: the account's apps (DESIGN.md rows 16 and 17), the apps that send people
// here to sign in (OpenID Connect) and the hosts a reverse proxy guards (forward-auth).
// Adding, changing, removing one and making a new secret are reviewed in words, then
// confirmed with a reason and the admin's own passcode; a new secret is shown once,
// from a sealed cookie, by the page the action leads to.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decryptSecret, encryptSecret, sealedPlace } from '../../crypto/secret-box.js';
import { ACR_VALUES, type AppFieldsInput, type AppSettings, type AppType } from '../../domain/apps.js';
import type { Failure } from '../../domain/failures.js';
import { ROLES } from '../../domain/identity.js';
import { ACR, type Acr } from '../../domain/sign-in-decision.js';
import type { Role } from '../../domain/types.js';
import {
  adminAppManager,
  checkAppToCreate,
  checkAppToUpdate,
  createApp,
  deleteApp,
  getApp,
  listApps,
  updateApp,
  type RegisteredApp,
} from '../../services/apps.js';
import type { SignedIn } from '../../services/sessions.js';
import { ERROR_TABLE, messageFor } from '../errors.js';
import { html, type Html } from '../html.js';
import { COOKIE, requestContext } from '../request-context.js';
import { carriesConfirmation, reviewAdminAction, type AdminActionReview, type ReviewSection } from './admin-confirm-pages.js';
import { csrfField, field, formConfirmation, formString, textareaField } from './forms.js';
import type { PageKit } from './kit.js';
import type { Translator } from '../../i18n/translator.js';

const APPS: ReviewSection = { href: '/admin/apps', label: 'layout.nav.apps', current: 'admin-apps' };

/** Each sign-in strength's name in the catalogues (`apps.strength.*`). */
const STRENGTH_KEYS: Record<Acr, 'password' | 'twoFactor' | 'phishingResistant'> = {
  [ACR.password]: 'password',
  [ACR.twoFactor]: 'twoFactor',
  [ACR.phishingResistant]: 'phishingResistant',
};

function typeName(t: Translator, type: AppType): string {
  return t.t('apps.type.name', { type });
}

function typeExplanation(t: Translator, type: AppType): string {
  return t.t('apps.type.explanation', { type });
}

/** How long the sealed secret waits for the page that shows it. */
const SECRET_COOKIE_MAX_AGE_IN_SECONDS = 120;
/** A review's own address carries the typed form; longer ones would be cut, so past
 * this the way back after "Text me a code" is the apps page itself. */
const REVIEW_ADDRESS_MAX_LENGTH = 3000;

/** The form's fields as text: as the admin typed them, or from the saved app. Roles are
 * one checkbox each (role_admin…), so a review can carry them as plain hidden fields. */
type FormValues = Record<
  | 'name'
  | 'type'
  | 'redirect_uris'
  | 'post_logout_redirect_uris'
  | 'backchannel_logout_uri'
  | 'host'
  | 'first_party'
  | 'role_admin'
  | 'role_agent'
  | 'role_end_user'
  | 'required_acr',
  string
>;

const FORM_FIELDS = [
  'name',
  'type',
  'redirect_uris',
  'post_logout_redirect_uris',
  'backchannel_logout_uri',
  'host',
  'first_party',
  'role_admin',
  'role_agent',
  'role_end_user',
  'required_acr',
] as const satisfies readonly (keyof FormValues)[];

const NEW_APP_VALUES: FormValues = {
  name: '',
  type: 'confidential',
  redirect_uris: '',
  post_logout_redirect_uris: '',
  backchannel_logout_uri: '',
  host: '',
  first_party: '',
  role_admin: '1',
  role_agent: '1',
  role_end_user: '',
  required_acr: '',
};

function valuesFrom(source: unknown): FormValues {
  const values = { ...NEW_APP_VALUES };
  for (const name of FORM_FIELDS) values[name] = formString(source, name, name.endsWith('_uris') ? 30_000 : 4096);
  return values;
}

function valuesOf(app: RegisteredApp): FormValues {
  return {
    name: app.name,
    type: app.type,
    redirect_uris: app.redirectUris.join('\n'),
    post_logout_redirect_uris: app.postLogoutRedirectUris.join('\n'),
    backchannel_logout_uri: app.backchannelLogoutUri ?? '',
    host: app.host ?? '',
    first_party: app.firstParty ? '1' : '',
    role_admin: app.allowedRoles.includes('admin') ? '1' : '',
    role_agent: app.allowedRoles.includes('agent') ? '1' : '',
    role_end_user: app.allowedRoles.includes('end_user') ? '1' : '',
    required_acr: app.requiredAcr ?? '',
  };
}

/** One URI a line; blank lines and the spaces around each line do not count. */
function lines(text: string): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** What the form asks for, as the service takes it. A new app sends every field; a
 * change sends those its type has (the type itself never changes). */
function fieldsFrom(values: FormValues, existing: AppType | null): AppFieldsInput {
  const type = existing ?? values.type;
  const oidc = type !== 'proxy';
  const common: AppFieldsInput = {
    name: values.name,
    allowed_roles: ROLES.filter((role) => values[`role_${role}`] === '1'),
    required_acr: values.required_acr === '' ? null : values.required_acr,
  };
  const uris: AppFieldsInput = {
    redirect_uris: lines(values.redirect_uris),
    post_logout_redirect_uris: lines(values.post_logout_redirect_uris),
    backchannel_logout_uri: values.backchannel_logout_uri.trim() === '' ? null : values.backchannel_logout_uri.trim(),
  };
  const host: AppFieldsInput = { host: values.host.trim() === '' ? null : values.host };
  if (existing === null) return { type, ...common, ...uris, ...host, first_party: values.first_party === '1' };
  return oidc ? { ...common, ...uris, first_party: values.first_party === '1' } : { ...common, ...host };
}

const APP_FIELD_NAMES = new Set([
  'name',
  'type',
  'redirect_uris',
  'post_logout_redirect_uris',
  'backchannel_logout_uri',
  'host',
  'first_party',
  'allowed_roles',
  'required_acr',
]);

/** A failure about the app itself goes back to its form; one about the reason or the
 * confirmation stays on the review. */
function isAboutTheApp(failure: Failure): boolean {
  return failure.field !== undefined && APP_FIELD_NAMES.has(failure.field);
}

function statusOf(failure: Failure): number {
  return ERROR_TABLE[failure.code].status;
}

function rolesSentence(t: Translator, roles: readonly Role[], strength: Acr | null): string {
  const who = roles.length === 1 ? t.t('apps.roles.only', { role: roles[0]! }) : t.list(roles.map((role) => t.t('apps.roles.inSentence', { role })));
  return t.t('apps.roles.sentence', { who: `${who.charAt(0).toUpperCase()}${who.slice(1)}`, strength: strength === null ? 'any' : STRENGTH_KEYS[strength] });
}

/** What adding the app will do, in plain words. */
function describeNewApp(t: Translator, settings: AppSettings): string {
  return t.t('apps.new.explanation', {
    type: settings.type,
    name: settings.name,
    host: settings.host ?? '',
    roles: rolesSentence(t, settings.allowedRoles, settings.requiredAcr),
    firstParty: settings.firstParty ? 'yes' : 'no',
  });
}

const CHANGED_SETTINGS = [
  'name',
  'type',
  'redirectUris',
  'postLogoutRedirectUris',
  'backchannelLogoutUri',
  'host',
  'firstParty',
  'allowedRoles',
  'requiredAcr',
] as const satisfies readonly (keyof AppSettings)[];

function describeChange(t: Translator, app: RegisteredApp, settings: AppSettings): string {
  const changed = CHANGED_SETTINGS.filter((key) => JSON.stringify(app[key]) !== JSON.stringify(settings[key]));
  if (changed.length === 0) return t.t('adminSecurity.change.nothing');
  const list = t.list(changed.map((key) => t.t(`apps.change.${key}`)));
  return t.t('apps.change.sentence', { list, roles: rolesSentence(t, settings.allowedRoles, settings.requiredAcr) });
}

/** The new secret, sealed for this admin's session and this app only. */
function secretPlace(admin: SignedIn, appId: string): string {
  return sealedPlace('app_secret_cookie', admin.session.id, appId);
}

/** A review's own address, when the form fits in it (else the apps page). */
function reviewAddress(path: string, values: FormValues): string {
  const address = `${path}?${new URLSearchParams(values).toString()}`;
  return address.length <= REVIEW_ADDRESS_MAX_LENGTH ? address : APPS.href;
}

export function registerAdminAppPages(
  app: FastifyInstance,
  kit: PageKit,
  requireAdmin: (request: FastifyRequest, reply: FastifyReply) => SignedIn | null,
): void {
  const sealSecret = (reply: FastifyReply, admin: SignedIn, appId: string, secret: string) => {
    const sealed = encryptSecret(
      kit.deps.keys,
      JSON.stringify({ secret, showUntil: kit.deps.now() + SECRET_COOKIE_MAX_AGE_IN_SECONDS * 1000 }),
      secretPlace(admin, appId),
    );
    kit.cookies.set(reply, COOKIE.appSecret, sealed, SECRET_COOKIE_MAX_AGE_IN_SECONDS);
  };

  const openSecret = (request: FastifyRequest, admin: SignedIn, appId: string): string | null => {
    const sealed = kit.cookies.read(request, COOKIE.appSecret);
    if (!sealed) return null;
    try {
      const opened = JSON.parse(decryptSecret(kit.deps.keys, sealed, secretPlace(admin, appId))) as { secret: string; showUntil: number };
      return opened.showUntil > kit.deps.now() ? opened.secret : null;
    } catch {
      return null;
    }
  };

  /** The add form, or an app's edit form (whose type is fixed). */
  const appForm = (t: Translator, csrf: string, action: string, values: FormValues, failure: Failure | null, existing: RegisteredApp | null): Html => {
    const error = (name: string) => (failure && failure.field === name ? messageFor(failure, t) : null);
    const type = existing?.type ?? null;
    const oidc = type === null || type !== 'proxy';
    const proxy = type === null || type === 'proxy';
    const strengths = ACR_VALUES.filter((acr) => acr !== ACR.password || values.required_acr === ACR.password);
    return html`<form method="post" action="${action}" novalidate>
      ${csrfField(csrf)}
      ${field({ name: 'name', label: t.t('apps.form.name'), value: values.name, maxlength: 100, autocomplete: 'off', hint: t.t('apps.form.nameHint'), error: error('name') })}
      ${
        type === null
          ? html`<fieldset${error('type') ? html` class="has-error" aria-describedby="type-error"` : ''}>
              <legend>${t.t('apps.form.type')}</legend>
              ${error('type') ? html`<p class="error" id="type-error">${error('type')}</p>` : ''}
              ${(['confidential', 'public', 'proxy'] as const).map(
                (option) =>
                  html`<label class="checkbox"
                    ><input type="radio" name="type" value="${option}"${values.type === option ? html` checked` : ''}> ${typeName(t, option)} —
                    ${typeExplanation(t, option)}</label
                  >`,
              )}
            </fieldset>`
          : ''
      }
      ${
        oidc
          ? html`${textareaField({ name: 'redirect_uris', label: t.t(type === null ? 'apps.form.redirectUrisNew' : 'apps.form.redirectUris'), value: values.redirect_uris, rows: 3, hint: t.t('apps.form.redirectUrisHint'), error: error('redirect_uris') })}
            ${textareaField({ name: 'post_logout_redirect_uris', label: t.t('apps.form.postLogout'), value: values.post_logout_redirect_uris, rows: 2, hint: t.t('apps.form.postLogoutHint'), error: error('post_logout_redirect_uris') })}
            ${field({ name: 'backchannel_logout_uri', label: t.t('apps.form.backchannel'), value: values.backchannel_logout_uri, required: false, autocomplete: 'off', hint: t.t('apps.form.backchannelHint'), error: error('backchannel_logout_uri') })}
            <label class="checkbox"><input type="checkbox" name="first_party" value="1"${values.first_party === '1' ? html` checked` : ''}> ${t.t('apps.form.firstParty')}</label>
            <p class="hint">${t.t('apps.form.firstPartyHint')}</p>`
          : ''
      }
      ${
        proxy
          ? field({
              name: 'host',
              label: t.t(type === null ? 'apps.form.hostNew' : 'apps.form.host'),
              value: values.host,
              required: false,
              autocomplete: 'off',
              hint: t.t('apps.form.hostHint'),
              error: error('host'),
            })
          : ''
      }
      <fieldset${error('allowed_roles') ? html` class="has-error" aria-describedby="roles-error"` : ''}>
        <legend>${t.t('apps.form.who')}</legend>
        ${error('allowed_roles') ? html`<p class="error" id="roles-error">${error('allowed_roles')}</p>` : ''}
        ${ROLES.map(
          (role) =>
            html`<label class="checkbox"><input type="checkbox" name="role_${role}" value="1"${values[`role_${role}`] === '1' ? html` checked` : ''}> ${t.t('apps.roles.name', { role })}</label>`,
        )}
      </fieldset>
      <div class="field${error('required_acr') ? ' has-error' : ''}">
        <label for="field-required_acr">${t.t('apps.form.strength')}</label>
        ${error('required_acr') ? html`<p class="error" id="field-required_acr-error">${error('required_acr')}</p>` : ''}
        <select id="field-required_acr" name="required_acr">
          <option value=""${values.required_acr === '' ? html` selected` : ''}>${t.t('apps.strength.any')}</option>
          ${strengths.map((acr) => html`<option value="${acr}"${values.required_acr === acr ? html` selected` : ''}>${t.t(`apps.strength.${STRENGTH_KEYS[acr]}`)}</option>`)}
        </select>
      </div>
      <button type="submit" class="primary">${t.t(existing ? 'adminSecurity.review' : 'apps.form.reviewAndAdd')}</button>
    </form>`;
  };

  const appsPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    admin: SignedIn,
    options: { notice?: { kind: 'success' | 'error'; text: string } | null; failure?: Failure | null; values?: FormValues; status?: number } = {},
  ) => {
    const t = request.i18n;
    const apps = await listApps(kit.deps, adminAppManager(admin));
    const failure = options.failure ?? null;
    const csrf = kit.csrfToken(request, reply);
    return kit.send(
      request,
      reply,
      {
        title: t.t('layout.nav.apps'),
        current: 'admin-apps',
        notice: options.notice ?? (failure && !isAboutTheApp(failure) ? { kind: 'error', text: messageFor(failure, t) } : null),
        body: html`<h1>${t.t('apps.heading', { account: admin.account.name })}</h1>
          <p>${t.t('apps.intro')}</p>
          <section class="card" aria-labelledby="apps-heading">
            <h2 id="apps-heading">${t.t('layout.nav.apps')}</h2>
            ${
              apps.length === 0
                ? html`<p class="muted">${t.t('apps.none')}</p>`
                : html`<div class="table-wrap">
                    <table>
                      <thead>
                        <tr>
                          <th scope="col">${t.t('apps.column.app')}</th>
                          <th scope="col">${t.t('apps.form.type')}</th>
                          <th scope="col">${t.t('apps.column.clientId')}</th>
                          <th scope="col">${t.t('apps.column.uris')}</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${apps.map(
                          (registered) =>
                            html`<tr>
                              <th scope="row"><a href="/admin/apps/${registered.id}">${registered.name}</a></th>
                              <td data-label="${t.t('apps.form.type')}">${typeName(t, registered.type)}</td>
                              <td data-label="${t.t('apps.column.clientId')}"><span class="mono">${registered.type === 'proxy' ? '—' : registered.id}</span></td>
                              <td data-label="${t.t('apps.column.uris')}">
                                ${registered.type === 'proxy' ? html`<span class="mono">${registered.host ?? ''}</span>` : registered.redirectUris.map((uri) => html`<span class="mono">${uri}</span><br />`)}
                              </td>
                            </tr>`,
                        )}
                      </tbody>
                    </table>
                  </div>`
            }
          </section>
          <section class="card" aria-labelledby="add-heading">
            <h2 id="add-heading">${t.t('apps.add')}</h2>
            ${appForm(t, csrf, '/admin/apps', options.values ?? NEW_APP_VALUES, failure, null)}
          </section>`,
      },
      options.status ?? 200,
    );
  };

  const notFound = (request: FastifyRequest, reply: FastifyReply) =>
    kit.send(
      request,
      reply,
      {
        title: request.i18n.t('adminHelp.notFound'),
        current: 'admin-apps',
        notice: { kind: 'error', text: messageFor({ code: 'app_not_found' }, request.i18n) },
        body: html`<p><a href="/admin/apps">← ${request.i18n.t('layout.nav.apps')}</a></p>`,
      },
      404,
    );

  /** One app: how to connect it, its settings, and its actions. */
  const appPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    admin: SignedIn,
    appId: string,
    options: {
      notice?: { kind: 'success' | 'error'; text: string } | null;
      failure?: Failure | null;
      values?: FormValues;
      shown?: { secret: string | null } | null;
      status?: number;
    } = {},
  ) => {
    const found = await getApp(kit.deps, adminAppManager(admin), appId);
    if (!found.ok) return notFound(request, reply);
    const registered = found.value;
    const t = request.i18n;
    const csrf = kit.csrfToken(request, reply);
    const failure = options.failure ?? null;
    const discovery = `${kit.deps.config.baseUrl}/.well-known/openid-configuration`;
    const oidc = registered.type !== 'proxy';
    return kit.send(
      request,
      reply,
      {
        title: registered.name,
        current: 'admin-apps',
        notice: options.notice ?? (failure && !isAboutTheApp(failure) ? { kind: 'error', text: messageFor(failure, t) } : null),
        body: html`<p><a href="/admin/apps">← ${t.t('layout.nav.apps')}</a></p>
          <h1>${registered.name}</h1>
          <p>${t.t('apps.app.summary', { type: typeName(t, registered.type), explanation: typeExplanation(t, registered.type), added: t.moment(registered.createdAt) })}</p>
          ${
            options.shown && options.shown.secret !== null
              ? html`<section class="card" aria-labelledby="secret-heading">
                  <h2 id="secret-heading">${t.t('apps.app.secretHeading')}</h2>
                  <p>${t.t('apps.app.secretText', { name: registered.name })}</p>
                  <p>
                    <span class="secret" id="client-secret">${options.shown.secret}</span>
                    <button type="button" data-copy-target="client-secret">${t.t('adminHelp.copy')}</button>
                  </p>
                </section>`
              : ''
          }
          ${
            oidc
              ? html`<section class="card" aria-labelledby="connect-heading">
                  <h2 id="connect-heading">${t.t('apps.app.connecting', { name: registered.name })}</h2>
                  <p>
                    ${t.t('apps.column.clientId')}<br /><span class="secret" id="client-id">${registered.id}</span>
                    <button type="button" data-copy-target="client-id">${t.t('adminHelp.copy')}</button>
                  </p>
                  <p>
                    ${t.t('apps.app.discovery')}<br /><span class="secret" id="discovery-url">${discovery}</span>
                    <button type="button" data-copy-target="discovery-url">${t.t('adminHelp.copy')}</button>
                  </p>
                  <p class="hint">${t.t(registered.type === 'confidential' ? 'apps.app.provesWithSecret' : 'apps.app.usesPkce')}</p>
                </section>`
              : html`<section class="card" aria-labelledby="connect-heading">
                  <h2 id="connect-heading">${t.t('apps.app.guardedHost')}</h2>
                  <p><span class="secret">${registered.host ?? ''}</span></p>
                  <p class="hint">${t.t('apps.app.guardedHostHint')}</p>
                </section>`
          }
          <section class="card" aria-labelledby="edit-heading">
            <h2 id="edit-heading">${t.t('apps.app.settings')}</h2>
            ${appForm(t, csrf, `/admin/apps/${registered.id}`, options.values ?? valuesOf(registered), failure, registered)}
          </section>
          ${
            registered.type === 'confidential'
              ? html`<section class="card" aria-labelledby="rotate-heading">
                  <h2 id="rotate-heading">${t.t('apps.app.newSecret')}</h2>
                  <p>${t.t('apps.app.newSecretText')}</p>
                  <form method="get" action="/admin/apps/${registered.id}/secret">
                    <button type="submit">${t.t('apps.app.newSecret')}</button>
                  </form>
                </section>`
              : ''
          }
          <section class="card" aria-labelledby="remove-heading">
            <h2 id="remove-heading">${t.t('apps.remove.heading', { name: registered.name })}</h2>
            <p>${t.t('apps.app.removeText')}</p>
            <form method="get" action="/admin/apps/${registered.id}/delete">
              <button type="submit" class="danger">${t.t('apps.remove.submit')}</button>
            </form>
          </section>`,
      },
      options.status ?? 200,
    );
  };

  // -------------------------------------------------------------------------------
  // Adding an app: the form, its review, then the confirmed POST.

  const reviewNewApp = async (request: FastifyRequest, reply: FastifyReply, admin: SignedIn, values: FormValues, failure: Failure | null) => {
    const checked = await checkAppToCreate(kit.deps, fieldsFrom(values, null));
    if (!checked.ok) return appsPage(request, reply, admin, { failure: checked.failure, values, status: statusOf(checked.failure) });
    const review: AdminActionReview = {
      heading: request.i18n.t('apps.new.heading', { name: checked.value.name }),
      explanation: describeNewApp(request.i18n, checked.value),
      action: '/admin/apps',
      hidden: values,
      submitLabel: request.i18n.t('apps.new.submit'),
      back: reviewAddress('/admin/apps/review', values),
      section: APPS,
    };
    return reviewAdminAction(kit, request, reply, admin, review, failure);
  };

  app.get('/admin/apps', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    const done = (request.query as Record<string, unknown>).done;
    return appsPage(request, reply, admin, {
      notice: done === 'deleted' ? { kind: 'success', text: request.i18n.t('apps.notice.deleted') } : null,
    });
  });

  // The review again, after "Text me a code" (its form travels in the address).
  app.get('/admin/apps/review', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    return reviewNewApp(request, reply, admin, valuesFrom(request.query), null);
  });

  app.post('/admin/apps', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    const values = valuesFrom(request.body);
    if (!carriesConfirmation(request.body)) return reviewNewApp(request, reply, admin, values, null);
    const result = await createApp(
      kit.deps,
      adminAppManager(admin),
      { ...fieldsFrom(values, null), reason: formString(request.body, 'reason'), confirmation: formConfirmation(request.body) },
      requestContext(request),
    );
    if (!result.ok)
      return isAboutTheApp(result.failure)
        ? appsPage(request, reply, admin, { failure: result.failure, values, status: statusOf(result.failure) })
        : reviewNewApp(request, reply, admin, values, result.failure);
    if (result.value.clientSecret !== null) sealSecret(reply, admin, result.value.app.id, result.value.clientSecret);
    return reply.redirect(`/admin/apps/${encodeURIComponent(result.value.app.id)}?done=created`, 303);
  });

  // -------------------------------------------------------------------------------
  // One app: its page, a change, a new secret, its removal.

  app.get('/admin/apps/:id', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    const appId = (request.params as { id: string }).id;
    const done = (request.query as Record<string, unknown>).done;
    if (done === 'created' || done === 'secret') {
      // The secret is shown from its sealed cookie once; a reload shows it no more.
      const secret = openSecret(request, admin, appId);
      kit.cookies.clear(reply, COOKIE.appSecret);
      const found = await getApp(kit.deps, adminAppManager(admin), appId);
      const expectsSecret = found.ok && found.value.type === 'confidential';
      const notice =
        expectsSecret && secret === null
          ? { kind: 'error' as const, text: request.i18n.t('apps.notice.secretGone') }
          : { kind: 'success' as const, text: request.i18n.t(done === 'created' ? 'apps.notice.created' : 'apps.notice.secret') };
      return appPage(request, reply, admin, appId, { notice, shown: { secret } });
    }
    return appPage(request, reply, admin, appId, { notice: done === 'updated' ? { kind: 'success', text: request.i18n.t('apps.notice.updated') } : null });
  });

  const reviewChange = async (request: FastifyRequest, reply: FastifyReply, admin: SignedIn, appId: string, values: FormValues, failure: Failure | null) => {
    const found = await getApp(kit.deps, adminAppManager(admin), appId);
    if (!found.ok) return notFound(request, reply);
    const checked = await checkAppToUpdate(kit.deps, adminAppManager(admin), appId, fieldsFrom(values, found.value.type));
    if (!checked.ok) return appPage(request, reply, admin, appId, { failure: checked.failure, values, status: statusOf(checked.failure) });
    const path = `/admin/apps/${encodeURIComponent(appId)}`;
    return reviewAdminAction(
      kit,
      request,
      reply,
      admin,
      {
        heading: request.i18n.t('apps.change.heading', { name: checked.value.app.name }),
        explanation: describeChange(request.i18n, checked.value.app, checked.value.settings),
        action: path,
        hidden: values,
        submitLabel: request.i18n.t('apps.change.submit'),
        back: reviewAddress(`${path}/review`, values),
        section: APPS,
      },
      failure,
    );
  };

  app.get('/admin/apps/:id/review', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin) return reply;
    return reviewChange(request, reply, admin, (request.params as { id: string }).id, valuesFrom(request.query), null);
  });

  app.post('/admin/apps/:id', async (request, reply) => {
    const admin = requireAdmin(request, reply);
    if (!admin || !kit.checkCsrf(request, reply)) return reply;
    const appId = (request.params as { id: string }).id;
    const values = valuesFrom(request.body);
    if (!carriesConfirmation(request.body)) return reviewChange(request, reply, admin, appId, values, null);
    const found = await getApp(kit.deps, adminAppManager(admin), appId);
    if (!found.ok) return notFound(request, reply);
    const result = await updateApp(
      kit.deps,
      adminAppManager(admin),
      appId,
      { ...fieldsFrom(values, found.value.type), reason: formString(request.body, 'reason'), confirmation: formConfirmation(request.body) },
      requestContext(request),
    );
    if (!result.ok) {
      if (result.failure.code === 'app_not_found') return notFound(request, reply);
      return isAboutTheApp(result.failure)
        ? appPage(request, reply, admin, appId, { failure: result.failure, values, status: statusOf(result.failure) })
        : reviewChange(request, reply, admin, appId, values, result.failure);
    }
    return reply.redirect(`/admin/apps/${encodeURIComponent(appId)}?done=updated`, 303);
  });

  /** A confirmed action on one app with nothing to type but the reason: GET reviews it,
   * POST (with the reason and the admin's confirmation) does it. */
  const confirmedAppAction = (
    path: string,
    describe: (registered: RegisteredApp, t: Translator) => Omit<AdminActionReview, 'action' | 'back' | 'hidden' | 'section'> | null,
    act: (admin: SignedIn, registered: RegisteredApp, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | { failure: Failure }>,
  ) => {
    const review = async (request: FastifyRequest, reply: FastifyReply, admin: SignedIn, failure: Failure | null) => {
      const appId = (request.params as { id: string }).id;
      const found = await getApp(kit.deps, adminAppManager(admin), appId);
      if (!found.ok) return notFound(request, reply);
      const described = describe(found.value, request.i18n);
      if (!described) return appPage(request, reply, admin, appId, { failure: { code: 'invalid_request', message: 'This app has no secret.' }, status: 400 });
      const action = `/admin/apps/${encodeURIComponent(appId)}/${path}`;
      return reviewAdminAction(kit, request, reply, admin, { ...described, action, back: action, hidden: {}, section: APPS }, failure);
    };
    app.get(`/admin/apps/:id/${path}`, async (request, reply) => {
      const admin = requireAdmin(request, reply);
      if (!admin) return reply;
      return review(request, reply, admin, null);
    });
    app.post(`/admin/apps/:id/${path}`, async (request, reply) => {
      const admin = requireAdmin(request, reply);
      if (!admin || !kit.checkCsrf(request, reply)) return reply;
      const found = await getApp(kit.deps, adminAppManager(admin), (request.params as { id: string }).id);
      if (!found.ok) return notFound(request, reply);
      const outcome = await act(admin, found.value, request, reply);
      if ('failure' in outcome) return outcome.failure.code === 'app_not_found' ? notFound(request, reply) : review(request, reply, admin, outcome.failure);
      return outcome;
    });
  };

  const change = (request: FastifyRequest) => ({ reason: formString(request.body, 'reason'), confirmation: formConfirmation(request.body) });

  confirmedAppAction(
    'secret',
    (registered, t) =>
      registered.type === 'confidential'
        ? {
            heading: t.t('apps.secret.heading', { name: registered.name }),
            explanation: t.t('apps.secret.explanation', { name: registered.name }),
            submitLabel: t.t('apps.app.newSecret'),
          }
        : null,
    async (admin, registered, request, reply) => {
      const result = await updateApp(kit.deps, adminAppManager(admin), registered.id, { rotate_secret: true, ...change(request) }, requestContext(request));
      if (!result.ok) return { failure: result.failure };
      if (result.value.clientSecret !== null) sealSecret(reply, admin, registered.id, result.value.clientSecret);
      return reply.redirect(`/admin/apps/${encodeURIComponent(registered.id)}?done=secret`, 303);
    },
  );
  confirmedAppAction(
    'delete',
    (registered, t) => ({
      heading: t.t('apps.remove.heading', { name: registered.name }),
      explanation: t.t('apps.remove.explanation', { name: registered.name, secret: registered.type === 'confidential' ? 'yes' : 'no' }),
      submitLabel: t.t('apps.remove.submit'),
      danger: true,
    }),
    async (admin, registered, request, reply) => {
      const result = await deleteApp(kit.deps, adminAppManager(admin), registered.id, change(request), requestContext(request));
      if (!result.ok) return { failure: result.failure };
      return reply.redirect('/admin/apps?done=deleted', 303);
    },
  );
}
