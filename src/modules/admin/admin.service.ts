import type { Actor } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import { assertCan, isAdministrator, whereCan } from '../../shared/access.js'
import type { AdminRepo, AuditRow } from './admin.repo.js'
import { toCsv } from './csv.js'
import { auditActor, auditSentence, auditTarget } from './audit.text.js'
import { t } from '../../shared/i18n/index.js'

const WEEK_MS = 7 * 24 * 60 * 60 * 1000
export const AUDIT_PAGE = 100
/** An export is one file of at most this many events; narrow the filter for more. */
export const AUDIT_EXPORT_MAX = 50_000

export interface AuditQuery {
  action?: string | undefined
  from?: Date | undefined
  to?: Date | undefined
  page?: number | undefined
}

/** The console's own use cases: the audit log of a scope, and market reports. */
export function createAdminService(repo: AdminRepo) {
  async function auditScope(actor: Actor) {
    if (!isAdministrator(actor)) throw new AppError('FORBIDDEN_SCOPE')
    return whereCan(actor, 'view')
  }

  return {
    async auditTrail(actor: Actor, query: AuditQuery): Promise<AuditRow[]> {
      const page = Math.max(1, query.page ?? 1)
      return repo.auditEvents({ scope: await auditScope(actor), action: query.action, from: query.from, to: query.to, limit: AUDIT_PAGE, offset: (page - 1) * AUDIT_PAGE })
    },

    /** What happened to one account, newest first, within the actor's audit scope (the caller checked the account is theirs to view). */
    async accountTimeline(actor: Actor, userId: number): Promise<AuditRow[]> {
      return repo.auditEvents({ scope: await auditScope(actor), targetUserId: userId, limit: AUDIT_PAGE, offset: 0 })
    },

    /** The same events as CSV (cells that a spreadsheet would run as formulas are neutralised). */
    async auditCsv(actor: Actor, query: AuditQuery, locale: string): Promise<string> {
      const events = await repo.auditEvents({ scope: await auditScope(actor), action: query.action, from: query.from, to: query.to, limit: AUDIT_EXPORT_MAX, offset: 0 })
      // The reader's language, as the log page reads: what happened as a sentence, who and whom by name, never a code.
      const when = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' })
      const header = ['admin.audit.when', 'admin.audit.what', 'admin.audit.actor', 'admin.audit.target', 'admin.audit.ip', 'admin.audit.utc', 'admin.audit.requestId'].map((key) => t(locale, key))
      return toCsv(header, events.map((e) => [
        when.format(new Date(e.at)), auditSentence(locale, e), auditActor(locale, e).replace(/,$/, ''), auditTarget(locale, e), e.ip, new Date(e.at).toISOString(), e.request_id,
      ]))
    },

    /** Accounts by status and this week's lifecycle steps in a market. */
    async marketReport(actor: Actor, marketId: number) {
      assertCan(actor, 'import_users', { companyId: null, marketId })
      const [byStatus, week] = await Promise.all([repo.accountsByStatus(marketId), repo.lifecycleSince(marketId, new Date(clock.now().getTime() - WEEK_MS))])
      const steps = Object.fromEntries(week.map((w) => [w.action.replace('lifecycle.', ''), w.n]))
      return {
        byStatus,
        thisWeek: { warned: (steps.block_warned ?? 0) + (steps.delete_warned ?? 0), blocked: steps.blocked ?? 0, deleted: steps.deleted ?? 0 },
      }
    },

    /** Sign-in results per day of a market (its administrators) or, with null, of the platform. */
    async signInsPerDay(actor: Actor, marketId: number | null, days: number, timeZone: string) {
      if (marketId === null) assertCan(actor, 'manage_platform')
      else assertCan(actor, 'import_users', { companyId: null, marketId })
      const now = clock.now()
      return { days, now, timeZone, perDay: await repo.signInsPerDay(marketId, days, now, timeZone) }
    },
  }
}

export type AdminService = ReturnType<typeof createAdminService>
