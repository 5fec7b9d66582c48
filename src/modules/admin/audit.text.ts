import { formatList, inSentence, t } from '../../shared/i18n/index.js'
import type { AuditRow } from './admin.repo.js'

/**
 * An audit event as a sentence in the reader's language, naming who acted and whom it was about:
 * "Luca Ferri, market administrator, restored access for Mario Rossi (mrossi01)." Texts live under
 * audit.* in the catalogues; an action without its own sentence still reads as one, never as a code.
 */

/** The role an actor is named by: the one the action was most likely done in. */
const rolePriority = ['platform_admin', 'market_admin', 'org_admin', 'support_agent'] as const

function actorRole(row: AuditRow): string | undefined {
  const roles = (row.actor_roles ?? '').split(',')
  if (row.action.startsWith('ticket.') && roles.includes('support_agent')) return 'support_agent'
  return rolePriority.find((r) => roles.includes(r))
}

function fullName(first: string | null, last: string | null): string {
  return [first, last].filter((p) => p).join(' ')
}

/** Who acted, as the log names them: "Luca Ferri, market administrator", "The portal", "A visitor". */
export function auditActor(locale: string, row: AuditRow): string {
  if (row.actor_type === 'system') return t(locale, 'audit.actor.system')
  if (row.actor_type !== 'user') return t(locale, 'audit.actor.guest')
  const name = fullName(row.actor_first_name, row.actor_last_name)
  if (!name) return t(locale, 'audit.actor.deleted')
  const role = actorRole(row)
  return role ? t(locale, 'audit.actor.withRole', { name, role: t(locale, `admin.roles.${role}`) }) : name
}

/** Whom or what the event was about, by name (an account with its user ID, a company, a ticket reference). */
export function auditTarget(locale: string, row: AuditRow): string {
  if (row.target_type === 'user') {
    const name = fullName(row.target_first_name, row.target_last_name)
    if (!name) return t(locale, 'audit.target.deleted', { id: row.target_id ?? '' })
    return t(locale, 'audit.target.user', { name, userId: row.target_name ?? '' })
  }
  if (row.target_type === 'company') return row.target_company ?? row.target_name ?? t(locale, 'audit.target.none')
  if (row.target_type === 'ticket') return row.target_reference ?? t(locale, 'audit.target.none')
  return t(locale, 'audit.target.none')
}

function dateTime(locale: string, value: unknown): string {
  const date = typeof value === 'string' ? new Date(value) : undefined
  return date && !Number.isNaN(date.getTime()) ? new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date) : ''
}

/** The key of the sentence for an event, and the values only some sentences name. */
function sentenceOf(locale: string, row: AuditRow): { key: string; params: Record<string, string> } {
  const data = row.data ?? {}
  const fields = (value: unknown) => formatList(locale, (Array.isArray(value) ? value : []).map((f) => inSentence(locale, t(locale, `admin.check.fields.${String(f)}`))))
  switch (row.action) {
    case 'identity.checked':
      return data.passed === true ? { key: 'audit.identity.checked.passed', params: {} } : { key: 'audit.identity.checked.failed', params: { fields: fields(data.mismatched) } }
    case 'account.locked':
      return { key: 'audit.account.locked', params: { until: dateTime(locale, data.until) } }
    case 'sign_in.refused':
      return { key: 'audit.sign_in.refused', params: { status: t(locale, `account.statuses.${String(data.status)}`) } }
    case 'role.granted':
    case 'role.revoked':
      return { key: `audit.${row.action}`, params: { role: t(locale, `admin.roles.${String(data.role)}`) } }
    default: {
      const key = `audit.${row.action}`
      return { key: t(locale, key) === key ? 'audit.other' : key, params: {} }
    }
  }
}

export function auditSentence(locale: string, row: AuditRow): string {
  const { key, params } = sentenceOf(locale, row)
  return t(locale, key, { actor: auditActor(locale, row), target: auditTarget(locale, row), ...params })
}

/** The areas the audit log can be filtered by: the value is the start of the recorded action. */
export const auditAreas = ['account.', 'role.', 'identity.', 'password.', 'sign_', 'email.', 'lifecycle.', 'company.', 'market.', 'ticket.', 'sso.', 'factor'] as const
