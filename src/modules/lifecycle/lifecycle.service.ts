import Type from 'typebox'
import Value from 'typebox/value'
import { assertCan } from '../../shared/access.js'
import type { Actor } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import { sweepSteps as stages, type ForecastPerson, type ForecastScope, type InactivityRepo, type StepMail, type SweepStep as Stage } from '../identity/index.js'
import type { LifecycleRepo, RealmPolicy } from './lifecycle.repo.js'

const DAY_MS = 24 * 60 * 60 * 1000
/** Sent emails are kept this long (for the administrator's timeline), then forgotten. */
const MAIL_RETENTION_DAYS = 90
export const SWEEP_LOCK = 'lifecycle-sweep'

export const PolicyInput = Type.Object({
  warnBlockDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  blockDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  warnDeleteDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  deleteDays: Type.Integer({ minimum: 1, maximum: 3650 }),
})
export type PolicyInput = Type.Static<typeof PolicyInput>

/** The forecast's periods, in days from now; the pages offer these and nothing else. */
export const forecastHorizons = [7, 30, 90] as const
export type ForecastHorizon = (typeof forecastHorizons)[number]
/** At most this many people are listed behind one figure (the CSV has the same). */
export const FORECAST_PEOPLE_MAX = 2000

/** Whose forecast: a market (its administrators) or one company of it (its organization administrators too). */
export interface ForecastTarget {
  marketId: number
  companyId: number | null
}

export interface InactivityForecast {
  at: Date
  horizons: readonly number[]
  /** Per company (by name), per step, the accounts reached within each horizon. */
  companies: { companyId: number; companyName: string; counts: Record<Stage, number[]> }[]
  totals: Record<Stage, number[]>
}

export interface SweepOptions {
  /** Called as a sweep advances: accounts moved so far, and the accounts due when it started. */
  onProgress?: (done: number, total: number) => void
  dryRun?: boolean
  /** Accounts moved per transaction. */
  batchSize?: number
  /** Called after each committed batch; tests use it to stop a sweep half-way. */
  afterBatch?: (stage: Stage, moved: number) => void | Promise<void>
}

export interface SweepReport {
  /** False when another process was already sweeping: nothing was done. */
  ran: boolean
  dryRun: boolean
  at: Date
  /** Accounts moved (or, in a dry run, due) per realm and step. */
  realms: Record<string, Record<Stage, number>>
}

export interface LifecycleDeps {
  /** Identity's writes to accounts: the sweep decides when, identity how. */
  accounts: InactivityRepo
  /** How many batches may run at once (connections the database gives the sweep). */
  parallelism: number
  withExclusiveLock<T>(name: string, work: () => Promise<T>): Promise<T | undefined>
}

/**
 * The inactivity lifecycle: accounts unused for a while are warned, blocked, warned again and
 * deleted, per their realm's policy, with one email per step and inactivity period.
 */
export function createLifecycleService(repo: LifecycleRepo, deps: LifecycleDeps) {
  /** What each step's email links to and promises (accounts without an address get none). */
  function stepMail(stage: Stage, policy: RealmPolicy, publicUrl: string): StepMail {
    const help = { prefix: `${publicUrl}/`, path: '/support/new?topic=account-status' }
    switch (stage) {
      case 'block_warned':
        return { url: { prefix: `${publicUrl}/`, path: policy.key === 'shop' ? '/shop/login' : '/login' }, promise: { stepDays: policy.blockDays, warnDays: policy.warnBlockDays } }
      case 'blocked':
        return { url: help }
      case 'delete_warned':
        return { url: help, promise: { stepDays: policy.deleteDays, warnDays: policy.warnDeleteDays } }
      case 'deleted':
        return {}
    }
  }

  const repoScope = (target: ForecastTarget): ForecastScope => (target.companyId === null ? { marketId: target.marketId } : { companyId: target.companyId })

  async function sweepRealm(policy: RealmPolicy, now: Date, options: SweepOptions, publicUrl: string, progress: { done: number; total: number }): Promise<Record<Stage, number>> {
    if (options.dryRun) return deps.accounts.countDue(policy, now)
    const counts = Object.fromEntries(stages.map((s) => [s, 0])) as Record<Stage, number>
    const batchSize = options.batchSize ?? 5000
    // One worker per connection the database can give, each walking its own slice of the ids:
    // a bulk step is bound by PostgreSQL's CPU, and one statement runs on one core.
    const whole = await deps.accounts.idRange(policy.key)
    const width = Math.ceil((whole.upTo - whole.after) / deps.parallelism)
    const slices = Array.from({ length: deps.parallelism }, (_, i) => ({ after: whole.after + i * width, upTo: Math.min(whole.upTo, whole.after + (i + 1) * width) }))
      .filter((slice) => slice.upTo > slice.after)
    for (const stage of stages) {
      const mail = stepMail(stage, policy, publicUrl)
      // When one worker fails the others stop after their current batch, and the sweep ends only
      // once all have: the lock must not be released while a batch is still running.
      let failure: { error: unknown } | undefined
      await Promise.all(slices.map(async (slice) => {
        try {
          for (let after = slice.after; failure === undefined;) {
            const batch = await deps.accounts.advance(stage, policy, now, { after, upTo: slice.upTo }, batchSize, mail)
            counts[stage] += batch.moved
            progress.done += batch.moved
            if (batch.moved > 0) options.onProgress?.(progress.done, Math.max(progress.done, progress.total))
            if (batch.moved > 0) await options.afterBatch?.(stage, batch.moved)
            if (batch.moved < batchSize) break
            after = batch.lastId
          }
        } catch (error) {
          failure ??= { error }
        }
      }))
      if (failure) throw failure.error
    }
    return counts
  }

  return {
    /**
     * How many accounts of a market (or a company) each step will reach in the next 7, 30 and 90
     * days if nobody signs in, per company, by the realms' policies and the sweep's own rules.
     */
    async forecast(actor: Actor, target: ForecastTarget): Promise<InactivityForecast> {
      assertCan(actor, 'forecast_inactivity', target)
      const now = clock.now()
      const byCompany = new Map<number, InactivityForecast['companies'][number]>()
      const zero = () => Object.fromEntries(stages.map((s) => [s, forecastHorizons.map(() => 0)])) as Record<Stage, number[]>
      const totals = zero()
      for (const policy of await repo.policies()) {
        for (const row of await deps.accounts.forecast(policy, now, forecastHorizons, repoScope(target))) {
          const entry = byCompany.get(row.companyId) ?? { companyId: row.companyId, companyName: row.companyName, counts: zero() }
          byCompany.set(row.companyId, entry)
          for (const stage of stages) {
            row.counts[stage].forEach((n, i) => {
              entry.counts[stage][i] = (entry.counts[stage][i] ?? 0) + n
              totals[stage][i] = (totals[stage][i] ?? 0) + n
            })
          }
        }
      }
      const companies = [...byCompany.values()].sort((a, b) => a.companyName.localeCompare(b.companyName) || a.companyId - b.companyId)
      return { at: now, horizons: forecastHorizons, companies, totals }
    },

    /** The people behind one figure of the forecast: whom `stage` will reach within `days`, soonest first. */
    async forecastPeople(actor: Actor, target: ForecastTarget, query: { days: ForecastHorizon; stage: Stage; companyId?: number | undefined }): Promise<ForecastPerson[]> {
      assertCan(actor, 'forecast_inactivity', target)
      const now = clock.now()
      const people: ForecastPerson[] = []
      for (const policy of await repo.policies()) people.push(...await deps.accounts.forecastPeople(policy, now, query.days, repoScope(target), query.stage, FORECAST_PEOPLE_MAX))
      return people
        .filter((p) => query.companyId === undefined || p.company_id === query.companyId)
        .sort((a, b) => new Date(a.due_at).getTime() - new Date(b.due_at).getTime() || a.id - b.id)
        .slice(0, FORECAST_PEOPLE_MAX)
    },

    /**
     * "Remind them now": everyone of the scope who can still sign in and whom a step will reach
     * within `days` gets an email in their language with a link to the sign-in page (a plain
     * link: signing in is what keeps the account). At most one reminder per person and inactivity
     * period; each one is audited with the administrator's name.
     */
    async remind(actor: Actor, target: ForecastTarget, days: ForecastHorizon, ctx: { publicUrl: string; requestId?: string | undefined; ip?: string | undefined }): Promise<{ queued: number; already: number }> {
      assertCan(actor, 'forecast_inactivity', target)
      const now = clock.now()
      const total = { queued: 0, already: 0 }
      for (const policy of await repo.policies()) {
        const result = await deps.accounts.remind(policy, now, days, repoScope(target),
          { prefix: `${ctx.publicUrl}/`, path: policy.key === 'shop' ? '/shop/login' : '/login' },
          { actorType: actor.kind, actorId: actor.kind === 'user' ? actor.userId : null, requestId: ctx.requestId, ip: ctx.ip, scope: { marketId: target.marketId, ...(target.companyId === null ? {} : { companyId: target.companyId }) } })
        total.queued += result.queued
        total.already += result.already
      }
      return total
    },

    async policies(_actor: Actor): Promise<RealmPolicy[]> {
      return repo.policies()
    },

    /** A platform administrator sets a realm's days; each step must come after the previous one. */
    async updatePolicy(actor: Actor, realm: string, input: PolicyInput, ctx: { requestId?: string | undefined; ip?: string | undefined }): Promise<RealmPolicy> {
      assertCan(actor, 'manage_platform')
      if (!Value.Check(PolicyInput, input)) {
        const [first] = Value.Errors(PolicyInput, input)
        throw new AppError('INVALID_INPUT', { field: first?.instancePath.slice(1) || 'policy', reason: first?.message ?? '' })
      }
      if (!(input.warnBlockDays < input.blockDays && input.blockDays < input.warnDeleteDays && input.warnDeleteDays < input.deleteDays)) throw new AppError('POLICY_ORDER')
      const before = await repo.policy(realm)
      if (!before) throw new AppError('NOT_FOUND')
      await repo.updatePolicy(realm, input, {
        at: clock.now(), actorType: actor.kind, actorId: actor.kind === 'user' ? actor.userId : null, action: 'lifecycle.policy_changed',
        scope: { realm }, data: {
          before: { warnBlockDays: before.warnBlockDays, blockDays: before.blockDays, warnDeleteDays: before.warnDeleteDays, deleteDays: before.deleteDays },
          after: input,
        },
        requestId: ctx.requestId, ip: ctx.ip,
      })
      return { ...before, ...input }
    },

    /**
     * One sweep over every realm, by one process at a time (an advisory lock), in batches that each
     * commit with their emails: stopped half-way, the next sweep goes on where this one stopped and
     * no one gets an email twice. A second sweep at the same time moves nothing.
     */
    async sweep(actor: Actor, options: SweepOptions & { now?: Date }, ctx: { publicUrl: string }): Promise<SweepReport> {
      assertCan(actor, 'run_schedules')
      const now = options.now ?? clock.now()
      const dryRun = options.dryRun ?? false
      const result = await deps.withExclusiveLock(SWEEP_LOCK, async () => {
        const realms: Record<string, Record<Stage, number>> = {}
        const policies = await repo.policies()
        // The total is what is due when the sweep starts; the progress shows it only when asked for.
        const progress = { done: 0, total: 0 }
        if (options.onProgress && !dryRun) {
          for (const policy of policies) progress.total += Object.values(await deps.accounts.countDue(policy, now)).reduce((a, b) => a + b, 0)
          options.onProgress(0, progress.total)
        }
        for (const policy of policies) realms[policy.key] = await sweepRealm(policy, now, options, ctx.publicUrl, progress)
        if (!dryRun) await repo.purgeSentMail(new Date(now.getTime() - MAIL_RETENTION_DAYS * DAY_MS), ['lifecycle:deleted:'])
        return realms
      })
      return { ran: result !== undefined, dryRun, at: now, realms: result ?? {} }
    },
  }
}

export type LifecycleService = ReturnType<typeof createLifecycleService>
