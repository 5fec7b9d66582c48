export { createOrganizationsRepo, type CompanyRow, type MarketRow, type MarketInput } from './organizations.repo.js'
export { createOrganizationsService, type OrganizationsService } from './organizations.service.js'
