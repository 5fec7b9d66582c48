export { supportRoutes } from './support.routes.js'
export { createSupportRepo } from './support.repo.js'
export { createSupportService, type SupportService } from './support.service.js'
