// Plain data shared by the rules. Mirrors the stored values without importing the store.
export type Role = 'admin' | 'agent' | 'end_user';
export type SecondFactorMethod = 'totp' | 'sms' | 'recovery_code';
export type TwoFactorRequirement = 'off' | 'staff';
