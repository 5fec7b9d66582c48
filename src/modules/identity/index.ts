export { identityRoutes, registerSessions, sessionCookieName } from './identity.routes.js'
export { actorOf, createAuthService, hashToken, type AuthService } from './auth.service.js'
export { createIdentityRepo } from './identity.repo.js'
export { passwordProblem } from './password.js'
