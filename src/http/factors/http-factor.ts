// What a second factor declares to plug into the http layer (DESIGN.md, "Factors plug
// in"), the page-side twin of services/factors/factor-module.ts: its card in the
// method chooser, its rows in Security settings, its part of the passcode page and of
// confirmations, its notices, and its own pages and JSON API routes. The screens and
// app.ts loop over the registry (registry.ts); none of them names a factor.
import type { MessageKey } from '../../i18n/messages/en.js';
import type { Translator } from '../../i18n/translator.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FactorType } from '../../domain/factors.js';
import type { Result } from '../../domain/failures.js';
import type { SmsDelivery } from '../../domain/sms-codes.js';
import type { OpenChallenge } from '../../services/challenge.js';
import type { RequestContext, ServiceDeps } from '../../services/deps.js';
import type { TwoFactorSummary } from '../../services/profile.js';
import type { SignedIn } from '../../services/sessions.js';
import type { Html } from '../html.js';
import type { PageKit } from '../pages/kit.js';
import type { SecurityPage } from '../pages/security-page.js';

export interface Notice {
  kind: 'info' | 'success' | 'error';
  text: string;
}

/** What a card's failed form brings back to the chooser: its error (about the
 * confirmation, or the whole card), an error about its own field, what was typed. */
export interface CardState {
  error?: string | null;
  fieldError?: string | null;
  values?: Readonly<Record<string, string>>;
}

export interface ChooserState {
  /** The card whose form failed, and what it says now. */
  card?: CardState & { factor: FactorType };
  notice?: Notice | null;
}

/** The method chooser, shown again by a factor's page after a failed form. */
export type ChooserPage = (request: FastifyRequest, reply: FastifyReply, signedIn: SignedIn, state?: ChooserState, status?: number) => Promise<FastifyReply>;

/** The screens a factor's own pages show again with an error; passed in, so that a
 * factor never imports the screens that loop over it. */
export interface FactorScreens {
  chooser: ChooserPage;
  securityPage: SecurityPage;
}

export interface ChooserCardInput {
  kit: PageKit;
  /** The reader's language. */
  t: Translator;
  signedIn: SignedIn;
  csrf: string;
  summary: TwoFactorSummary;
  /** Adding a factor needs a confirmation first (addingFactorNeedsConfirmation). */
  confirmationNeeded: boolean;
  /** The confirmation fields for this card's form ('' when none is needed). */
  confirmation(prefix: string, error: string | null | undefined): Html | '';
  /** The account requires a phishing-resistant factor of this person before anything else. */
  phishingResistantRequired: boolean;
  state: CardState;
}

export interface SecuritySectionInput {
  kit: PageKit;
  /** The reader's language and time zone. */
  t: Translator;
  signedIn: SignedIn;
  csrf: string;
  summary: TwoFactorSummary;
  /** Whether the person has this factor. */
  enrolled: boolean;
  /** Confirmation fields for a form of this factor's own (removing a key). */
  confirmWith(prefix: string, error: string | null): Html;
  /** An error about one item of this factor (a key that could not be removed). */
  itemError: { id: string; error: string } | null;
}

export interface SecuritySectionPart {
  /** How the enrolled factor is listed ("Text messages to •••• ••• 42"); its label otherwise. */
  name?: Html | string;
  /** The link to add it (or change it) from the chooser, if offered. */
  addLink: Html | null;
  /** Shown under the links while enrolled (the list of keys). */
  details?: Html;
  /** A factor proven without a code (a key): the person is asked for it instead of a passcode, and may confirm with it. */
  askedInsteadOfPasscode?: boolean;
}

/** The code this sign-in sent by a factor (text or email), as the passcode page tells it. */
export interface SentCode {
  destination: string;
  sentAt: number | null;
  resendAfterSeconds: number;
  delivery: SmsDelivery;
}

export interface PasscodeInput {
  /** The reader's language. */
  t: Translator;
  csrf: string;
  open: OpenChallenge;
  error: string | null;
  /** The "Don't ask again on this computer" box ('' when the account trusts no computer). */
  remember: Html | '';
  /** Links to the challenge's other methods. */
  otherLinks: Html;
  sent: SentCode | null;
}

/** How a factor is offered in the confirmation of a sensitive action. */
export interface ConfirmationChoice {
  choice: MessageKey;
  /** Proven by signing (a key), not by a typed code. */
  signs?: boolean;
  /** A factor whose code Tessera sends: the small form that sends one (confirmation-fields.ts). */
  send?: { formId: string; action: string; label: MessageKey; hint: MessageKey };
}

export interface HttpFactor<Type extends FactorType = FactorType> {
  type: Type;
  /** Its card in the method chooser ('' when it has nothing to offer this person). */
  chooserCard(input: ChooserCardInput): Html | '';
  /** Its rows in the two-factor section of Security settings. */
  securitySection(input: SecuritySectionInput): Promise<SecuritySectionPart>;
  confirmation: ConfirmationChoice;
  passcode: {
    /** The passcode page's body when this factor is chosen. */
    form(input: PasscodeInput): Html;
    /** Factors whose code Tessera sends: POST /sign-in/two-factor/<type> sends one. */
    sentCode?: {
      state(kit: PageKit, open: OpenChallenge): Promise<SentCode | null>;
      send(deps: ServiceDeps, challengeToken: unknown, context: RequestContext): Promise<Result<unknown>>;
      /** The notice after "Send again". */
      sentAgain: MessageKey;
      /** Sent from the password POST when it is the person's preferred method (texts). */
      sendWhenPreferred?: boolean;
    };
  };
  /** Security settings' notices after this factor's pages: `?done=<key>`. */
  notices?: Readonly<Record<string, MessageKey>>;
  /** `?<type>=sent` on Security settings and the chooser: a code was sent for a confirmation. */
  codeSentNotice?: MessageKey;
  /** The audit log's sentences for the events this factor's use cases write: each
   * event type's message (`audit.event.<type>`). */
  auditEventSentences?: Readonly<Record<string, MessageKey>>;
  /** Its enrolment and management pages (the pages' scope: cookies, CSRF). */
  registerPages(pages: FastifyInstance, kit: PageKit, screens: FactorScreens): void;
  /** Its sign-in routes of the JSON API (they take the challenge token). */
  registerSignInRoutes?(app: FastifyInstance, deps: ServiceDeps): void;
  /** Its /api/v1/me routes (the authenticated scope). */
  registerMeRoutes(scope: FastifyInstance, deps: ServiceDeps): void;
}
