// The review step of an admin action that gives or takes power (a role change, a
// suspension, an admin's invitation, an app added, changed or removed): it says what
// will happen and asks for a reason and the admin's own confirmation, which the
// action's POST then carries.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MessageKey } from '../../i18n/messages/en.js';
import type { Failure } from '../../domain/failures.js';
import { confirmationMethods } from '../../services/confirmation.js';
import type { SignedIn } from '../../services/sessions.js';
import { messageFor } from '../errors.js';
import { html, type Html } from '../html.js';
import { confirmationFields, sendConfirmationCodeForms } from './confirmation-fields.js';
import { csrfField, field, formString } from './forms.js';
import type { PageKit } from './kit.js';
import type { PageFrame } from './layout.js';

export interface AdminActionReview {
  /** What is about to happen, as a heading ("Make Ana Agent an admin"). */
  heading: string;
  /** What it does, in a sentence or two. */
  explanation: string;
  /** Where the form posts (the action's own address). */
  action: string;
  /** The action's own fields, carried through unchanged. */
  hidden: Record<string, string>;
  submitLabel: string;
  danger?: boolean;
  /** Where "Text me a code" comes back to: this review's own address. */
  back: string;
  /** The admin page the action belongs to, for the way back and the navigation
   * (People when left out). */
  section?: ReviewSection;
}

export interface ReviewSection {
  href: string;
  /** The section's name in the navigation, read in the admin's language. */
  label: MessageKey;
  current: NonNullable<PageFrame['current']>;
}

const PEOPLE: ReviewSection = { href: '/admin/users', label: 'layout.nav.people', current: 'admin-users' };

/** Whether a posted admin form already carries its confirmation (else: review first). */
export function carriesConfirmation(body: unknown): boolean {
  return formString(body, 'method') !== '';
}

export async function reviewAdminAction(
  kit: PageKit,
  request: FastifyRequest,
  reply: FastifyReply,
  admin: SignedIn,
  review: AdminActionReview,
  failure: Failure | null = null,
): Promise<FastifyReply> {
  const t = request.i18n;
  const csrf = kit.csrfToken(request, reply);
  const methods = await confirmationMethods(kit.deps.db, admin.user, admin.account);
  const reasonError = failure?.field === 'reason' ? messageFor(failure, t) : null;
  const confirmationError = failure && failure.field !== 'reason' ? messageFor(failure, t) : null;
  const hidden: Html[] = Object.entries(review.hidden).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`);
  const section = review.section ?? PEOPLE;
  return kit.send(
    request,
    reply,
    {
      title: review.heading,
      current: section.current,
      notice: null,
      body: html` <p><a href="${section.href}">← ${t.t(section.label)}</a></p>
        ${sendConfirmationCodeForms(csrf, review.back, methods)}
        <h1>${review.heading}</h1>
        <section class="card" aria-labelledby="review-heading">
          <h2 id="review-heading" class="visually-hidden">${t.t('admin.review.confirm')}</h2>
          <p>${review.explanation}</p>
          <form method="post" action="${review.action}" novalidate>
            ${csrfField(csrf)} ${hidden}
            ${field({ name: 'reason', label: t.t('admin.review.reason'), value: formString(request.body, 'reason'), error: reasonError, maxlength: 500 })}
            ${confirmationFields({ prefix: 'review', error: confirmationError, methods: methods, t })}
            <button type="submit" class="${review.danger ? 'danger' : 'primary'}">${review.submitLabel}</button>
            <a href="${section.href}" class="button">${t.t('admin.review.cancel')}</a>
          </form>
        </section>`,
    },
    failure ? 400 : 200,
  );
}
