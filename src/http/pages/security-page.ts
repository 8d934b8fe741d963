// Security settings, as the pages that act on it re-render it (with an error or a notice).
import type { FactorType } from '../../domain/factors.js';
import type { PageKit } from './kit.js';

export interface SecurityPageOptions {
  twoFactorErrors?: { regenerate?: string | null; disable?: string | null };
  /** An error about one item of a factor (a key that could not be removed). */
  itemError?: { factor: FactorType; id: string; error: string };
  currentPasswordError?: string | null;
  newPasswordError?: string | null;
  notice?: { kind: 'info' | 'success' | 'error'; text: string } | null;
  status?: number;
}

export type SecurityPage = (request: Parameters<PageKit['send']>[0], reply: Parameters<PageKit['send']>[1], options: SecurityPageOptions) => Promise<unknown>;
