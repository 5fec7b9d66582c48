export { ssoAdminRoutes, ssoRoutes } from './sso.routes.js'
export { createSsoService, type ClientInput, type SsoService } from './sso.service.js'
export { createSsoRepo, revokedAppAccess } from './sso.repo.js'
export { isSsoRealm, ssoRealms, SCOPE_CLAIMS, type SsoRealm } from './provider.js'
