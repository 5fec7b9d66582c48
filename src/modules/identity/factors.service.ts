import type { Actor } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import type { RequestContext } from './auth.service.js'
import { createFactorsRepo } from './factors.repo.js'
import type { IdentityRepo, UserRow } from './identity.repo.js'
import { verifyPassword } from './password.js'
import { challengeHash, PASSKEY_CHALLENGE_MS, parseAnswer, registrationOptions, relyingParty, verifyRegistration } from './passkeys.js'
import { createPasskeysRepo } from './passkeys.repo.js'
import { enrolmentCode, factorRequirement, graceAfter, newRecoveryCodes, newTotpSecret, recoveryCodeHash, secondFactorRequired, totpStep } from './second-factor.js'
import type { FactorSecrets } from './factor-secrets.js'

function signedInUser(actor: Actor): Extract<Actor, { kind: 'user' }> {
  if (actor.kind !== 'user') throw new AppError('NOT_SIGNED_IN')
  return actor
}

/** A person's own second factors on the account page: enrol, name, remove, recovery codes. */
export function createFactorsService(repo: IdentityRepo, options: { issuer: string; secrets: FactorSecrets }) {
  const factors = createFactorsRepo(repo.executor)

  async function me(actor: Actor): Promise<UserRow> {
    const user = await repo.findUser(signedInUser(actor).userId)
    if (!user) throw new AppError('NOT_SIGNED_IN')
    return user
  }
  async function assertPassword(user: UserRow, password: string): Promise<void> {
    if (!user.passwordHash || !(await verifyPassword(user.passwordHash, password))) throw new AppError('CURRENT_PASSWORD_WRONG')
  }
  const audit = (user: UserRow, action: string, data: Record<string, unknown>, ctx: RequestContext) =>
    ({ at: clock.now(), actor: { type: 'user', id: user.id }, action, target: { type: 'user', id: user.id }, data, requestId: ctx.requestId, ip: ctx.ip })

  return {
    /** The factors as the account page lists them, whether one is required, and the grace left. */
    async overview(actor: Actor) {
      const user = await me(actor)
      const [list, recoveryLeft, facts] = await Promise.all([factors.confirmedFactors(user.id), factors.unusedRecoveryCodes(user.id), factors.policyFacts(user.id)])
      const requiredBy = factorRequirement(facts)
      const required = requiredBy !== null
      const grace = required && list.length === 0 ? graceAfter(user.factorGraceUsed) : null
      return {
        factors: list.map((f) => ({ id: f.id, kind: f.kind, name: f.name, createdAt: f.createdAt, lastUsedAt: f.lastUsedAt })),
        recoveryLeft,
        required,
        requiredBy,
        /** Sign-ins left without a factor (null: none is required, or one is enrolled). */
        graceLeft: grace ? grace.left : null,
        /** The grace is used up: the portal waits for a factor. */
        graceOver: grace?.mustEnrol ?? false,
      }
    },

    /**
     * Starts adding an authenticator app: a new secret, as a QR code and as text to type. It counts
     * only once confirmed with a code; an older unconfirmed one is dropped.
     */
    async startTotp(actor: Actor): Promise<{ factorId: number; secret: string; uri: string; qr: string }> {
      const user = await me(actor)
      const secret = newTotpSecret()
      const now = clock.now()
      const factor = await repo.transaction(async (tx) => {
        const inTx = createFactorsRepo(tx.executor)
        await inTx.dropUnconfirmed(user.id)
        return inTx.addFactor({ userId: user.id, kind: 'totp', name: '', secret: options.secrets.seal(secret), createdAt: now })
      })
      return { factorId: factor.id, secret, ...(await enrolmentCode(secret, options.issuer, user.email ?? user.userId)) }
    },

    /** The enrolment being confirmed, shown again after a wrong code. */
    async pendingTotp(actor: Actor, factorId: number) {
      const user = await me(actor)
      const factor = await factors.factor(user.id, factorId)
      if (!factor || factor.confirmedAt) throw new AppError('NOT_FOUND')
      const secret = options.secrets.open(factor.secret)
      return { factorId, secret, ...(await enrolmentCode(secret, options.issuer, user.email ?? user.userId)) }
    },

    /**
     * Confirms an authenticator with a code it shows, under a name. The first factor of an account
     * comes with ten recovery codes, returned once here (only their hashes are kept).
     */
    async confirmTotp(actor: Actor, input: { factorId: number; name: string; code: string }, ctx: RequestContext): Promise<{ recoveryCodes: string[] | null }> {
      const user = await me(actor)
      const factor = await factors.factor(user.id, input.factorId)
      if (!factor || factor.confirmedAt) throw new AppError('NOT_FOUND')
      const now = clock.now()
      const step = totpStep(options.secrets.open(factor.secret), input.code, now)
      if (step === null) throw new AppError('FACTOR_CODE_WRONG')
      return repo.transaction(async (tx) => {
        const inTx = createFactorsRepo(tx.executor)
        const first = (await inTx.confirmedFactors(user.id)).length === 0
        await inTx.confirmFactor(factor.id, input.name.trim() || 'Authenticator', step, now)
        const codes = first ? newRecoveryCodes() : null
        if (codes) await inTx.replaceRecoveryCodes(user.id, codes.map(recoveryCodeHash), now)
        await inTx.releaseSessions(user.id)
        await tx.audit(audit(user, 'factor.added', { factor: factor.id, kind: factor.kind }, ctx))
        return { recoveryCodes: codes }
      })
    },

    /**
     * Starts adding a passkey: the browser's prompt options. Their challenge is kept (hashed) for
     * this account only, used once, for a few minutes.
     */
    async startPasskey(actor: Actor, ctx: RequestContext) {
      const user = await me(actor)
      const passkeys = createPasskeysRepo(repo.executor)
      const prompt = await registrationOptions(relyingParty(ctx.publicUrl), {
        rpName: options.issuer, userName: user.email ?? user.userId, displayName: `${user.firstName} ${user.lastName}`.trim() || user.userId, existing: await passkeys.passkeysOf(user.id),
      })
      const now = clock.now()
      await passkeys.createChallenge({ challengeHash: challengeHash(prompt.challenge), purpose: 'enrol', realm: user.realm, userId: user.id, stepHash: null, expiresAt: new Date(now.getTime() + PASSKEY_CHALLENGE_MS) }, now)
      return prompt
    },

    /**
     * Adds the passkey the browser created, under a name, when its answer verifies against a
     * challenge issued to this account. Like an authenticator app, the first factor comes with
     * recovery codes.
     */
    async finishPasskey(actor: Actor, input: { name: string; response: string }, ctx: RequestContext): Promise<{ recoveryCodes: string[] | null }> {
      const user = await me(actor)
      const now = clock.now()
      const passkeys = createPasskeysRepo(repo.executor)
      const answer = parseAnswer(input.response)
      const passkey = answer && await verifyRegistration(relyingParty(ctx.publicUrl), answer,
        (challenge) => passkeys.useChallenge(challengeHash(challenge), { purpose: 'enrol', realm: user.realm, userId: user.id }, now))
      if (!passkey) throw new AppError('PASSKEY_NOT_ADDED')
      return repo.transaction(async (tx) => {
        const inTx = createFactorsRepo(tx.executor)
        const first = (await inTx.confirmedFactors(user.id)).length === 0
        const factorId = await createPasskeysRepo(tx.executor).addPasskey({ userId: user.id, name: input.name.trim() || 'Passkey', at: now, passkey })
        if (!factorId) throw new AppError('PASSKEY_NOT_ADDED')
        const codes = first ? newRecoveryCodes() : null
        if (codes) await inTx.replaceRecoveryCodes(user.id, codes.map(recoveryCodeHash), now)
        await inTx.releaseSessions(user.id)
        await tx.audit(audit(user, 'factor.added', { factor: factorId, kind: 'passkey' }, ctx))
        return { recoveryCodes: codes }
      })
    },

    async renameFactor(actor: Actor, input: { factorId: number; name: string }, ctx: RequestContext): Promise<void> {
      const user = await me(actor)
      await repo.transaction(async (tx) => {
        if (!(await createFactorsRepo(tx.executor).renameFactor(user.id, input.factorId, input.name.trim()))) throw new AppError('NOT_FOUND')
        await tx.audit(audit(user, 'factor.renamed', { factor: input.factorId }, ctx))
      })
    },

    /**
     * Removes a factor after the password. The last one stays where the policy requires a factor;
     * with the last one go the recovery codes.
     */
    async removeFactor(actor: Actor, input: { factorId: number; password: string }, ctx: RequestContext): Promise<void> {
      const user = await me(actor)
      await assertPassword(user, input.password)
      await repo.transaction(async (tx) => {
        const inTx = createFactorsRepo(tx.executor)
        const list = await inTx.confirmedFactors(user.id)
        if (!list.some((f) => f.id === input.factorId)) throw new AppError('NOT_FOUND')
        if (list.length === 1 && secondFactorRequired(await inTx.policyFacts(user.id))) throw new AppError('LAST_FACTOR_REQUIRED')
        await inTx.removeFactor(user.id, input.factorId)
        if (list.length === 1) await inTx.replaceRecoveryCodes(user.id, [], clock.now())
        await tx.audit(audit(user, 'factor.removed', { factor: input.factorId }, ctx))
      })
    },

    /** Ten new recovery codes after the password; the old ones stop working. */
    async renewRecoveryCodes(actor: Actor, input: { password: string }, ctx: RequestContext): Promise<string[]> {
      const user = await me(actor)
      await assertPassword(user, input.password)
      const codes = newRecoveryCodes()
      await repo.transaction(async (tx) => {
        const inTx = createFactorsRepo(tx.executor)
        if ((await inTx.confirmedFactors(user.id)).length === 0) throw new AppError('NOT_FOUND')
        await inTx.replaceRecoveryCodes(user.id, codes.map(recoveryCodeHash), clock.now())
        await tx.audit(audit(user, 'factor.recovery_renewed', {}, ctx))
      })
      return codes
    },
  }
}

export type FactorsService = ReturnType<typeof createFactorsService>
