import { sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/client.js'
import { rows } from '../../db/query.js'

export interface AuditRow extends Record<string, unknown> {
  id: number
  at: Date | string
  actor_type: string
  actor_name: string | null
  action: string
  target_type: string | null
  target_id: number | null
  target_name: string | null
  /** For the sentence a reader sees: who acted (name and roles), whom or what it was about. */
  actor_first_name: string | null
  actor_last_name: string | null
  actor_roles: string | null
  target_first_name: string | null
  target_last_name: string | null
  target_company: string | null
  target_reference: string | null
  data: Record<string, unknown> | null
  request_id: string | null
  ip: string | null
}

export interface AuditFilter {
  /** null: everything (platform); else events of these markets and companies, or about their users. */
  scope: { marketIds: number[]; companyIds: number[] } | null
  /** Start of an action name: "account." or "sign_in". */
  action?: string | undefined
  /** Only events about this account (its timeline). */
  targetUserId?: number | undefined
  from?: Date | undefined
  to?: Date | undefined
  limit: number
  offset: number
}

function ints(values: number[]): SQL {
  return values.length > 0 ? sql`array[${sql.join(values.map((v) => sql`${v}`), sql`, `)}]::int[]` : sql`array[]::int[]`
}

export function createAdminRepo(db: Db) {
  return {
    /**
     * Audit events an administrator may read, newest first. An event belongs to a scope by the
     * scope it recorded or by the company of the user it is about; accounts appear by their user ID
     * (an erased one by its tombstone).
     */
    async auditEvents(filter: AuditFilter): Promise<AuditRow[]> {
      const scope = filter.scope
        ? sql`and (
            (e.scope->>'marketId')::int = any(${ints(filter.scope.marketIds)}) or tc.market_id = any(${ints(filter.scope.marketIds)})
            or (e.scope->>'companyId')::int = any(${ints(filter.scope.companyIds)}) or tu.company_id = any(${ints(filter.scope.companyIds)}))`
        : sql``
      const action = filter.action ? sql`and e.action like ${`${filter.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}` : sql``
      const about = filter.targetUserId === undefined ? sql`` : sql`and e.target_type = 'user' and e.target_id = ${filter.targetUserId}`
      const from = filter.from ? sql`and e.at >= ${filter.from.toISOString()}::timestamptz` : sql``
      const to = filter.to ? sql`and e.at < ${filter.to.toISOString()}::timestamptz` : sql``
      return rows<AuditRow>(db, sql`
        select e.id, e.at, e.actor_type, au.user_id as actor_name, e.action, e.target_type, e.target_id,
          coalesce(tu.user_id, tco.company_number) as target_name, e.data, e.request_id, e.ip,
          au.first_name as actor_first_name, au.last_name as actor_last_name,
          (select string_agg(distinct r.role, ',') from user_roles r where r.user_id = au.id) as actor_roles,
          tu.first_name as target_first_name, tu.last_name as target_last_name, tco.name as target_company,
          coalesce(tt.reference, e.data->>'reference') as target_reference
        from audit_events e
        left join users au on e.actor_type = 'user' and au.id = e.actor_id
        left join users tu on e.target_type = 'user' and tu.id = e.target_id
        left join companies tc on tc.id = tu.company_id
        left join companies tco on e.target_type = 'company' and tco.id = e.target_id
        left join tickets tt on e.target_type = 'ticket' and tt.id = e.target_id
        where true ${scope} ${about} ${action} ${from} ${to}
        order by e.at desc, e.id desc limit ${filter.limit} offset ${filter.offset}`)
    },

    /** Accounts of a market's companies by status (tombstones count as deleted). */
    async accountsByStatus(marketId: number): Promise<{ status: string; n: number }[]> {
      return rows<{ status: string; n: number }>(db, sql`
        select u.status, count(*)::int as n from users u join companies c on c.id = u.company_id
        where c.market_id = ${marketId} group by u.status order by u.status`)
    },

    /**
     * Sign-in attempts per day (in `timeZone`) over the last `days` days up to `now`: succeeded and
     * failed. For a market, the attempts on its companies' accounts; for the platform (null), all of
     * them, attempts on unknown user IDs included.
     */
    async signInsPerDay(marketId: number | null, days: number, now: Date, timeZone: string): Promise<{ day: string; succeeded: number; failed: number }[]> {
      const at = sql`${now.toISOString()}::timestamptz`
      const since = sql`((date_trunc('day', ${at} at time zone ${timeZone}) - ${String(days - 1)} * interval '1 day') at time zone ${timeZone})`
      const inMarket = marketId === null ? sql`` : sql`and a.user_id in (select u.id from users u join companies c on c.id = u.company_id where c.market_id = ${marketId})`
      return rows<{ day: string; succeeded: number; failed: number }>(db, sql`
        select to_char((a.at at time zone ${timeZone})::date, 'YYYY-MM-DD') as day,
          (count(*) filter (where a.success))::int as succeeded, (count(*) filter (where not a.success))::int as failed
        from sign_in_attempts a where a.at >= ${since} and a.at <= ${at} ${inMarket}
        group by 1 order by 1`)
    },

    /** Lifecycle steps taken in a market since `since`, per step. */
    async lifecycleSince(marketId: number, since: Date): Promise<{ action: string; n: number }[]> {
      return rows<{ action: string; n: number }>(db, sql`
        select e.action, count(*)::int as n from audit_events e
        join users u on e.target_type = 'user' and u.id = e.target_id join companies c on c.id = u.company_id
        where c.market_id = ${marketId} and e.action like 'lifecycle.%' and e.at >= ${since.toISOString()}::timestamptz
        group by e.action`)
    },
  }
}

export type AdminRepo = ReturnType<typeof createAdminRepo>
