// Text-message passcodes over the API: texting a code for a sign-in challenge, turning
// SMS on (or changing the number), texting a code for a confirmation. A code is never
// part of an answer.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServiceDeps } from '../../../services/deps.js';
import { enrolledPhone, pendingSmsEnrolment, resendSmsEnrolmentCode, startSmsEnrolment, verifySmsEnrolment } from '../../../services/sms-enrolment.js';
import { sendConfirmationCode, sendSignInCode, signInCodeStatus, type SmsCodeSent, type SmsCodeState } from '../../../services/sms-sending.js';
import { sendApiFailure } from '../../errors.js';
import { requestContext } from '../../request-context.js';
import { signedInOf } from '../../api/authenticated.js';
import { enrolmentDoneBody, iso } from '../../api/outcomes.js';
import { Code, ConfirmationMethod, EnrolmentDoneAnswer, ErrorAnswers, NullableTimestamp, Timestamp, Token, bearerSecurity } from '../../api/schemas.js';

const Phone = Type.String({ minLength: 1, maxLength: 64, description: 'International (+44 7911 123456) or national in `country`' });
const Country = Type.String({ minLength: 2, maxLength: 2, description: 'ISO 3166-1 alpha-2; defaults to the account country' });

const MaskedPhone = Type.String({ description: 'The number with all but its last digits hidden.' });
const Delivery = Type.Union([Type.Literal('none'), Type.Literal('queued'), Type.Literal('sent'), Type.Literal('retrying'), Type.Literal('failed')], {
  description: 'Whether the text has gone out: `failed` means use another method.',
});
const SmsSentFields = {
  status: Type.Literal('sent'),
  phone: MaskedPhone,
  resend_after_seconds: Type.Integer(),
  expires_at: Timestamp,
};
const SmsSentAnswer = Type.Object(SmsSentFields);
const SmsStatusAnswer = Type.Object({ phone: MaskedPhone, sent_at: NullableTimestamp, resend_after_seconds: Type.Integer(), delivery: Delivery });
const SmsNumbersAnswer = Type.Object({
  enrolled: Type.Union([Type.Object({ phone: MaskedPhone }), Type.Null()]),
  pending: Type.Union([
    Type.Object({
      phone: MaskedPhone,
      resend_after_seconds: Type.Integer(),
      delivery: Delivery,
      expires_at: Timestamp,
      replaces_number: Type.Boolean(),
    }),
    Type.Null(),
  ]),
});

function sentBody(sent: SmsCodeSent): Record<string, unknown> {
  return { status: 'sent', phone: sent.phoneMasked, resend_after_seconds: sent.resendAfterSeconds, expires_at: iso(sent.expiresAt) };
}

function stateBody(state: SmsCodeState): Record<string, unknown> {
  return { phone: state.phoneMasked, sent_at: iso(state.sentAt), resend_after_seconds: state.resendAfterSeconds, delivery: state.delivery };
}

/** Second-factor endpoints of a sign-in: like /sign-in/two-factor, they take the
 * challenge token, and nothing else does. */
export function registerSignInSmsRoutes(app: FastifyInstance, deps: ServiceDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/api/v1/sign-in/sms',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'Text a passcode for this sign-in to the enrolled phone number',
        response: { 200: SmsSentAnswer, ...ErrorAnswers },
        description:
          'The first text of a challenge is always allowed (within the quotas); another one after 30 seconds (429 with `Retry-After` before that). A new code voids the previous one. Past a quota: 429 `sms_rate_limited` and nothing is sent.',
        body: Type.Object({ challenge_token: Token }),
      },
    },
    async (request, reply) => {
      const result = await sendSignInCode(deps, request.body.challenge_token, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return sentBody(result.value);
    },
  );

  api.post(
    '/api/v1/sign-in/sms/status',
    {
      schema: {
        tags: ['sign-in'],
        summary: 'Whether the texted passcode of this sign-in has gone out',
        response: { 200: SmsStatusAnswer, ...ErrorAnswers },
        description:
          '`delivery`: `none` (nothing texted yet), `queued`, `sent`, `retrying` (the provider failed so far; we keep trying) or `failed` (we could not send a text: use the app or a recovery code).',
        body: Type.Object({ challenge_token: Token }),
      },
    },
    async (request, reply) => {
      const result = await signInCodeStatus(deps, request.body.challenge_token);
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return stateBody(result.value);
    },
  );
}

export function registerTextMessageRoutes(scope: FastifyInstance, deps: ServiceDeps): void {
  const api = scope.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/api/v1/me/two-factor/sms',
    {
      config: { allowSetupSession: true },
      schema: {
        tags: ['two-factor'],
        summary: 'Your enrolled phone number and the one being verified, masked',
        security: bearerSecurity,
        response: { 200: SmsNumbersAnswer, ...ErrorAnswers },
      },
    },
    async (request) => {
      const signedIn = signedInOf(request);
      const enrolled = await enrolledPhone(deps, signedIn.user);
      const pending = await pendingSmsEnrolment(deps, signedIn);
      return {
        enrolled: enrolled ? { phone: enrolled.phoneMasked } : null,
        pending: pending
          ? {
              phone: pending.phoneMasked,
              resend_after_seconds: pending.resendAfterSeconds,
              delivery: pending.delivery,
              expires_at: iso(pending.expiresAt),
              replaces_number: pending.replacesNumber,
            }
          : null,
      };
    },
  );

  api.post(
    '/api/v1/me/two-factor/sms',
    {
      config: { allowSetupSession: true },
      schema: {
        tags: ['two-factor'],
        summary: 'Start turning on text messages (or changing the number): texts a code to the number',
        response: { 200: Type.Object({ ...SmsSentFields, replaces_number: Type.Boolean() }), ...ErrorAnswers },
        description:
          'The number is validated and kept as E.164. When two-factor authentication is already on, this adds a factor: give a confirmation (`method` and `code`, a current passcode or a recovery code). Finish with /verify within 15 minutes. Text messages are the weaker method (NIST SP 800-63B-4 calls SMS "restricted"): prefer an authenticator app.',
        security: bearerSecurity,
        body: Type.Object({ phone: Phone, country: Type.Optional(Country), method: Type.Optional(ConfirmationMethod), code: Type.Optional(Code) }),
      },
    },
    async (request, reply) => {
      const { phone, country, method, code } = request.body;
      const result = await startSmsEnrolment(
        deps,
        signedInOf(request),
        { phone, country, confirmation: method !== undefined || code !== undefined ? { method, code } : undefined },
        requestContext(request),
      );
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return { ...sentBody(result.value), replaces_number: result.value.replacesNumber };
    },
  );

  api.post(
    '/api/v1/me/two-factor/sms/resend',
    {
      config: { allowSetupSession: true },
      schema: {
        tags: ['two-factor'],
        summary: 'Text a new code to the number being verified (after 30 seconds; the previous code stops working)',
        response: { 200: SmsSentAnswer, ...ErrorAnswers },
        security: bearerSecurity,
      },
    },
    async (request, reply) => {
      const result = await resendSmsEnrolmentCode(deps, signedInOf(request), requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return sentBody(result.value);
    },
  );

  api.post(
    '/api/v1/me/two-factor/sms/verify',
    {
      config: { allowSetupSession: true },
      schema: {
        tags: ['two-factor'],
        summary: 'Finish turning on text messages with the texted code',
        response: { 200: EnrolmentDoneAnswer, ...ErrorAnswers },
        description:
          'Answers `recovery_codes` (shown once) when this is the first factor, and a new full `session_token` when it completes a setup-only session. A new number replaces the old one.',
        security: bearerSecurity,
        body: Type.Object({ code: Code }),
      },
    },
    async (request, reply) => {
      const result = await verifySmsEnrolment(deps, signedInOf(request), request.body.code, requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return enrolmentDoneBody(result.value);
    },
  );

  api.post(
    '/api/v1/me/two-factor/sms/send',
    {
      schema: {
        tags: ['two-factor'],
        summary: 'Text a code to your enrolled number, for a confirmation with method "sms"',
        response: { 200: SmsSentAnswer, ...ErrorAnswers },
        description: 'Another text after 30 seconds; the previous code stops working. Past a quota: 429 `sms_rate_limited`.',
        security: bearerSecurity,
      },
    },
    async (request, reply) => {
      const result = await sendConfirmationCode(deps, signedInOf(request), requestContext(request));
      if (!result.ok) return sendApiFailure(reply, result.failure);
      return sentBody(result.value);
    },
  );
}
