export { createOrganizationsRepo, type CompanyRow, type MarketRow, type MarketInput } from './organizations.repo.js'
export { createOrganizationsService, type OrganizationsService, type PartnerListing } from './organizations.service.js'
export { marketOfLocale, organizationsRoutes } from './organizations.routes.js'
export { PartnerContact } from './organizations.pages.js'
