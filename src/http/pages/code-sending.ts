// The send button of a page that sends a code (texted or emailed), with its cooldown.
import { html, type Html } from '../html.js';

/** The "Text me a code" (or "Email me a code": `label`) / "Send again" (`sentLabel`) button, counting down the cooldown (app.js). */
export function sendButton(input: { sent: boolean; resendAfterSeconds: number; label: string; sentLabel: string }): Html {
  const label = input.sent ? input.sentLabel : input.label;
  return html`<button type="submit" data-cooldown="${String(input.resendAfterSeconds)}" data-label="${label}">${label}</button>`;
}
