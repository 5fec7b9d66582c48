import { createRequire } from 'node:module'
import { hash, verify } from '@node-rs/argon2'
import { AppError } from '../../shared/errors.js'

/** argon2id with OWASP's recommended minimum: 19 MiB, 2 passes, 1 lane. */
export const ARGON2_PARAMS = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const

export const PASSWORD_MIN = 12
export const PASSWORD_MAX = 128

let common: Set<string> | undefined

/**
 * zxcvbn's list of common passwords, read when the first new password is checked: every process reading
 * its 430 kB at start (a CLI command, each test file) took longer than all the checks it ever made.
 */
function commonPasswords(): Set<string> {
  if (!common) {
    const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common')
    common = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()))
  }
  return common
}

export type PasswordProblem = 'too_short' | 'too_long' | 'too_common'

/** NIST SP 800-63B: length only, no composition rules, and not a known common or breached password. */
export function passwordProblem(password: string, context: string[] = []): PasswordProblem | null {
  const length = Array.from(password).length
  if (length < PASSWORD_MIN) return 'too_short'
  if (length > PASSWORD_MAX) return 'too_long'
  const lowered = password.toLowerCase()
  if (commonPasswords().has(lowered) || context.some((c) => c.length >= 4 && lowered.includes(c.toLowerCase()) && lowered.length - c.length < 4)) return 'too_common'
  if (/^(.)\1+$/u.test(password)) return 'too_common'
  return null
}

/**
 * A new password as the forms take it, typed twice: the same both times, within the rules, not
 * made of the person's own names or IDs; hashed when it passes.
 */
export async function acceptNewPassword(input: { password: string; confirm: string }, person: { userId: string; email: string | null; firstName: string; lastName: string }): Promise<string> {
  if (input.password !== input.confirm) throw new AppError('PASSWORDS_DIFFER')
  const problem = passwordProblem(input.password, [person.userId, person.email ?? '', person.firstName, person.lastName])
  if (problem) throw passwordError(problem)
  return hashPassword(input.password)
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_PARAMS)
}

export function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  return verify(passwordHash, password)
}

/** True when a stored hash was made with other parameters than today's, so sign-in should rehash it. */
export function needsRehash(passwordHash: string): boolean {
  return !passwordHash.startsWith(`$argon2id$v=19$m=${ARGON2_PARAMS.memoryCost},t=${ARGON2_PARAMS.timeCost},p=${ARGON2_PARAMS.parallelism}$`)
}

let dummy: Promise<string> | undefined

/** A hash to verify against when no account matches, so unknown users take as long as known ones. */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword('sportello-dummy-password-for-timing')
  return dummy
}

export function passwordError(problem: PasswordProblem): AppError {
  const code = problem === 'too_short' ? 'PASSWORD_TOO_SHORT' : problem === 'too_long' ? 'PASSWORD_TOO_LONG' : 'PASSWORD_TOO_COMMON'
  return new AppError(code, { min: PASSWORD_MIN, max: PASSWORD_MAX })
}
