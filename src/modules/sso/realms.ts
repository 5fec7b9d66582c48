/**
 * The realms, scopes and sign-in levels of the OpenID provider: what the rest of the portal needs to know
 * about it without loading oidc-provider itself (provider.ts), which is imported at the first OIDC request.
 */
import { createHash } from 'node:crypto'
import type { SsoRepo } from './sso.repo.js'
import { ACR } from '../identity/index.js'

/** The realms with a provider, and where each one lives under PUBLIC_URL. */
export const ssoRealms = {
  partner: { prefix: '' },
  shop: { prefix: '/realms/shop' },
} as const
export type SsoRealm = keyof typeof ssoRealms

export function isSsoRealm(value: string): value is SsoRealm {
  return Object.hasOwn(ssoRealms, value)
}

/** The storage the provider needs (the repo's methods, handed over by the service). */
export type ProviderStore = Pick<SsoRepo, 'upsertPayload' | 'findPayload' | 'consumePayload' | 'destroyPayload' | 'revokeByGrantId' | 'findClient' | 'accountBySub' | 'queueLogout'>

/**
 * The claims each scope grants: exactly what discovery's claims_supported lists and what the ID
 * token and userinfo carry. `preferred_username` is the user ID people sign in with (apps name their
 * users by it); `sub` stays a random identifier that never changes. company, market and roles are ours.
 */
export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['preferred_username', 'name', 'given_name', 'family_name', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
  company: ['company', 'market'],
  roles: ['roles'],
} as const

/**
 * Claims about the sign-in itself, in every ID token (never from userinfo): `acr`, one of
 * `ACR_VALUES`, and `amr`, RFC 8176 method names (identity's `authenticationContext` says which).
 */
export const SIGN_IN_CLAIMS = ['acr', 'amr'] as const
/** Discovery's acr_values_supported: a password alone, or a second factor. */
export const ACR_VALUES = [ACR.password, ACR.secondFactor] as const

/**
 * Whether an app's `acr_values` can only be met with a second factor: it names at least one level
 * this provider knows, and not the password-only one. (Unknown values are ignored, as OpenID
 * Connect lets a provider do with voluntary ones.)
 */
export function asksSecondFactor(acrValues: unknown): boolean {
  if (typeof acrValues !== 'string') return false
  const known = acrValues.split(' ').filter((v): v is (typeof ACR_VALUES)[number] => (ACR_VALUES as readonly string[]).includes(v))
  return known.length > 0 && !known.includes(ACR.password)
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}
