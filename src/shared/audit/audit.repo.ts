import type { Db, Tx } from '../../db/client.js'
import { auditEvents } from '../../db/schema/index.js'

export interface AuditInput {
  at: Date
  actor: { type: string; id: number | null }
  action: string
  target?: { type: string; id: number } | undefined
  /** Where it happened, for per-scope audit pages: { marketId, companyId, realm }. */
  scope?: Record<string, unknown> | undefined
  /** What changed (before/after, which fields): never names or addresses, the trail outlives erasure. */
  data?: Record<string, unknown> | undefined
  requestId?: string | undefined
  ip?: string | undefined
}

/** Writes one audit event, inside the caller's transaction when one is given. */
export async function recordAudit(tx: Db | Tx, event: AuditInput): Promise<void> {
  await tx.insert(auditEvents).values({
    at: event.at, actorType: event.actor.type, actorId: event.actor.id, action: event.action,
    targetType: event.target?.type, targetId: event.target?.id, scope: event.scope, data: event.data,
    requestId: event.requestId, ip: event.ip,
  // Prepared: every use case writes one, in its transaction; one round trip instead of two.
  }).prepare('audit_record').execute()
}
