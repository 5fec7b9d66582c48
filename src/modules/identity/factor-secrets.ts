import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/**
 * Authenticator secrets at rest (`second_factors.secret`): AES-256-GCM with a key derived
 * (HKDF-SHA256) from FACTOR_KEY_SECRET, so a database dump alone cannot compute anyone's codes.
 * A sealed value reads `v1.<iv>.<tag>.<ciphertext>` (base64url); the version leaves room for a new
 * key or algorithm. The only place that encrypts or decrypts a factor secret.
 */
const VERSION = 'v1'

export interface FactorSecrets {
  seal(plain: string): string
  open(sealed: string): string
}

export class FactorSecretError extends Error {
  constructor(options?: ErrorOptions) {
    super('an authenticator secret cannot be decrypted: FACTOR_KEY_SECRET differs from the one it was stored with', options)
    this.name = 'FactorSecretError'
  }
}

export function factorSecrets(secret: string): FactorSecrets {
  const key = Buffer.from(hkdfSync('sha256', secret, 'sportello-factors', 'totp-secrets', 32))
  return {
    seal(plain) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.')
    },
    open(sealed) {
      const [version, iv, tag, ciphertext] = sealed.split('.')
      if (version !== VERSION || !iv || !tag || !ciphertext) throw new FactorSecretError()
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
        decipher.setAuthTag(Buffer.from(tag, 'base64url'))
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8')
      } catch (error) {
        throw new FactorSecretError({ cause: error })
      }
    },
  }
}

/** Secrets for a process that was given no key: it fails when a factor is touched, not at start. */
export const unconfiguredFactorSecrets: FactorSecrets = {
  seal: () => { throw new Error('FACTOR_KEY_SECRET is not resolved (resolveFactorKeySecret)') },
  open: () => { throw new Error('FACTOR_KEY_SECRET is not resolved (resolveFactorKeySecret)') },
}
