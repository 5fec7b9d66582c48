import { createHash, randomBytes } from 'node:crypto'
import type { Actor, RoleGrant } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import type { TokenPurpose } from '../../db/schema/index.js'
import { afterActivity, may } from './account-status.js'
import { canAnywhere, isAdministrator } from '../../shared/access.js'
import type { IdentityRepo, SecondStepProof, UserRow } from './identity.repo.js'
import { acceptNewPassword, dummyHash, hashPassword, needsRehash, verifyPassword } from './password.js'
import { createFactorsRepo } from './factors.repo.js'
import { ACR, authenticationContext, graceAfter, looksLikeRecoveryCode, recoveryCodeHash, secondFactorRequired, totpStep } from './second-factor.js'
import type { FactorSecrets } from './factor-secrets.js'
import { answerCredentialId, authenticationOptions, challengeHash, parseAnswer, PASSKEY_CHALLENGE_MS, relyingParty, verifyAuthentication } from './passkeys.js'
import { createPasskeysRepo } from './passkeys.repo.js'

/** How long a self-registration may wait for its verification (the link and code live as long). */
export const UNVERIFIED_TTL_MS = 24 * 60 * 60 * 1000
const SESSION_IDLE_MS = 30 * 60 * 1000
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60 * 1000
const SESSION_TOUCH_MS = 60 * 1000
export const LOCK_AFTER_FAILURES = 10
const FAILURE_WINDOW_MS = 15 * 60 * 1000
const LOCK_BASE_MS = 15 * 60 * 1000
const RESET_TTL_MS = 30 * 60 * 1000
/** The second step of a sign-in waits this long for the code. */
export const SECOND_STEP_MS = 5 * 60 * 1000

/** How a sign-in ended: a session, or the second step to take (in the same browser, soon). */
export type SignInResult =
  | {
    step: 'signed_in'; token: string; user: UserRow; amr: string[]; /** Sign-ins left to enrol a required factor (absent: none is required, or one is enrolled). */ graceLeft?: number
    /** The account's roles, when the sign-in read them (the landing page needs them, no second query). */ roles?: RoleGrant[]
  }
  | {
    step: 'second_factor'; challenge: string; user: UserRow
    /** The step's passkey prompt when the account has a passkey (else null): the step's page is the answer. */ passkeyOptions: PasskeyOptions | null
  }

type PasskeyOptions = Awaited<ReturnType<typeof authenticationOptions>>

export interface RequestContext {
  ip?: string | undefined
  userAgent?: string | undefined
  requestId?: string | undefined
  /** Where links in emails point to: PUBLIC_URL. */
  publicUrl: string
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function newToken(): string {
  return randomBytes(32).toString('base64url')
}

function displayName(user: UserRow): string {
  return `${user.firstName} ${user.lastName}`.trim() || user.userId
}

/** The actor of an account: who it is, and its roles, loaded with it (access checks need no query). */
export function actorOf(user: UserRow, roles: readonly RoleGrant[], sessionIdHash?: string): Actor {
  return {
    kind: 'user', userId: user.id, realm: user.realm, displayName: displayName(user), companyId: user.companyId,
    emailVerified: user.emailVerifiedAt !== null, awaitingApproval: user.status === 'pending_approval', roles, ...(sessionIdHash ? { sessionIdHash } : {}),
  }
}

function actorRef(actor: Actor): { type: string; id: number | null } {
  return actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: actor.kind, id: null }
}

/** The signed-in session of this account that a second step taken now replaces (a step-up), if any. */
function replacedSession(actor: Actor, userId: number): string | undefined {
  return actor.kind === 'user' && actor.userId === userId ? actor.sessionIdHash : undefined
}

function newSession(token: string, userId: number, now: Date, ctx: RequestContext, amr: string[] = ['pwd'], mustEnrol = false) {
  return {
    amr, mustEnrol,
    idHash: hashToken(token), userId, createdAt: now, lastSeenAt: now,
    expiresAt: new Date(now.getTime() + SESSION_ABSOLUTE_MS), ip: ctx.ip ?? null, userAgent: ctx.userAgent?.slice(0, 300) ?? null,
  }
}

export function createAuthService(repo: IdentityRepo, options: { secrets: FactorSecrets; onSignIn?: (realm: string, result: 'success' | 'failed' | 'blocked') => void }) {
  const factors = createFactorsRepo(repo.executor)
  /** A single-use token of one of `purposes` that is unused and unexpired, and its account, which may still sign in. */
  async function liveToken(token: string, purposes: TokenPurpose[]) {
    const now = clock.now()
    const row = token.length <= 100 ? await repo.findToken(hashToken(token)) : undefined
    if (!row || row.usedAt || row.expiresAt <= now || !purposes.includes(row.purpose)) throw new AppError('TOKEN_INVALID')
    const user = await repo.findUser(row.userId)
    // An administrator's reset link restored the account when it was issued; any other status that
    // cannot sign in (blocked again, deactivated, deleted) makes every link dead.
    if (!user || !may(user.status, 'signIn')) throw new AppError('TOKEN_INVALID')
    return { row, user }
  }

  async function lockAfterFailures(user: UserRow, failures: number, now: Date, ctx: RequestContext, locale: string): Promise<void> {
    if (failures < LOCK_AFTER_FAILURES) return
    const lockMs = LOCK_BASE_MS * 2 ** Math.min(user.lockouts, 6)
    const lockedUntil = new Date(now.getTime() + lockMs)
    await repo.transaction(async (tx) => {
      if (!(await tx.lockOnce(user.id, user.lockouts, lockedUntil, now))) return
      await tx.audit({ at: now, actor: { type: 'system', id: null }, action: 'account.locked', target: { type: 'user', id: user.id }, data: { until: lockedUntil.toISOString(), failures }, requestId: ctx.requestId, ip: ctx.ip })
      if (user.email) {
        await tx.enqueueMail({
          key: `locked:${user.id}:${lockedUntil.toISOString()}`, to: user.email, locale: user.locale || locale, template: 'account-locked',
          data: { name: `${user.firstName} ${user.lastName}`, minutes: Math.round(lockMs / 60000), url: `${ctx.publicUrl}/${user.locale || locale}${user.realm === 'shop' ? '/shop' : ''}/password/forgot` },
        }, now)
      }
    })
  }

  /**
   * A pending second step's form: undefined when the step is not pending (expired, used, unknown);
   * else its passkey prompt when the account has a passkey (else null). The prompt's challenge is
   * bound to that step and account. One statement for an account without passkeys.
   */
  async function secondStepPrompt(challenge: string, ctx: RequestContext): Promise<{ passkeyOptions: PasskeyOptions | null } | undefined> {
    const now = clock.now()
    const stepHash = hashToken(challenge)
    const pending = challenge.length <= 100 ? await repo.secondStepPrompt(stepHash, now) : undefined
    if (!pending) return undefined
    return { passkeyOptions: pending.hasPasskey ? await passkeyPrompt(pending, stepHash, now, ctx) : null }
  }

  /** The passkey prompt of a second step (`stepHash`) of an account that has passkeys, bound to both; null when it has none. */
  async function passkeyPrompt(account: { userId: number; realm: string }, stepHash: string, now: Date, ctx: RequestContext): Promise<PasskeyOptions | null> {
    const passkeys = createPasskeysRepo(repo.executor)
    const own = await passkeys.passkeysOf(account.userId)
    if (own.length === 0) return null
    const prompt = await authenticationOptions(relyingParty(ctx.publicUrl), own)
    await passkeys.createChallenge({ challengeHash: challengeHash(prompt.challenge), purpose: 'second_step', realm: account.realm, userId: account.userId, stepHash, expiresAt: new Date(now.getTime() + PASSKEY_CHALLENGE_MS) }, now)
    return prompt
  }

  return {
    /**
     * Signs in with a user ID or email and a password. An unknown account, a wrong password and a
     * locked account get the same error after the same work (a hash is verified in every case).
     * Only a correct password reveals that an account is blocked.
     */
    async signIn(_actor: Actor, input: { realm: string; identifier: string; password: string; locale: string }, ctx: RequestContext): Promise<SignInResult> {
      const now = clock.now()
      // One statement reads the account with its roles, whether it has a second factor and its
      // market's rule: the rest of a password sign-in is one write (recordSignIn or startSecondStep).
      const account = await repo.findForSignIn(input.realm, input.identifier.trim())
      const user = account?.user
      const locked = user?.lockedUntil && user.lockedUntil > now
      const valid = await verifyPassword(user?.passwordHash && !locked ? user.passwordHash : await dummyHash(), input.password)
      if (!account || !user?.passwordHash || locked || !valid) {
        const failures = await repo.recordFailure({ realm: input.realm, userId: user?.id ?? null, ip: ctx.ip, at: now, requestId: ctx.requestId }, new Date(now.getTime() - FAILURE_WINDOW_MS))
        if (user && !locked) await lockAfterFailures(user, failures, now, ctx, input.locale)
        options.onSignIn?.(input.realm, 'failed')
        throw new AppError('SIGN_IN_FAILED')
      }
      if (!may(user.status, 'signIn')) {
        await repo.recordAttempt({ realm: input.realm, userId: user.id, success: false, ip: ctx.ip, at: now })
        await repo.audit({ at: now, actor: { type: 'user', id: user.id }, action: 'sign_in.refused', target: { type: 'user', id: user.id }, data: { status: user.status }, requestId: ctx.requestId, ip: ctx.ip })
        options.onSignIn?.(input.realm, 'blocked')
        throw new AppError('ACCOUNT_BLOCKED')
      }
      const rehash = needsRehash(user.passwordHash) ? await hashPassword(input.password) : null
      if (rehash) await repo.setPassword(user.id, rehash, user.passwordChangedAt ?? now)
      // Only a right password reaches this point, so whether the account has a factor is never told
      // to someone who does not know the password.
      // The step's page is the answer, with the passkey prompt when the account has a passkey (what
      // the lookup read: an account without one costs no other statement). Signing in again (the
      // page reloaded, the form sent twice) starts a new step, and the older one ends.
      if (account.hasFactor) {
        const challenge = newToken()
        const stepHash = hashToken(challenge)
        await repo.startSecondStep({ idHash: stepHash, userId: user.id, realm: input.realm, createdAt: now, expiresAt: new Date(now.getTime() + SECOND_STEP_MS) })
        const passkeyOptions = account.hasPasskey ? await passkeyPrompt({ userId: user.id, realm: input.realm }, stepHash, now, ctx) : null
        return { step: 'second_factor', challenge, user, passkeyOptions }
      }
      // The policy: an account that needs a factor and has none signs in a few times to enrol one
      // (counted here, from the first sign-in after the rule applies to it); past that, its session
      // reaches only the enrolment page.
      const required = secondFactorRequired({ realm: user.realm, roles: account.roles, marketRequires: account.marketRequires })
      const grace = required ? graceAfter(await factors.countGraceSignIn(user.id)) : undefined
      const token = newToken()
      const status = afterActivity(user.status)
      await repo.recordSignIn({ session: newSession(token, user.id, now, ctx, ['pwd'], grace?.mustEnrol ?? false), status, realm: input.realm, requestId: ctx.requestId })
      options.onSignIn?.(input.realm, 'success')
      return { step: 'signed_in', token, user: { ...user, status }, roles: account.roles, amr: ['pwd'], ...(grace ? { graceLeft: grace.left } : {}) }
    },

    /**
     * The second step: an authenticator code (of now, or one step off; never one already used) or a
     * recovery code (once). A wrong code counts as a failed sign-in toward the lockout; a locked
     * account's step ends. Success ends the step and opens the session, in one transaction.
     */
    async completeSecondStep(actor: Actor, input: { challenge: string; code: string; locale: string }, ctx: RequestContext): Promise<SignInResult & { step: 'signed_in' }> {
      const now = clock.now()
      const idHash = hashToken(input.challenge)
      // The step, its account with roles and its authenticators in one statement; passing it is one more.
      const pending = input.challenge.length <= 100 ? await repo.findSecondStep(idHash, now) : undefined
      const user = pending?.user
      if (!pending || !user || !may(user.status, 'signIn') || (user.lockedUntil && user.lockedUntil > now)) {
        if (pending) await factors.endChallenge(idHash)
        throw new AppError('SECOND_STEP_EXPIRED')
      }
      const code = input.code.trim()
      const proofs: SecondStepProof[] = pending.totp.flatMap((f) => {
        const step = totpStep(options.secrets.open(f.secret), code, now)
        return step === null ? [] : [{ via: 'totp' as const, factorId: f.id, step }]
      })
      if (looksLikeRecoveryCode(code)) proofs.push({ via: 'recovery', codeHash: recoveryCodeHash(code) })
      const token = newToken()
      const amr = ['pwd', 'otp']
      const status = afterActivity(user.status)
      const replaced = replacedSession(actor, user.id)
      let used: SecondStepProof['via'] | null = null
      for (const proof of proofs) {
        const outcome = await repo.recordSecondStep({
          idHash, proof, session: newSession(token, user.id, now, ctx, amr), replaced, status, realm: pending.realm,
          data: { realm: pending.realm, factor: proof.via, ...(replaced ? { stepUp: true } : {}) }, requestId: ctx.requestId,
        })
        if (!outcome.used) continue
        // The code was good but another request (a second tab) passed this step first: the code
        // stays used, as any code seen once does, and this request starts over.
        if (!outcome.ended) throw new AppError('SECOND_STEP_EXPIRED')
        used = proof.via
        break
      }
      if (!used) {
        const failures = await repo.recordFailure({ realm: pending.realm, userId: user.id, ip: ctx.ip, at: now, requestId: ctx.requestId }, new Date(now.getTime() - FAILURE_WINDOW_MS))
        await lockAfterFailures(user, failures, now, ctx, input.locale)
        options.onSignIn?.(pending.realm, 'failed')
        if (failures >= LOCK_AFTER_FAILURES) {
          await factors.endChallenge(idHash)
          throw new AppError('SECOND_STEP_EXPIRED')
        }
        throw new AppError('SECOND_FACTOR_WRONG')
      }
      options.onSignIn?.(pending.realm, 'success')
      return { step: 'signed_in', token, user: { ...user, status }, roles: pending.roles, amr }
    },

    /** A pending second step's form (see the function above): undefined when not pending, else its passkey prompt or null. */
    secondStepPrompt,

    /** The passkey prompt of a pending second step, when its account has a passkey (else null). */
    async secondStepPasskeyOptions(challenge: string, ctx: RequestContext) {
      return (await secondStepPrompt(challenge, ctx))?.passkeyOptions ?? null
    },

    /** The prompt of a passwordless sign-in ("Sign in with a passkey"): any discoverable passkey of the realm. */
    async passkeySignInOptions(realm: string, ctx: RequestContext) {
      const now = clock.now()
      const prompt = await authenticationOptions(relyingParty(ctx.publicUrl), null)
      await createPasskeysRepo(repo.executor).createChallenge({ challengeHash: challengeHash(prompt.challenge), purpose: 'sign_in', realm, userId: null, stepHash: null, expiresAt: new Date(now.getTime() + PASSKEY_CHALLENGE_MS) }, now)
      return prompt
    },

    /**
     * Signs in with a passkey: as the second step after the password (`step`: the pending step's
     * cookie), or without a password, where the passkey must have verified its user (PIN,
     * fingerprint) and stands for both factors. The answer must name a passkey of the account (of
     * the realm, for a passwordless sign-in), answer a challenge issued for exactly this and never
     * used, and move its counter forward. Any failure is one failed sign-in toward the lockout and
     * one answer, whether the passkey is unknown, someone else's or wrong; a locked account is
     * refused the same way.
     */
    async signInWithPasskey(actor: Actor, input: { realm: string; response: string; locale: string; step?: string | undefined }, ctx: RequestContext): Promise<SignInResult & { step: 'signed_in' }> {
      const now = clock.now()
      const passkeys = createPasskeysRepo(repo.executor)
      const stepHash = input.step === undefined ? undefined : hashToken(input.step)
      const pending = stepHash && (input.step?.length ?? 0) <= 100 ? await factors.findChallenge(stepHash, now) : undefined
      if (stepHash && !pending) throw new AppError('SECOND_STEP_EXPIRED')
      const realm = pending?.realm ?? input.realm
      const answer = parseAnswer(input.response)
      const credentialId = answerCredentialId(answer)
      const found = credentialId ? await passkeys.byCredentialId(credentialId) : undefined
      const owner = found ? await repo.findUser(found.userId) : undefined
      const user = owner && owner.realm === realm && (!pending || owner.id === pending.userId) ? owner : undefined
      const locked = Boolean(user?.lockedUntil && user.lockedUntil > now)
      if (pending && locked) {
        await factors.endChallenge(pending.idHash)
        throw new AppError('SECOND_STEP_EXPIRED')
      }
      const counter = answer && found && user && !locked
        ? await verifyAuthentication(relyingParty(ctx.publicUrl), answer, found, {
          requireUserVerification: !pending,
          useChallenge: (c) => passkeys.useChallenge(challengeHash(c), pending ? { purpose: 'second_step', realm, userId: pending.userId, stepHash: pending.idHash } : { purpose: 'sign_in', realm }, now),
        })
        : null
      const failed = async (): Promise<never> => {
        const account = pending ? await repo.findUser(pending.userId) : locked ? undefined : user
        const failures = await repo.recordFailure({ realm, userId: pending?.userId ?? user?.id ?? null, ip: ctx.ip, at: now, requestId: ctx.requestId }, new Date(now.getTime() - FAILURE_WINDOW_MS))
        if (account) await lockAfterFailures(account, failures, now, ctx, input.locale)
        options.onSignIn?.(realm, 'failed')
        if (pending && failures >= LOCK_AFTER_FAILURES) {
          await factors.endChallenge(pending.idHash)
          throw new AppError('SECOND_STEP_EXPIRED')
        }
        throw new AppError('PASSKEY_SIGN_IN_FAILED')
      }
      if (counter === null || !found || !user) return failed()
      if (!may(user.status, 'signIn')) {
        await repo.recordAttempt({ realm, userId: user.id, success: false, ip: ctx.ip, at: now })
        await repo.audit({ at: now, actor: { type: 'user', id: user.id }, action: 'sign_in.refused', target: { type: 'user', id: user.id }, data: { status: user.status }, requestId: ctx.requestId, ip: ctx.ip })
        options.onSignIn?.(realm, 'blocked')
        throw new AppError('ACCOUNT_BLOCKED')
      }
      const token = newToken()
      // RFC 8176: proof of possession of a key ("hwk"); without a password, the authenticator verified its user.
      const amr = pending ? ['pwd', 'hwk'] : ['hwk', 'user']
      const status = afterActivity(user.status)
      const replaced = pending ? replacedSession(actor, user.id) : undefined
      const opened = await repo.transaction(async (tx) => {
        if (!(await createPasskeysRepo(tx.executor).recordUse(found, counter, now))) return false
        if (pending && !(await createFactorsRepo(tx.executor).endChallenge(pending.idHash))) throw new AppError('SECOND_STEP_EXPIRED')
        if (replaced) await tx.replaceSession(replaced, user.id)
        await tx.createSession(newSession(token, user.id, now, ctx, amr))
        await tx.markSignedIn(user.id, now, status)
        await tx.recordAttempt({ realm, userId: user.id, success: true, ip: ctx.ip, at: now })
        await tx.audit({ at: now, actor: { type: 'user', id: user.id }, action: 'sign_in', target: { type: 'user', id: user.id }, data: { realm, factor: 'passkey', passwordless: !pending, ...(replaced ? { stepUp: true } : {}) }, requestId: ctx.requestId, ip: ctx.ip })
        return true
      })
      if (!opened) return failed()
      options.onSignIn?.(realm, 'success')
      return { step: 'signed_in', token, user: { ...user, status }, amr }
    },

    /**
     * The signed-in user of a session cookie and the session's stored id hash, or null when it is
     * unknown, idle too long, too old, or its account can no longer sign in.
     */
    async resolveSession(token: string): Promise<{ user: UserRow; roles: RoleGrant[]; idHash: string; mustEnrol: boolean; amr: string[] } | null> {
      if (!token || token.length > 100) return null
      const now = clock.now()
      const idHash = hashToken(token)
      const session = await repo.findSession(idHash)
      if (!session) return null
      const idle = now.getTime() - session.lastSeenAt.getTime() > SESSION_IDLE_MS
      if (idle || session.expiresAt <= now || !may(session.user.status, 'signIn')) {
        await repo.deleteSession(idHash)
        return null
      }
      if (now.getTime() - session.lastSeenAt.getTime() > SESSION_TOUCH_MS) await repo.touchSession(idHash, now)
      return { user: session.user, roles: session.roles, idHash, mustEnrol: session.mustEnrol, amr: session.amr }
    },

    /**
     * What a connected app may learn of a portal session: when it was signed in and how (`amr`, the
     * methods used). Undefined when the session is gone.
     */
    async sessionFacts(idHash: string): Promise<{ startedAt: Date; amr: string[] } | undefined> {
      const session = await repo.findSession(idHash)
      return session ? { startedAt: session.createdAt, amr: session.amr } : undefined
    },

    /** Whether the account has a confirmed second factor (an app asking for one gets an error when it has none). */
    async hasSecondFactor(userId: number): Promise<boolean> {
      return (await factors.confirmedFactors(userId)).length > 0
    },

    /**
     * Step-up: a connected app asks for a second factor and the signed-in session used only a
     * password. The person takes the second step of a sign-in (`challenge`, the same cookie and
     * forms); its success replaces this session with one that records both factors. `not_needed`:
     * the session already used a second factor; `unavailable`: the account has none to ask for.
     */
    async startStepUp(actor: Actor): Promise<{ step: 'challenge'; challenge: string } | { step: 'not_needed' | 'unavailable' }> {
      if (actor.kind !== 'user' || !actor.sessionIdHash) throw new AppError('NOT_SIGNED_IN')
      const session = await repo.findSession(actor.sessionIdHash)
      if (!session || session.userId !== actor.userId) throw new AppError('NOT_SIGNED_IN')
      if (authenticationContext(session.amr).acr === ACR.secondFactor) return { step: 'not_needed' }
      if ((await factors.confirmedFactors(actor.userId)).length === 0) return { step: 'unavailable' }
      const now = clock.now()
      const challenge = newToken()
      await factors.createChallenge({ idHash: hashToken(challenge), userId: actor.userId, realm: actor.realm, createdAt: now, expiresAt: new Date(now.getTime() + SECOND_STEP_MS) })
      return { step: 'challenge', challenge }
    },

    /**
     * Signs out: this portal session ends, and with it every connected app's single sign-on session
     * and grant of the person (refresh tokens stop working), with the audit event, in one transaction.
     */
    async signOut(actor: Actor, token: string, ctx: RequestContext): Promise<void> {
      const idHash = hashToken(token)
      if (actor.kind !== 'user') {
        await repo.deleteSession(idHash)
        return
      }
      await repo.transaction(async (tx) => {
        await tx.endAccess(actor.userId, { only: idHash })
        await tx.audit({ at: clock.now(), actor: actorRef(actor), action: 'sign_out', target: { type: 'user', id: actor.userId }, requestId: ctx.requestId, ip: ctx.ip })
      })
    },

    /**
     * "Forgot password": when an account that may sign in matches, it gets a single-use link valid
     * 30 minutes. The caller answers the same either way and does not wait for `settled`, so the
     * answer's timing does not tell whether an account matched.
     */
    requestPasswordReset(actor: Actor, input: { realm: string; identifier: string; locale: string }, ctx: RequestContext): { settled: Promise<void> } {
      const settled = (async () => {
        const now = clock.now()
        const user = await repo.findByLogin(input.realm, input.identifier.trim())
        if (!user?.email || !may(user.status, 'selfReset')) return
        const token = newToken()
        const locale = user.locale || input.locale
        await repo.transaction(async (tx) => {
          await tx.createToken({ userId: user.id, purpose: 'reset_password', tokenHash: hashToken(token), expiresAt: new Date(now.getTime() + RESET_TTL_MS), createdAt: now })
          await tx.enqueueMail({
            key: `reset:${user.id}:${hashToken(token).slice(0, 16)}`, to: user.email ?? '', locale, template: 'password-reset',
            data: { name: `${user.firstName} ${user.lastName}`, minutes: RESET_TTL_MS / 60000, url: `${ctx.publicUrl}/${locale}/password/reset/${token}` },
          }, now)
          await tx.audit({ at: now, actor: actorRef(actor), action: 'password.reset_requested', target: { type: 'user', id: user.id }, requestId: ctx.requestId, ip: ctx.ip })
        })
      })()
      return { settled }
    },

    /** Checks that a reset link is still good before showing its form. */
    async checkResetToken(token: string): Promise<UserRow> {
      return (await liveToken(token, ['reset_password', 'admin_reset'])).user
    },

    /** Sets a new password from a reset link: the link dies, every session ends, the owner is told. */
    async resetPassword(actor: Actor, input: { token: string; password: string; confirm: string }, ctx: RequestContext): Promise<UserRow> {
      const { row, user } = await liveToken(input.token, ['reset_password', 'admin_reset'])
      const passwordHash = await acceptNewPassword(input, user)
      const now = clock.now()
      await repo.transaction(async (tx) => {
        if (!(await tx.useToken(row.id, now))) throw new AppError('TOKEN_INVALID')
        await tx.setPassword(user.id, passwordHash, now)
        await tx.killTokens(user.id, ['reset_password', 'admin_reset'], now)
        await tx.endAccess(user.id, { all: true })
        await tx.setLock(user.id, null, 0)
        if (user.email) {
          await tx.enqueueMail({
            key: `password-changed:${user.id}:${now.toISOString()}`, to: user.email, locale: user.locale, template: 'password-changed',
            data: { name: `${user.firstName} ${user.lastName}`, url: `${ctx.publicUrl}/${user.locale}${user.realm === 'shop' ? '/shop' : ''}/password/forgot` },
          }, now)
        }
        await tx.audit({ at: now, actor: actorRef(actor), action: 'password.reset', target: { type: 'user', id: user.id }, data: { via: row.purpose }, requestId: ctx.requestId, ip: ctx.ip })
      })
      return user
    },

    /** Checks that an invitation link is still good before showing its form. */
    async checkInvitation(token: string): Promise<UserRow> {
      return (await liveToken(token, ['invite'])).user
    },

    /**
     * An invited user chooses a password with the single-use link and is signed in. The account has
     * no verified email yet, so the next page asks for one.
     */
    async acceptInvitation(_actor: Actor, input: { token: string; password: string; confirm: string }, ctx: RequestContext): Promise<{ token: string; user: UserRow }> {
      const { row, user } = await liveToken(input.token, ['invite'])
      const passwordHash = await acceptNewPassword(input, user)
      const now = clock.now()
      const session = newToken()
      await repo.transaction(async (tx) => {
        if (!(await tx.useToken(row.id, now))) throw new AppError('TOKEN_INVALID')
        await tx.setPassword(user.id, passwordHash, now)
        await tx.createSession(newSession(session, user.id, now, ctx))
        await tx.markSignedIn(user.id, now, user.status)
        await tx.recordAttempt({ realm: user.realm, userId: user.id, success: true, ip: ctx.ip, at: now })
        await tx.audit({ at: now, actor: { type: 'user', id: user.id }, action: 'invitation.accepted', target: { type: 'user', id: user.id }, requestId: ctx.requestId, ip: ctx.ip })
      })
      options.onSignIn?.(user.realm, 'success')
      return { token: session, user }
    },

    /**
     * Where a person goes right after signing in: an account without a verified email to the email
     * step first (after an administrator replaced a lost address nothing else works until then);
     * else where they were going; with nowhere given, administrators and support agents to their
     * workspace and everyone else to the help center.
     */
    async landingAfterSignIn(user: UserRow, nextGiven: boolean, roles?: readonly RoleGrant[]): Promise<'verify_email' | 'next' | 'workspace' | 'help'> {
      if (!user.emailVerifiedAt) return 'verify_email'
      if (nextGiven) return 'next'
      // The roles the sign-in read with the account, when it did; else read them now.
      const found = roles ? { user, roles } : await repo.findUserWithRoles(user.id)
      const actor = found ? actorOf(found.user, found.roles) : undefined
      return actor && (isAdministrator(actor) || canAnywhere(actor, 'view_tickets')) ? 'workspace' : 'help'
    },

    /** The actor a signed-in request of this account carries (the CLI and tests act as someone). */
    async actorFor(userId: number): Promise<Actor> {
      const found = await repo.findUserWithRoles(userId)
      if (!found) throw new AppError('NOT_FOUND')
      return actorOf(found.user, found.roles)
    },

    /** A connected app got a token for this account: activity in its realm (warned accounts become active). */
    recordAppActivity: (userId: number) => repo.recordAppActivity(userId, clock.now()),

    /** Reclaims portal sessions that are past their end or idle too long (a schedule calls it). */
    purgeExpiredSessions: () => {
      const now = clock.now()
      return repo.deleteExpiredSessions(now, new Date(now.getTime() - SESSION_IDLE_MS))
    },

    /**
     * Removes registrations not verified within a day (a schedule calls it): their user ID and
     * address are free again, so nobody can hold someone else's address by registering it.
     */
    purgeUnverified: () => repo.purgeUnverified(new Date(clock.now().getTime() - UNVERIFIED_TTL_MS)),

    async findAccount(_actor: Actor, realm: string, identifier: string): Promise<UserRow | undefined> {
      return repo.findByLogin(realm, identifier)
    },

    /** Creates an account with a password (demo seed and tests; invitations and import build on it). */
    async createUser(input: {
      realm: string; userId: string; firstName: string; lastName: string; email: string | null; emailVerified: boolean
      locale: string; companyId: number | null; password: string | null; status?: UserRow['status']
      roles?: { role: 'user' | 'org_admin' | 'market_admin' | 'support_agent' | 'platform_admin'; marketId?: number; companyId?: number }[]
    }): Promise<UserRow> {
      const now = clock.now()
      return repo.insertUser({
        realm: input.realm, userId: input.userId, firstName: input.firstName, lastName: input.lastName, email: input.email,
        emailVerifiedAt: input.emailVerified ? now : null, locale: input.locale, companyId: input.companyId,
        passwordHash: input.password ? await hashPassword(input.password) : null, passwordChangedAt: input.password ? now : null,
        status: input.status ?? 'active', lastActivityAt: now, createdAt: now, updatedAt: now,
      }, input.roles ?? [{ role: 'user' }])
    },

  }
}

export type AuthService = ReturnType<typeof createAuthService>
