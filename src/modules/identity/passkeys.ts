import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type {
  AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON,
} from '@simplewebauthn/server'
import { sourceDir } from '../../paths.js'

/**
 * Passkeys (WebAuthn) through `@simplewebauthn/server`: this file only says what this portal asks of
 * them; the library parses and checks every answer (client data, authenticator data, signature,
 * counter). The relying party is the configured public URL: its host name is the RP ID, its origin
 * the only origin accepted.
 */

/** How long a passkey prompt (and its challenge) waits for the answer. */
export const PASSKEY_CHALLENGE_MS = 5 * 60 * 1000

/**
 * The library and its ASN.1 and X.509 dependencies take about 0.5 s of CPU to load: loaded on the
 * first passkey prompt or answer, not by every process that imports identity (each CLI command,
 * test file and server start).
 */
let library: Promise<[typeof import('@simplewebauthn/server'), typeof import('@simplewebauthn/server/helpers')]> | undefined
const webauthn = () => (library ??= Promise.all([import('@simplewebauthn/server'), import('@simplewebauthn/server/helpers')]))

export interface RelyingParty { rpID: string; origin: string }

export function relyingParty(publicUrl: string): RelyingParty {
  const url = new URL(publicUrl)
  return { rpID: url.hostname, origin: url.origin }
}

/** Challenges are stored as their SHA-256 only: a copy of the table answers no prompt. */
export function challengeHash(challenge: string): string {
  return createHash('sha256').update(challenge).digest('hex')
}

export interface StoredPasskey { credentialId: string; publicKey: string; counter: number; transports: string[] }

/**
 * A new passkey is discoverable (stored on the authenticator with the account, so it can sign in
 * without a user ID) and asks for user verification where the authenticator can (PIN, fingerprint).
 * An authenticator that already holds one of the account's passkeys is not asked again.
 */
export async function registrationOptions(rp: RelyingParty, input: { rpName: string; userName: string; displayName: string; existing: StoredPasskey[] }): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const [{ generateRegistrationOptions }] = await webauthn()
  return generateRegistrationOptions({
    rpName: input.rpName, rpID: rp.rpID, userName: input.userName, userDisplayName: input.displayName,
    timeout: PASSKEY_CHALLENGE_MS, attestationType: 'none',
    excludeCredentials: input.existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
  })
}

/** The new credential of a registration answer, or null when the answer does not verify (never throws on bad input). */
export async function verifyRegistration(rp: RelyingParty, answer: object, useChallenge: (challenge: string) => Promise<boolean>): Promise<StoredPasskey | null> {
  const [{ verifyRegistrationResponse }, { isoBase64URL }] = await webauthn()
  try {
    const result = await verifyRegistrationResponse({ response: answer as RegistrationResponseJSON, expectedChallenge: useChallenge, expectedOrigin: rp.origin, expectedRPID: rp.rpID, requireUserVerification: false })
    if (!result.verified) return null
    const { credential } = result.registrationInfo
    return { credentialId: credential.id, publicKey: isoBase64URL.fromBuffer(credential.publicKey), counter: credential.counter, transports: credential.transports ?? [] }
  } catch {
    return null
  }
}

/**
 * A sign-in prompt: for a second step, the account's passkeys are listed; for a passwordless sign-in
 * none are (the authenticator offers its discoverable ones) and user verification is required,
 * since the passkey then stands for both factors.
 */
export async function authenticationOptions(rp: RelyingParty, allow: StoredPasskey[] | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const [{ generateAuthenticationOptions }] = await webauthn()
  return generateAuthenticationOptions({
    rpID: rp.rpID, timeout: PASSKEY_CHALLENGE_MS,
    userVerification: allow ? 'preferred' : 'required',
    ...(allow ? { allowCredentials: allow.map((p) => ({ id: p.credentialId, transports: p.transports })) } : {}),
  })
}

/**
 * The new signature counter when the answer verifies for this passkey, else null: wrong challenge
 * (unknown, used or expired), origin, RP ID, signature, missing user verification where required,
 * or a counter that did not move forward (a cloned authenticator).
 */
export async function verifyAuthentication(rp: RelyingParty, answer: object, passkey: StoredPasskey, input: { requireUserVerification: boolean; useChallenge: (challenge: string) => Promise<boolean> }): Promise<number | null> {
  const [{ verifyAuthenticationResponse }, { isoBase64URL }] = await webauthn()
  try {
    const result = await verifyAuthenticationResponse({
      response: answer as AuthenticationResponseJSON, expectedChallenge: input.useChallenge, expectedOrigin: rp.origin, expectedRPID: rp.rpID,
      credential: { id: passkey.credentialId, publicKey: isoBase64URL.toBuffer(passkey.publicKey), counter: passkey.counter, transports: passkey.transports },
      requireUserVerification: input.requireUserVerification,
    })
    return result.verified ? result.authenticationInfo.newCounter : null
  } catch {
    return null
  }
}

/** A browser's WebAuthn answer as posted in a form field (JSON); the library checks its shape. */
export function parseAnswer(text: string): object | null {
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null
  } catch {
    return null
  }
}

/** The credential id an answer names (what the library reads too), or null when the answer is not shaped like one. */
export function answerCredentialId(response: unknown): string | null {
  const id = (response as { id?: unknown } | null)?.id
  // Base64url as the library reads it: what Node decodes and encodes back to the same text (no padding, no other alphabet).
  return typeof id === 'string' && id.length > 0 && id.length <= 1400 && Buffer.from(id, 'base64url').toString('base64url') === id ? id : null
}

/** The browser side: @simplewebauthn/browser's bundle and this portal's few lines around it, each with its content hash. */
const require = createRequire(import.meta.url)
const browserBundle = readFileSync(path.join(path.dirname(require.resolve('@simplewebauthn/browser')), '../dist/bundle/index.umd.min.js'))
const pageScript = readFileSync(path.join(sourceDir, 'public/passkeys.js'))
const version = (content: Buffer) => createHash('sha256').update(content).digest('hex').slice(0, 12)
export const passkeyAssets = {
  bundle: { path: '/assets/vendor/simplewebauthn-browser.js', content: browserBundle, url: `/assets/vendor/simplewebauthn-browser.js?v=${version(browserBundle)}` },
  script: `/assets/passkeys.js?v=${version(pageScript)}`,
}
