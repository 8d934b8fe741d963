import { html, type Html } from '../html.js';

export interface FieldOptions {
  name: string;
  label: string;
  type?: string;
  value?: string;
  autocomplete?: string;
  required?: boolean;
  hint?: string;
  error?: string | null;
  inputmode?: string;
  autofocus?: boolean;
  pattern?: string;
  maxlength?: number;
  minlength?: number;
  /** The input's id, where one page has two forms with a field of the same name. */
  id?: string;
}

/** A labelled input with its hint and its error right beside it, tied by aria-describedby. */
export function field(options: FieldOptions): Html {
  const id = options.id ?? `field-${options.name}`;
  const describedBy = [options.hint ? `${id}-hint` : null, options.error ? `${id}-error` : null].filter(Boolean).join(' ');
  return html`<div class="field${options.error ? ' has-error' : ''}">
  <label for="${id}">${options.label}</label>
  ${options.hint ? html`<p class="hint" id="${id}-hint">${options.hint}</p>` : ''}
  ${options.error ? html`<p class="error" id="${id}-error">${options.error}</p>` : ''}
  <input id="${id}" name="${options.name}" type="${options.type ?? 'text'}"${options.value !== undefined ? html` value="${options.value}"` : ''}${
    options.autocomplete ? html` autocomplete="${options.autocomplete}"` : ''
  }${options.required === false ? '' : html` required`}${options.inputmode ? html` inputmode="${options.inputmode}"` : ''}${
    options.autofocus ? html` autofocus` : ''
  }${options.pattern ? html` pattern="${options.pattern}"` : ''}${options.maxlength ? html` maxlength="${String(options.maxlength)}"` : ''}${
    options.minlength ? html` minlength="${String(options.minlength)}"` : ''
  }${describedBy ? html` aria-describedby="${describedBy}"` : ''}${options.error ? html` aria-invalid="true"` : ''}>
</div>`;
}

/** A labelled multi-line input (one value a line), with its hint and error beside it. */
export function textareaField(options: { name: string; label: string; value: string; hint?: string; error?: string | null; rows?: number }): Html {
  const id = `field-${options.name}`;
  const describedBy = [options.hint ? `${id}-hint` : null, options.error ? `${id}-error` : null].filter(Boolean).join(' ');
  return html`<div class="field${options.error ? ' has-error' : ''}">
  <label for="${id}">${options.label}</label>
  ${options.hint ? html`<p class="hint" id="${id}-hint">${options.hint}</p>` : ''}
  ${options.error ? html`<p class="error" id="${id}-error">${options.error}</p>` : ''}
  <textarea id="${id}" name="${options.name}" rows="${String(options.rows ?? 3)}" spellcheck="false" autocomplete="off"${
    describedBy ? html` aria-describedby="${describedBy}"` : ''
  }${options.error ? html` aria-invalid="true"` : ''}>${options.value}</textarea>
</div>`;
}

export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

/** Reads one string field from a urlencoded form; a repeated or missing field is ''.
 * Longer values are cut at maxLength (a security key's credential JSON needs more). */
export function formString(body: unknown, name: string, maxLength = 4096): string {
  if (typeof body !== 'object' || body === null) return '';
  const value = (body as Record<string, unknown>)[name];
  if (typeof value !== 'string' || /[\u0000\p{Cs}]/u.test(value)) return '';
  return value.slice(0, maxLength);
}

/** The `code` of a passcode or confirmation form: with a security key it carries the
 * browser's signed assertion as JSON, longer than any typed code. */
export function formCode(body: unknown): string {
  return formString(body, 'code', 16_384);
}

/** A confirmation's `method` and `code` as a form posts them. */
export function formConfirmation(body: unknown): { method: string; code: string } {
  return { method: formString(body, 'method'), code: formCode(body) };
}

/** Only same-site paths may be redirect targets (no open redirect), and only printable
 * ASCII ones: a control character, a space, U+2028 or any other non-ASCII character
 * cannot stand in a Location header. Any length: the sign-in flow keeps it, and the
 * HTTP server's header limit bounds what can arrive. */
export function safeNextPath(raw: unknown): string | null {
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return null;
  if (!/^[\x21-\x7e]+$/.test(raw)) return null;
  return raw;
}

/** A labelled drop-down; each option may name its own `lang` (a language named in itself). */
export function selectField(options: {
  name: string;
  label: string;
  value: string;
  choices: { value: string; label: string; lang?: string }[];
  hint?: string;
  attributes?: Html;
}): Html {
  const id = `field-${options.name}`;
  return html`<div class="field">
  <label for="${id}">${options.label}</label>
  ${options.hint ? html`<p class="hint" id="${id}-hint">${options.hint}</p>` : ''}
  <select id="${id}" name="${options.name}"${options.hint ? html` aria-describedby="${id}-hint"` : ''}${options.attributes ?? ''}>
    ${options.choices.map(
      (choice) =>
        html`<option value="${choice.value}"${choice.lang ? html` lang="${choice.lang}"` : ''}${choice.value === options.value ? html` selected` : ''}>${choice.label}</option>`,
    )}
  </select>
</div>`;
}
