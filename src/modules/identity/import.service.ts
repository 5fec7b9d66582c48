import Type from 'typebox'
import Value from 'typebox/value'
import { randomBytes } from 'node:crypto'
import type { Actor } from '../../shared/actor.js'
import { clock } from '../../shared/clock.js'
import { AppError } from '../../shared/errors.js'
import { hashToken, type RequestContext } from './auth.service.js'
import { INVITE_TTL_MS } from './administration.service.js'
import type { IdentityRepo, NewUser } from './identity.repo.js'
import { can, canAnywhere } from '../../shared/access.js'
import { UserIdPattern } from './identity.schemas.js'

/** The columns of an import file, in the order the template lists them. */
export const importColumns = ['user_id', 'first_name', 'last_name', 'email', 'company_number', 'realm', 'role', 'last_activity'] as const
export const MAX_IMPORT_ROWS = 10_000
const EARLIEST_ACTIVITY = new Date('1990-01-01T00:00:00Z')

/** Why a row cannot be imported; translated under `import.problem.<code>`. */
export type ImportProblemCode =
  | 'syntax' | 'columns' | 'too_many_rows' | 'required' | 'invalid' | 'formula' | 'duplicate_in_file'
  | 'user_id_taken' | 'email_in_use' | 'company_not_found' | 'out_of_scope' | 'activity_out_of_range'

export interface ImportProblem {
  /** Line in the file (the header is line 1). */
  line: number
  field: string
  code: ImportProblemCode
}

export type ImportResult = { ok: true; imported: number; invited: number } | { ok: false; problems: ImportProblem[] }

const ImportRow = Type.Object({
  user_id: Type.String({ pattern: UserIdPattern }),
  first_name: Type.String({ minLength: 1, maxLength: 100 }),
  last_name: Type.String({ minLength: 1, maxLength: 100 }),
  email: Type.Union([Type.Literal(''), Type.String({ format: 'email', maxLength: 256 })]),
  company_number: Type.String({ minLength: 1, maxLength: 40 }),
  realm: Type.Union([Type.Literal('partner'), Type.Literal('shop')]),
  role: Type.Union([Type.Literal('user'), Type.Literal('org_admin')]),
  last_activity: Type.Union([Type.Literal(''), Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}([T ][\\d:.]+(Z|[+-]\\d{2}:?\\d{2})?)?$' })]),
})
type ImportRow = Type.Static<typeof ImportRow>

/** A spreadsheet would run these as formulas: refused on the way in, as exports neutralise them on the way out. */
const FORMULA_START = /^[=+\-@\t\r]/

export interface ImportDeps {
  findCompany(companyNumber: string): Promise<{ id: number; marketId: number } | undefined>
  defaultLocaleOfMarket(marketId: number): Promise<string>
}

/**
 * Importing accounts from another system: every row is checked first and nothing is imported
 * when any row is wrong. Imported accounts are active (no approval), have no password and an
 * unverified email: they choose a password through an invitation link (when asked for) or
 * "Forgot password", then confirm the email at first sign-in. Their last activity carries over,
 * so the inactivity lifecycle goes on from where the old system left it.
 */
export function createImportService(repo: IdentityRepo, deps: ImportDeps) {
  return {
    async importUsers(actor: Actor, records: Record<string, string>[], options: { invite: boolean; onProgress?: (done: number, total: number) => void }, ctx: RequestContext): Promise<ImportResult> {
      if (!canAnywhere(actor, 'import_users')) throw new AppError('FORBIDDEN_SCOPE')
      if (records.length > MAX_IMPORT_ROWS) return { ok: false, problems: [{ line: 1, field: '', code: 'too_many_rows' }] }
      const problems: ImportProblem[] = []
      const valid: { line: number; row: ImportRow }[] = []
      const seenIds = new Map<string, number>()
      const seenEmails = new Map<string, number>()
      records.forEach((record, index) => {
        const line = index + 2
        const row = Object.fromEntries(importColumns.map((c) => [c, (record[c] ?? '').trim()]))
        let rowOk = true
        for (const column of importColumns) {
          const value = row[column] ?? ''
          if (FORMULA_START.test(value)) { problems.push({ line, field: column, code: 'formula' }); rowOk = false }
        }
        if (!rowOk) return
        if (!Value.Check(ImportRow, row)) {
          const fields = new Set([...Value.Errors(ImportRow, row)].map((e) => e.instancePath.slice(1)))
          for (const field of fields) problems.push({ line, field, code: row[field] ? 'invalid' : 'required' })
          return
        }
        // A date in the future would keep the account from ever being swept; one before 1990 is a typo.
        if (row.last_activity) {
          const at = new Date(row.last_activity)
          if (Number.isNaN(at.getTime())) { problems.push({ line, field: 'last_activity', code: 'invalid' }); return }
          if (at > clock.now() || at < EARLIEST_ACTIVITY) { problems.push({ line, field: 'last_activity', code: 'activity_out_of_range' }); return }
        }
        const key = `${row.realm}:${row.user_id.toLowerCase()}`
        if (seenIds.has(key)) problems.push({ line, field: 'user_id', code: 'duplicate_in_file' })
        seenIds.set(key, line)
        if (row.email) {
          const emailKey = `${row.realm}:${row.email.toLowerCase()}`
          if (seenEmails.has(emailKey)) problems.push({ line, field: 'email', code: 'duplicate_in_file' })
          seenEmails.set(emailKey, line)
        }
        valid.push({ line, row })
      })

      const companies = new Map<string, { id: number; marketId: number } | undefined>()
      for (const { row } of valid) {
        const number = row.company_number.toUpperCase()
        if (!companies.has(number)) companies.set(number, await deps.findCompany(number))
      }
      for (const { line, row } of valid) {
        const company = companies.get(row.company_number.toUpperCase())
        if (!company) problems.push({ line, field: 'company_number', code: 'company_not_found' })
        else if (!can(actor, 'import_users', { companyId: company.id, marketId: company.marketId })) problems.push({ line, field: 'company_number', code: 'out_of_scope' })
      }
      for (const realm of ['partner', 'shop']) {
        const inRealm = valid.filter((v) => v.row.realm === realm)
        const taken = await repo.takenInRealm(realm, inRealm.map((v) => v.row.user_id), inRealm.flatMap((v) => (v.row.email ? [v.row.email] : [])))
        for (const { line, row } of inRealm) {
          if (taken.userIds.has(row.user_id.toLowerCase())) problems.push({ line, field: 'user_id', code: 'user_id_taken' })
          if (row.email && taken.emails.has(row.email.toLowerCase())) problems.push({ line, field: 'email', code: 'email_in_use' })
        }
      }
      if (problems.length > 0) return { ok: false, problems: problems.sort((a, b) => a.line - b.line) }

      const now = clock.now()
      const locales = new Map<number, string>()
      for (const company of companies.values()) if (company && !locales.has(company.marketId)) locales.set(company.marketId, await deps.defaultLocaleOfMarket(company.marketId))
      let invited = 0
      options.onProgress?.(0, valid.length)
      await repo.transaction(async (tx) => {
        for (let start = 0; start < valid.length; start += 500) {
          const chunk = valid.slice(start, start + 500).map(({ row }) => {
            const company = companies.get(row.company_number.toUpperCase())
            if (!company) throw new Error('checked above')
            const lastActivity = row.last_activity ? new Date(row.last_activity) : now
            const user: NewUser = {
              realm: row.realm, userId: row.user_id, firstName: row.first_name, lastName: row.last_name, email: row.email || null,
              locale: locales.get(company.marketId) ?? 'en', companyId: company.id, passwordHash: null, status: 'active',
              lastActivityAt: Number.isNaN(lastActivity.getTime()) || lastActivity > now ? now : lastActivity, createdAt: now, updatedAt: now,
            }
            return { user, roles: [{ role: 'user' as const }, ...(row.role === 'org_admin' ? [{ role: 'org_admin' as const, companyId: company.id }] : [])] }
          })
          const inserted = await tx.insertUsers(chunk)
          for (const user of inserted) {
            await tx.audit({ at: now, actor: actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: actor.kind, id: null }, action: 'account.imported', target: { type: 'user', id: user.id }, scope: { companyId: user.companyId }, requestId: ctx.requestId, ip: ctx.ip })
            if (!options.invite || !user.email) continue
            const token = randomBytes(32).toString('base64url')
            await tx.createToken({ userId: user.id, purpose: 'invite', tokenHash: hashToken(token), expiresAt: new Date(now.getTime() + INVITE_TTL_MS), createdAt: now })
            await tx.enqueueMail({
              key: `invite:${user.id}:${hashToken(token).slice(0, 16)}`, to: user.email, locale: user.locale, template: 'invitation',
              data: { name: `${user.firstName} ${user.lastName}`, userId: user.userId, days: INVITE_TTL_MS / 86_400_000, url: `${ctx.publicUrl}/${user.locale}/invite/${token}` },
            }, now)
            invited++
          }
          // Written, not yet committed: the whole file commits at once at the end.
          options.onProgress?.(Math.min(valid.length, start + 500), valid.length)
        }
      })
      return { ok: true, imported: valid.length, invited }
    },
  }
}

export type ImportService = ReturnType<typeof createImportService>
