export { scimRoutes, SCIM_PREFIX } from './scim.routes.js'
export { createScimService, type ScimService } from './scim.service.js'
export { createScimRepo } from './scim.repo.js'
