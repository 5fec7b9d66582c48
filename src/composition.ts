import os from 'node:os'
import type { Database } from './db/client.js'
import { systemActor } from './shared/actor.js'
import { isLocale } from './shared/i18n/index.js'
import type { Metrics } from './shared/http/metrics.js'
import { createHelpCenterService, createHelpRepo, type HelpCenterService } from './modules/helpcenter/index.js'
import {
  createAccountService, createAdministrationService, createAuthService, createEmailVerifier, createIdentityRepo, createRegistrationService,
  createImportService, mayAdminister, type AccountService, type AdministrationService, type AuthService, type ImportService, type RegistrationService,
} from './modules/identity/index.js'
import { createAdminRepo, createAdminService, type AdminService } from './modules/admin/index.js'
import { createLifecycleRepo, createLifecycleService, type LifecycleService } from './modules/lifecycle/index.js'
import { createOrganizationsRepo, createOrganizationsService, type OrganizationsService } from './modules/organizations/index.js'
import { createDeskService, createSupportRepo, createSupportService, type DeskService, type SupportService } from './modules/support/index.js'
import { createSsoRepo, createSsoService, type SsoService } from './modules/sso/index.js'

/**
 * The one place services are built and wired to each other (composition root). The HTTP app,
 * the CLI, the seed and the benchmarks all get their services from here; modules never build
 * each other's.
 */

export interface Services {
  help: HelpCenterService
  organizations: OrganizationsService
  auth: AuthService
  account: AccountService
  registration: RegistrationService
  administration: AdministrationService
  lifecycle: LifecycleService
  imports: ImportService
  admin: AdminService
  support: SupportService
  desk: DeskService
  sso: SsoService
}

/** Builds every service on one database; the CLI uses this without HTTP. */
export function createServices(database: Database, metrics?: Metrics, secrets: { oidcKeySecret?: string | undefined } = {}): Services {
  const helpRepo = createHelpRepo(database.db)
  const identityRepo = createIdentityRepo(database.db)
  // Roles live in identity; the organizations service asks it what an actor administers.
  const organizations = createOrganizationsService(createOrganizationsRepo(database.db), { scopeOf: (actor) => administration.scopeOf(actor) })
  const emailVerifier = createEmailVerifier(identityRepo)
  const help = createHelpCenterService(helpRepo, {
    onSearch: (locale, outcome) => metrics?.helpSearches.inc({ locale, outcome }),
  })
  const account = createAccountService(identityRepo, emailVerifier)
  const administration = createAdministrationService(identityRepo, {
    findCompany: (number) => organizations.findCompanyByNumber(systemActor('administration'), number),
    isLocale,
    setCompanyStatus: (companyId, status) => organizations.setCompanyStatus(systemActor('administration'), companyId, status),
  })
  const supportRepo = createSupportRepo(database.db)
  const desk = createDeskService(supportRepo, {
    rolesOf: (userId) => identityRepo.rolesOf(userId),
    marketById: (id) => organizations.marketById(systemActor('support'), id),
    listMarkets: () => organizations.listMarkets(systemActor('support')),
    identity: {
      async findAccount(actor, userId) {
        const found = (await administration.findUsers(actor, { q: userId })).find((u) => u.realm === 'partner' && u.userId.toLowerCase() === userId.trim().toLowerCase())
        return found ? { id: found.id, userId: found.userId, firstName: found.firstName, lastName: found.lastName, status: found.status, lockedUntil: found.lockedUntil, companyName: found.companyName } : null
      },
      checkIdentity: (actor, userId, claims, ctx) => administration.checkIdentity(actor, userId, claims, ctx),
      identityRecord: (actor, userId) => administration.identityRecord(actor, userId),
      restoreAccess: (actor, userId, ctx) => administration.restoreAccess(actor, userId, ctx),
      issueAdminReset: (actor, userId, ctx) => administration.issueAdminReset(actor, userId, {}, ctx),
      mayActOnIdentity: async (actor, marketId) => mayAdminister(await administration.scopeOf(actor), 'restore', { companyId: null, marketId }),
    },
  })
  const support = createSupportService(supportRepo, {
    topics: async (locale) => (await help.listCategories(systemActor('support'), locale)).map((c) => c.key),
    market: (code) => organizations.market(systemActor('support'), code),
    marketById: (id) => organizations.marketById(systemActor('support'), id),
    requester: (actor) => account.requesterProfile(actor),
    myPartner: (actor) => organizations.myPartner(actor),
  })
  // The intake caches markets for a few seconds; a platform edit must reach the next ticket.
  organizations.onMarketChanged((marketId) => { support.forgetMarket(marketId) })
  return {
    help,
    organizations,
    desk,
    auth: createAuthService(identityRepo, { onSignIn: (realm, result) => metrics?.signIns.inc({ realm, result }) }),
    account,
    support,
    registration: createRegistrationService(identityRepo, emailVerifier, {
      findCompany: (number) => organizations.findCompanyByNumber(systemActor('registration'), number),
      createPendingCompany: (input) => organizations.createPendingCompany(systemActor('registration'), input),
    }),
    administration,
    imports: createImportService(identityRepo, administration, {
      findCompany: (number) => organizations.findCompanyByNumber(systemActor('import'), number),
      defaultLocaleOfMarket: async (marketId) => (await organizations.marketById(systemActor('import'), marketId))?.defaultLocale ?? 'en',
    }),
    admin: createAdminService(createAdminRepo(database.db), { scopeOf: (actor) => administration.scopeOf(actor) }),
    lifecycle: createLifecycleService(createLifecycleRepo(database.db), {
      isPlatformAdmin: async (actor) => (await administration.scopeOf(actor)).all,
      withExclusiveLock: (name, work) => database.withExclusiveLock(name, work),
      // PGlite has one connection; on PostgreSQL a bulk sweep uses the cores, up to four.
      parallelism: database.kind === 'postgres' ? Math.min(4, os.availableParallelism()) : 1,
    }),
    sso: createSsoService(createSsoRepo(database.db), {
      scopeOf: (actor) => administration.scopeOf(actor),
      keySecret: () => {
        if (!secrets.oidcKeySecret) throw new Error('OIDC_KEY_SECRET is not resolved (resolveOidcKeySecret)')
        return secrets.oidcKeySecret
      },
    }),
  }
}
