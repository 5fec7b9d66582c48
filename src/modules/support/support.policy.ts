import type { TicketState } from '../../db/schema/index.js'

/**
 * The states an agent may move a ticket to. A requester's answer reopens waiting and solved
 * tickets (the repo does that); closed is final, and solved tickets close on their own after 7 days.
 */
export const agentTransitions: Record<TicketState, readonly TicketState[]> = {
  new: ['open', 'waiting_on_requester', 'solved', 'closed'],
  open: ['waiting_on_requester', 'solved', 'closed'],
  waiting_on_requester: ['open', 'solved', 'closed'],
  solved: ['open', 'closed'],
  closed: [],
}
