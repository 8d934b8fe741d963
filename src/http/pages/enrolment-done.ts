// What every factor's enrolment ends with: the full session swapped in when a
// setup-only one finished, and the recovery codes shown once when it was the first factor.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SignedIn } from '../../services/sessions.js';
import type { EnrolmentDone } from '../../services/two-factor.js';
import { html, type Html } from '../html.js';
import type { Translator } from '../../i18n/translator.js';
import type { PageKit } from './kit.js';

export function recoveryCodesFileName(productName: string, accountSlug: string): string {
  const safe = (value: string) => value.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'tessera';
  return `${safe(productName)}-${safe(accountSlug)}-recovery-codes.txt`;
}

function recoveryCodesText(t: Translator, productName: string, signedIn: SignedIn, codes: string[]): string {
  return [
    t.t('codes.fileTitle', { product: productName, email: signedIn.user.email, account: signedIn.account.name }),
    '',
    t.t('codes.fileText'),
    '',
    ...codes,
    '',
  ].join('\n');
}

/** Shown once, right after they were made: download, copy, print, and "I have saved these".
 * `done` is the Security settings notice to show after (what was just turned on). */
export function recoveryCodesBody(t: Translator, kit: PageKit, signedIn: SignedIn, codes: string[], heading: string, done: string | null = null): Html {
  const text = recoveryCodesText(t, kit.productName, signedIn, codes);
  const download = `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`;
  // role="list": Safari drops a list's semantics once its markers are styled away.
  return html` <h1 id="codes-heading">${heading}</h1>
    <section class="card" aria-labelledby="codes-heading">
      <p>${t.t('codes.intro')}</p>
      <ol class="codes" id="recovery-codes" role="list">
        ${codes.map((code) => html`<li><code>${code}</code></li>`)}
      </ol>
      <div class="actions">
        <a class="button" href="${download}" download="${recoveryCodesFileName(kit.productName, signedIn.account.slug)}">${t.t('codes.download')}</a>
        <button type="button" data-copy-target="recovery-codes">${t.t('codes.copy')}</button>
        <button type="button" data-print>${t.t('codes.print')}</button>
      </div>
      <form method="get" action="/profile/security">
        ${done ? html`<input type="hidden" name="done" value="${done}" />` : ''}
        <label class="checkbox"
          ><input type="checkbox" name="saved" value="1" required data-enables="codes-continue" /> ${t.t('codes.saved')}</label
        >
        <button type="submit" class="primary" id="codes-continue">${t.t('common.continue')}</button>
      </form>
    </section>`;
}

/** After a factor is turned on: swap in the full session when a setup-only one
 * finished, then show the recovery codes once (first factor) or go back. */
export async function showEnrolmentDone(
  kit: PageKit,
  request: FastifyRequest,
  reply: FastifyReply,
  signedIn: SignedIn,
  done: EnrolmentDone,
  backTo: string,
): Promise<FastifyReply> {
  if (done.newSessionToken) {
    kit.setSession(reply, done.newSessionToken, done.newSessionExpiresAt);
    await kit.loadSessionFromToken(request, done.newSessionToken);
  }
  if (!done.recoveryCodes) return reply.redirect(backTo, 303);
  return kit.send(request, reply, {
    title: request.i18n.t('codes.saveTitle'),
    current: 'security',
    notice: { kind: 'success', text: request.i18n.t('codes.on') },
    // What the factor's own page would have said ("Your passkey is added…") waits
    // until the codes are saved.
    body: recoveryCodesBody(
      request.i18n,
      kit,
      request.signedIn ?? signedIn,
      done.recoveryCodes,
      request.i18n.t('codes.saveTitle'),
      new URLSearchParams(backTo.split('?')[1] ?? '').get('done'),
    ),
  });
}
