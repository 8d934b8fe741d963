// What every factor's enrolment ends with: the full session swapped in when a
// setup-only one finished, and the recovery codes shown once when it was the first factor.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SignedIn } from '../../services/sessions.js';
import type { EnrolmentDone } from '../../services/two-factor.js';
import { html, type Html } from '../html.js';
import type { PageKit } from './kit.js';

export function recoveryCodesFileName(productName: string, accountSlug: string): string {
  const safe = (value: string) => value.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'tessera';
  return `${safe(productName)}-${safe(accountSlug)}-recovery-codes.txt`;
}

function recoveryCodesText(productName: string, signedIn: SignedIn, codes: string[]): string {
  return [
    `${productName} recovery codes for ${signedIn.user.email} (${signedIn.account.name})`,
    '',
    'Each code works once, wherever a passcode is asked. Keep them somewhere safe.',
    '',
    ...codes,
    '',
  ].join('\n');
}

/** Shown once, right after they were made: download, copy, print, and "I have saved these".
 * `done` is the Security settings notice to show after (what was just turned on). */
export function recoveryCodesBody(kit: PageKit, signedIn: SignedIn, codes: string[], heading: string, done: string | null = null): Html {
  const text = recoveryCodesText(kit.productName, signedIn, codes);
  const download = `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`;
  // role="list": Safari drops a list's semantics once its markers are styled away.
  return html` <h1 id="codes-heading">${heading}</h1>
    <section class="card" aria-labelledby="codes-heading">
      <p>If you lose your phone, a recovery code lets you sign in. Each code works once. This is the only time they are shown.</p>
      <ol class="codes" id="recovery-codes" role="list">
        ${codes.map((code) => html`<li><code>${code}</code></li>`)}
      </ol>
      <div class="actions">
        <a class="button" href="${download}" download="${recoveryCodesFileName(kit.productName, signedIn.account.slug)}">Download</a>
        <button type="button" data-copy-target="recovery-codes">Copy</button>
        <button type="button" data-print>Print</button>
      </div>
      <form method="get" action="/profile/security">
        ${done ? html`<input type="hidden" name="done" value="${done}" />` : ''}
        <label class="checkbox"
          ><input type="checkbox" name="saved" value="1" required data-enables="codes-continue" /> I have saved these recovery codes</label
        >
        <button type="submit" class="primary" id="codes-continue">Continue</button>
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
    title: 'Save your recovery codes',
    current: 'security',
    notice: { kind: 'success', text: 'Two-factor authentication is on.' },
    // What the factor's own page would have said ("Your passkey is added…") waits
    // until the codes are saved.
    body: recoveryCodesBody(
      kit,
      request.signedIn ?? signedIn,
      done.recoveryCodes,
      'Save your recovery codes',
      new URLSearchParams(backTo.split('?')[1] ?? '').get('done'),
    ),
  });
}
