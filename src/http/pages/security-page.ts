// Security settings, as the pages that act on it re-render it (with an error or a notice).
import type { PageKit } from './kit.js';

export type SecurityPage = (
  request: Parameters<PageKit['send']>[0],
  reply: Parameters<PageKit['send']>[1],
  options: {
    twoFactorErrors?: { regenerate?: string | null; disable?: string | null };
    keyRemoval?: { keyId: string; error: string };
    notice?: { kind: 'info' | 'success' | 'error'; text: string } | null;
    status?: number;
  },
) => Promise<unknown>;
