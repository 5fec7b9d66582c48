export { adminRoutes } from './admin.routes.js'
export { createAdminRepo } from './admin.repo.js'
export { createAdminService, type AdminService } from './admin.service.js'
export { MAX_IMPORT_BYTES, parseUsersCsv, toCsv } from './csv.js'
