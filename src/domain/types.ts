// Plain data shared by the rules. Mirrors the stored values without importing the store.
export type Role = 'admin' | 'agent' | 'end_user';
/** A factor a person enrols; recovery codes come with the first one. */
export type FactorType = 'totp' | 'sms' | 'webauthn';
export type SecondFactorMethod = FactorType | 'recovery_code';
export type TwoFactorRequirement = 'off' | 'staff';
