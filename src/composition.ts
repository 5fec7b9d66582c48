import os from 'node:os'
import type { Database } from './db/client.js'
import { systemActor } from './shared/actor.js'
import { currentBrandName, defaultBrandName, isLocale, setBrandName } from './shared/i18n/index.js'
import type { Metrics } from './shared/http/metrics.js'
import { createHelpCenterService, createHelpRepo, type HelpCenterService } from './modules/helpcenter/index.js'
import {
  createAccountService, createAdministrationService, createAuthService, createEmailVerifier, createIdentityRepo, createRegistrationService,
  createImportService, createInactivityRepo, factorSecrets, unconfiguredFactorSecrets, createFactorsService, createProvisioningService, type FactorsService, type ProvisioningService, type AccountEndings, type AccountService, type AdministrationService, type AuthService, type ImportService, type RegistrationService,
} from './modules/identity/index.js'
import { createAdminRepo, createAdminService, type AdminService } from './modules/admin/index.js'
import { createLifecycleRepo, createLifecycleService, type LifecycleService } from './modules/lifecycle/index.js'
import { createOrganizationsRepo, createOrganizationsService, type OrganizationsService } from './modules/organizations/index.js'
import { createDeskService, createSupportRepo, createSupportService, erasedRequesterData, type DeskService, type SupportService } from './modules/support/index.js'
import { createScimRepo, createScimService, type ScimService } from './modules/scim/index.js'
import { createSsoRepo, createSsoService, queuedBackchannelLogouts, revokedAppAccess, type SsoService } from './modules/sso/index.js'

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
  factors: FactorsService
  registration: RegistrationService
  administration: AdministrationService
  lifecycle: LifecycleService
  imports: ImportService
  admin: AdminService
  support: SupportService
  desk: DeskService
  sso: SsoService
  /** Accounts as a provisioning client (SCIM) manages them, through the account core. */
  provisioning: ProvisioningService
  scim: ScimService
}

/** Builds every service on one database; the CLI uses this without HTTP. */
export function createServices(database: Database, metrics?: Metrics, secrets: { oidcKeySecret?: string | undefined; factorKeySecret?: string | undefined } = {}, site: { brandName?: string | undefined } = {}): Services {
  // Texts, emails and articles name the configured brand (`{brand}`); without one, the default, not
  // whatever an earlier composition in this process set (the tests build many).
  setBrandName(site.brandName ?? defaultBrandName)
  const helpRepo = createHelpRepo(database.db)
  // Identity is the one writer of accounts; ending a person's access or erasing them also runs
  // what single sign-on (app grants, and the back-channel logouts they owe) and support (requester
  // details) keep, in identity's statements.
  const endings: AccountEndings = { appAccess: [queuedBackchannelLogouts, revokedAppAccess], personalData: [erasedRequesterData] }
  const identityRepo = createIdentityRepo(database.db, endings)
  const sealedFactors = secrets.factorKeySecret ? factorSecrets(secrets.factorKeySecret) : unconfiguredFactorSecrets
  const organizationsRepo = createOrganizationsRepo(database.db)
  const organizations = createOrganizationsService(organizationsRepo)
  const emailVerifier = createEmailVerifier(identityRepo)
  const help = createHelpCenterService(helpRepo, {
    brandName: site.brandName,
    onSearch: (locale, outcome) => metrics?.helpSearches.inc({ locale, outcome }),
  })
  const account = createAccountService(identityRepo, emailVerifier)
  const administration = createAdministrationService(identityRepo, {
    findCompany: (number) => organizations.findCompanyByNumber(systemActor('administration'), number),
    isLocale,
    setCompanyStatus: (companyId, status, tx) => organizations.setCompanyStatus(systemActor('administration'), companyId, status, tx),
    requestPartnerReview: (companyId, tx) => organizations.requestPartnerReview(systemActor('administration'), companyId, tx),
  })
  const supportRepo = createSupportRepo(database.db)
  const desk = createDeskService(supportRepo, {
    marketById: (id) => organizations.marketById(systemActor('support'), id),
    listMarkets: () => organizations.listMarkets(systemActor('support')),
    identity: {
      findAccount: (actor, userId) => administration.findForIdentityCheck(actor, userId),
      identityRecord: (actor, userId) => administration.identityRecord(actor, userId),
      checkAndAct: (actor, userId, claims, action, ctx, alongside) => administration.checkAndAct(actor, userId, claims, action, ctx, alongside),
    },
  })
  const support = createSupportService(supportRepo, {
    topics: async (locale) => (await help.listCategories(systemActor('support'), locale)).map((c) => c.key),
    market: (code) => organizations.market(systemActor('support'), code),
    marketById: (id) => organizations.marketById(systemActor('support'), id),
    requester: (actor) => account.requesterProfile(actor),
    myPartner: (actor) => organizations.myPartner(actor),
  })
  // The intake keeps markets until they change: this process forgets at once, the others when the
  // database notifies the change (app.ts).
  organizations.onMarketChanged((marketId) => { support.forgetMarket(marketId) })
  const sso = createSsoService(createSsoRepo(database.db), {
    keySecret: () => {
      if (!secrets.oidcKeySecret) throw new Error('OIDC_KEY_SECRET is not resolved (resolveOidcKeySecret)')
      return secrets.oidcKeySecret
    },
  })
  const provisioning = createProvisioningService(identityRepo, administration, {
    isLocale,
    company: async (key) => {
      const found = 'number' in key ? await organizations.findCompanyByNumber(systemActor('provisioning'), key.number) : await organizations.company(systemActor('provisioning'), key.id)
      return found && found.status !== 'refused' ? { id: found.id, marketId: found.marketId, companyNumber: found.companyNumber } : undefined
    },
  })
  return {
    help,
    provisioning,
    scim: createScimService(createScimRepo(database.db), provisioning, {
      company: (number) => organizations.findCompanyByNumber(systemActor('scim'), number),
      market: (code) => organizations.market(systemActor('scim'), code),
      client: (clientId) => sso.client(systemActor('scim'), clientId),
    }),
    organizations,
    desk,
    auth: createAuthService(identityRepo, { secrets: sealedFactors, onSignIn: (realm, result) => metrics?.signIns.inc({ realm, result }) }),
    account,
    // Authenticator apps list the factor under this name.
    factors: createFactorsService(identityRepo, { issuer: site.brandName ?? currentBrandName(), secrets: sealedFactors }),
    support,
    registration: createRegistrationService(identityRepo, emailVerifier, {
      findCompany: (number) => organizations.findCompanyByNumber(systemActor('registration'), number),
      createPendingCompany: (input) => organizations.createPendingCompany(systemActor('registration'), input),
    }),
    administration,
    imports: createImportService(identityRepo, {
      findCompany: (number) => organizations.findCompanyByNumber(systemActor('import'), number),
      defaultLocaleOfMarket: async (marketId) => (await organizations.marketById(systemActor('import'), marketId))?.defaultLocale ?? 'en',
    }),
    admin: createAdminService(createAdminRepo(database.db)),
    lifecycle: createLifecycleService(createLifecycleRepo(database.db), {
      accounts: createInactivityRepo(database.db, endings),
      withExclusiveLock: (name, work) => database.withExclusiveLock(name, work),
      // PGlite has one connection; on PostgreSQL a bulk sweep uses the cores, up to four.
      parallelism: database.kind === 'postgres' ? Math.min(4, os.availableParallelism()) : 1,
    }),
    sso,
  }
}
