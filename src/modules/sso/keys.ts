import { createCipheriv, createDecipheriv, generateKeyPairSync, hkdfSync, randomBytes, type JsonWebKey } from 'node:crypto'

/**
 * Signing keys at rest: AES-256-GCM with a key derived (HKDF-SHA256) from OIDC_KEY_SECRET, so a
 * database dump alone cannot sign tokens. The format carries a version for a future change.
 */
const VERSION = 'v1'

function derive(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'sportello-oidc', purpose, 32))
}

export function encryptJwk(secret: string, jwk: JsonWebKey): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', derive(secret, 'signing-keys'), iv)
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()])
  return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.')
}

export class KeyDecryptionError extends Error {
  constructor(readonly kid: string, options?: ErrorOptions) {
    super(`signing key ${kid} cannot be decrypted: OIDC_KEY_SECRET differs from the one it was stored with`, options)
    this.name = 'KeyDecryptionError'
  }
}

export function decryptJwk(secret: string, kid: string, sealed: string): JsonWebKey {
  const [version, iv, tag, ciphertext] = sealed.split('.')
  if (version !== VERSION || !iv || !tag || !ciphertext) throw new KeyDecryptionError(kid)
  try {
    const decipher = createDecipheriv('aes-256-gcm', derive(secret, 'signing-keys'), Buffer.from(iv, 'base64url'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()])
    return JSON.parse(plain.toString('utf8')) as JsonWebKey
  } catch (error) {
    throw new KeyDecryptionError(kid, { cause: error })
  }
}

/** A new RS256 signing key (RS256 is the algorithm every OpenID Connect client must support). */
export function generateSigningKey(): { kid: string; alg: 'RS256'; jwk: JsonWebKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const kid = randomBytes(12).toString('base64url')
  return { kid, alg: 'RS256', jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } }
}

/** Keys for the provider's cookies (signed with HMAC), derived from the same secret. */
export function cookieKeys(secret: string): string[] {
  return [derive(secret, 'cookies').toString('base64url')]
}
