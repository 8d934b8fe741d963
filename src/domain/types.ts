// Plain data shared by the rules. Mirrors the stored values without importing the store.
export type Role = 'admin' | 'agent' | 'end_user';
/** The factor types are defined once, by the factor list (factors.ts). */
export type { FactorType, SecondFactorMethod } from './factors.js';
export type TwoFactorRequirement = 'off' | 'staff';
