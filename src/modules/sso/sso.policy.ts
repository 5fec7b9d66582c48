import type { AdminScope } from '../identity/index.js'
import { AppError } from '../../shared/errors.js'

/** What the single sign-on module lets administrators do: platform-wide settings, so platform administrators only. */
export type SsoAction = 'clients.manage' | 'keys.rotate'

const rules: Record<SsoAction, (scope: AdminScope) => boolean> = {
  'clients.manage': (scope) => scope.all,
  'keys.rotate': (scope) => scope.all,
}

export function maySso(scope: AdminScope, action: SsoAction): boolean {
  return rules[action](scope)
}

export function assertMaySso(scope: AdminScope, action: SsoAction): void {
  if (!maySso(scope, action)) throw new AppError('FORBIDDEN_SCOPE')
}
