export { createOrganizationsRepo, MARKET_CHANNEL, type CompanyRow, type MarketRow, type MarketInput } from './organizations.repo.js'
export { createOrganizationsService, isTimeZone, MAX_SERVICE_HOURS, type OrganizationsService, type PartnerListing, type ServiceLevelsInput } from './organizations.service.js'
export { marketOfLocale, organizationsRoutes } from './organizations.routes.js'
export { PartnerContact, PartnerReminders, type PartnerReminder } from './organizations.pages.js'
