import { createHash, randomBytes } from 'node:crypto'
import { Secret, TOTP } from 'otpauth'
import type { RoleGrant } from '../../shared/actor.js'

/**
 * Authenticator codes (RFC 6238 through `otpauth`: SHA-1, 6 digits, 30 seconds, what every
 * authenticator app reads from a QR code) and recovery codes.
 */
const PERIOD = 30
/** One step either side: a phone whose clock is up to 30 s off still signs in. */
const SKEW_STEPS = 1
export const RECOVERY_CODE_COUNT = 10
/** Sign-ins without a factor that a person who needs one still gets, to enrol it. */
export const FACTOR_GRACE_SIGN_INS = 3

/**
 * The policy per realm (its one owner). `roles`: administrators of the platform, a market or an
 * organization, and support agents, need a second factor. `marketWide`: a market whose platform
 * administrator requires it (markets.second_factor_required) requires it of everyone whose company
 * is in that market. Everyone else may add one. The partner ID opens every connected app, so the
 * market-wide rule applies to it; an app's own realm (shop) keeps its own users' choice.
 */
export const factorPolicy = {
  partner: { roles: true, marketWide: true },
  shop: { roles: true, marketWide: false },
} as const satisfies Record<string, { roles: boolean; marketWide: boolean }>

/** What the policy reads of an account. */
export interface FactorPolicyFacts {
  realm: string
  roles: readonly Pick<RoleGrant, 'role'>[]
  /** The account's company is in a market that requires a second factor of everyone. */
  marketRequires: boolean
}

/** Why the policy requires a second factor of an account (its role first), or null: it is optional. */
export function factorRequirement(facts: FactorPolicyFacts): 'role' | 'market' | null {
  const rule = Object.hasOwn(factorPolicy, facts.realm) ? factorPolicy[facts.realm as keyof typeof factorPolicy] : { roles: true, marketWide: false }
  if (rule.roles && facts.roles.some((r) => r.role !== 'user')) return 'role'
  return rule.marketWide && facts.marketRequires ? 'market' : null
}

export function secondFactorRequired(facts: FactorPolicyFacts): boolean {
  return factorRequirement(facts) !== null
}

/**
 * What a sign-in without a factor means for an account that needs one: this is grace sign-in
 * number `used` (counted before), so `left` more remain; past the grace the session only reaches
 * the enrolment page.
 */
export function graceAfter(used: number): { left: number; mustEnrol: boolean } {
  return { left: Math.max(0, FACTOR_GRACE_SIGN_INS - used), mustEnrol: used > FACTOR_GRACE_SIGN_INS }
}

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32
}

function totp(secret: string, issuer: string, label: string): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: Secret.fromBase32(secret) })
}

/** The otpauth:// address an authenticator app reads, and the same as a QR code (an SVG data URL, drawn on the server). */
export async function enrolmentCode(secret: string, issuer: string, label: string): Promise<{ uri: string; qr: string }> {
  const uri = totp(secret, issuer, label).toString()
  // Loaded on the first enrolment only (qrcode and pngjs: about 50 ms of CPU every process would pay).
  const { default: QRCode } = await import('qrcode')
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
  return { uri, qr: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` }
}

/** The time step of a code that is right now (or one step off), or null. */
export function totpStep(secret: string, code: string, at: Date): number | null {
  const token = code.replace(/\s/g, '')
  if (!/^\d{6}$/.test(token)) return null
  const timestamp = at.getTime()
  const delta = TOTP.validate({ token, secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: PERIOD, timestamp, window: SKEW_STEPS })
  return delta === null ? null : TOTP.counter({ period: PERIOD, timestamp }) + delta
}

/** The code an authenticator shows at `at` (tests, and the enrolment's own check). */
export function totpCode(secret: string, at: Date): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: PERIOD, timestamp: at.getTime() })
}

/** Recovery codes as a person reads them: 16 base32 characters (80 random bits) in groups of four. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => new Secret({ buffer: randomBytes(10).buffer }).base32.match(/.{4}/g)?.join('-') ?? '')
}

/**
 * SHA-256 of the code without spaces and dashes, in capitals. A recovery code carries 80 random
 * bits, so a fast hash is enough (nobody can try 2^80 guesses against a stolen table), and one
 * lookup finds it; argon2 would need a slow verify against each of the ten.
 */
export function recoveryCodeHash(code: string): string {
  return createHash('sha256').update(code.replace(/[\s-]/g, '').toUpperCase()).digest('hex')
}

export function looksLikeRecoveryCode(code: string): boolean {
  return /^[A-Z2-7]{16}$/.test(code.replace(/[\s-]/g, '').toUpperCase())
}

/**
 * How a sign-in is described to connected apps (OpenID Connect `amr` with RFC 8176 values, and `acr`).
 * A session stores the methods used (`sessions.amr`): `pwd` a password; `otp` a one-time code, an
 * authenticator's or a recovery code (both are single-use codes, RFC 8176 has no closer value);
 * `hwk` a passkey (proof of possession of a hardware-bound key); `user` the passkey's authenticator
 * verified its user (PIN or biometric; asked for only when the passkey signs in without a password).
 * `otp` and `hwk` are second factors. `mfa` is added for apps when two factors were used: a password
 * and a second factor, or a passkey that verified its user (possession, and knowledge or inherence).
 */
export const ACR = {
  /** A password alone. */
  password: 'urn:sportello:acr:pwd',
  /** A second factor: a password with an authenticator code, recovery code or passkey, or a passkey that verified its user. */
  secondFactor: 'urn:sportello:acr:mfa',
} as const
export type Acr = (typeof ACR)[keyof typeof ACR]
const SECOND_FACTOR_METHODS = new Set(['otp', 'hwk'])

/** The `amr` and `acr` a connected app receives for a session signed in with `methods`. */
export function authenticationContext(methods: readonly string[]): { amr: string[]; acr: Acr } {
  const second = methods.some((m) => SECOND_FACTOR_METHODS.has(m))
  const twoFactors = second && (methods.includes('pwd') || methods.includes('user'))
  const amr = [...new Set(methods.filter((m) => m !== 'mfa'))]
  return { amr: twoFactors ? [...amr, 'mfa'] : amr, acr: second ? ACR.secondFactor : ACR.password }
}
