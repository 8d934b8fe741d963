import { twoFactorSummary } from '../../services/profile.js';
import type { SignedIn } from '../../services/sessions.js';
import { html, type Html } from '../html.js';
import type { PageKit } from './kit.js';

/** The "Two-factor authentication" card of Security settings. */
export async function twoFactorSection(kit: PageKit, signedIn: SignedIn, _csrf: string): Promise<Html> {
  const summary = await twoFactorSummary(kit.deps.db, signedIn.user, kit.deps.now());
  return html`<section class="card" aria-labelledby="two-factor-heading">
  <h2 id="two-factor-heading">Two-factor authentication</h2>
  <p>${summary.enabled ? 'On.' : 'Off.'}</p>
</section>`;
}
