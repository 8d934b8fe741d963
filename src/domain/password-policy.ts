// NIST SP 800-63B-4 §3.1.1.2: at least 8 characters, allow at least 64 (we allow
// 256), no composition rules, and refuse passwords found in lists of commonly used
// or compromised values. zxcvbn's common-password dictionary is that list; a score
// below 2 means it would fall to a throttled online attack.
import { createRequire } from 'node:module';
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';
import type { FailureDetail } from './failures.js';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

let estimator: ZxcvbnFactory | null = null;
function strengthEstimator(): ZxcvbnFactory {
  // The dictionaries are loaded on the first password set, not at start: signing in
  // never needs them (bench/README.md, memory).
  if (!estimator) {
    const require = createRequire(import.meta.url);
    const core = require('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core');
    const common = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
    estimator = new core.ZxcvbnFactory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs });
  }
  return estimator;
}

export type PasswordProblem = 'too_short' | 'too_long' | 'too_common';

export function checkPassword(password: string, userInputs: string[] = []): PasswordProblem | null {
  // Length in code points, so an emoji counts once (NIST 63B-4 §3.1.1.2).
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return 'too_short';
  if (length > PASSWORD_MAX_LENGTH) return 'too_long';
  // zxcvbn's cost grows with length; past 100 characters a password is not guessable.
  const sample = length > 100 ? password.slice(0, 100) : password;
  const result = strengthEstimator().check(
    sample,
    userInputs.filter((input) => input.length > 0),
  );
  return result.score < 2 ? 'too_common' : null;
}

/** The problem in every language (http/errors.ts words it for the reader). */
export function passwordProblemDetail(problem: PasswordProblem): FailureDetail {
  switch (problem) {
    case 'too_short':
      return { key: 'detail.password.tooShort', values: { min: PASSWORD_MIN_LENGTH } };
    case 'too_long':
      return { key: 'detail.password.tooLong', values: { max: PASSWORD_MAX_LENGTH } };
    case 'too_common':
      return { key: 'detail.password.tooCommon' };
  }
}

export function describePasswordProblem(problem: PasswordProblem): string {
  switch (problem) {
    case 'too_short':
      return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
    case 'too_long':
      return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
    case 'too_common':
      return 'This password is too common or too easy to guess. Try a few unrelated words together.';
  }
}
