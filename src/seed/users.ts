import type { BusinessHours } from '../db/schema/index.js'
import type { Services } from '../composition.js'
import { systemActor } from '../shared/actor.js'
import type { SeededAccount } from './accounts-table.js'

/** The demo password of every demo account: long enough for the rules, not on any common list. */
export const DEMO_PASSWORD = 'demo-motors-partner-2026'

const dealerHours: BusinessHours = { 1: ['08:00', '18:00'], 2: ['08:00', '18:00'], 3: ['08:00', '18:00'], 4: ['08:00', '18:00'], 5: ['08:00', '18:00'], 6: ['08:30', '12:30'] }

export const demoCompanies = [
  { companyNumber: 'IT-10001', name: 'Autofficina Rossi S.r.l.', street: 'Via Emilia 120', postalCode: '40133', city: 'Bologna', marketCode: 'IT', isPartner: false },
  { companyNumber: 'IT-20001', name: 'Demo Motors Concessionaria Bologna S.p.A.', street: 'Viale Europa 8', postalCode: '40127', city: 'Bologna', marketCode: 'IT', isPartner: true, contactPhone: '+39 051 000 4567', contactEmail: 'assistenza@concessionaria-bologna.example', openingHours: dealerHours },
  { companyNumber: 'IT-20002', name: 'Demo Motors Milano Service S.r.l.', street: 'Via Mecenate 76', postalCode: '20138', city: 'Milano', marketCode: 'IT', isPartner: true, contactPhone: '+39 02 000 9876', contactEmail: 'service@milano-service.example', openingHours: dealerHours },
  { companyNumber: 'DE-10001', name: 'Werkstatt Becker GmbH', street: 'Hauptstraße 45', postalCode: '50667', city: 'Köln', marketCode: 'DE', isPartner: false },
  { companyNumber: 'DE-20001', name: 'Demo Motors Autohaus Köln GmbH', street: 'Industriestraße 12', postalCode: '50735', city: 'Köln', marketCode: 'DE', isPartner: true, contactPhone: '+49 221 000 7890', contactEmail: 'service@autohaus-koeln.example', openingHours: dealerHours },
  { companyNumber: 'GB-10001', name: 'Hartley Motors Ltd', street: '14 Station Road', postalCode: 'M1 2AB', city: 'Manchester', marketCode: 'GB', isPartner: false },
  { companyNumber: 'GB-20001', name: 'Demo Motors Manchester Ltd', street: '2 Trafford Way', postalCode: 'M17 1AA', city: 'Manchester', marketCode: 'GB', isPartner: true, contactPhone: '+44 161 496 0000', contactEmail: 'aftersales@dm-manchester.example', openingHours: dealerHours },
] as const

export const demoUsers = [
  { realm: 'partner', userId: 'mrossi', firstName: 'Mario', lastName: 'Rossi', email: 'mario.rossi@autofficina-rossi.example', locale: 'it', company: 'IT-10001', role: 'user' },
  { realm: 'partner', userId: 'gbianchi', firstName: 'Giulia', lastName: 'Bianchi', email: 'giulia.bianchi@autofficina-rossi.example', locale: 'it', company: 'IT-10001', role: 'org_admin' },
  // Also a support agent of Italy: the identity panel beside sign-in requests is theirs.
  { realm: 'partner', userId: 'admin.it', firstName: 'Luca', lastName: 'Ferri', email: 'luca.ferri@demo-motors.example', locale: 'it', company: null, role: 'market_admin', market: 'IT', alsoAgent: true },
  { realm: 'partner', userId: 'kbecker', firstName: 'Klaus', lastName: 'Becker', email: 'klaus.becker@werkstatt-becker.example', locale: 'de', company: 'DE-10001', role: 'user' },
  { realm: 'partner', userId: 'agent.it', firstName: 'Chiara', lastName: 'Conti', email: 'chiara.conti@demo-motors.example', locale: 'it', company: null, role: 'support_agent', market: 'IT' },
  { realm: 'partner', userId: 'agent.de', firstName: 'Anna', lastName: 'Schmidt', email: 'anna.schmidt@demo-motors.example', locale: 'de', company: null, role: 'support_agent', market: 'DE' },
  { realm: 'partner', userId: 'jhartley', firstName: 'James', lastName: 'Hartley', email: 'james@hartley-motors.example', locale: 'en', company: 'GB-10001', role: 'user' },
  { realm: 'partner', userId: 'platform', firstName: 'Paula', lastName: 'Platform', email: 'platform@demo-motors.example', locale: 'en', company: null, role: 'platform_admin' },
  { realm: 'shop', userId: 'rossi.ricambi', firstName: 'Mario', lastName: 'Rossi', email: 'mario.rossi@autofficina-rossi.example', locale: 'it', company: 'IT-10001', role: 'user' },
] as const

/** Demo companies and one account per role; existing accounts are left as they are. */
export async function seedDemoUsers(services: Services): Promise<SeededAccount[]> {
  const actor = systemActor('seed')
  const companyIds = new Map<string, number>()
  for (const { marketCode, ...company } of demoCompanies) {
    const row = await services.organizations.saveCompany(actor, { ...company, marketCode, openingHours: 'openingHours' in company ? company.openingHours : null })
    companyIds.set(company.companyNumber, row.id)
  }
  for (const [workshop, partner] of [['IT-10001', 'IT-20001'], ['DE-10001', 'DE-20001'], ['GB-10001', 'GB-20001']] as const) {
    await services.organizations.chooseAftersalesPartner(actor, workshop, partner)
  }
  for (const u of demoUsers) {
    if (await services.auth.findAccount(actor, u.realm, u.userId)) continue
    const market = 'market' in u ? await services.organizations.market(actor, u.market) : undefined
    const companyId = u.company ? companyIds.get(u.company) ?? null : null
    await services.auth.createUser({
      realm: u.realm, userId: u.userId, firstName: u.firstName, lastName: u.lastName, email: u.email, emailVerified: true,
      locale: u.locale, companyId, password: DEMO_PASSWORD,
      roles: [
        { role: u.role, ...(market ? { marketId: market.id } : {}), ...(u.role === 'org_admin' && companyId ? { companyId } : {}) },
        ...('alsoAgent' in u && market ? [{ role: 'support_agent' as const, marketId: market.id }] : []),
      ],
    })
  }
  return demoUsers.map((u) => ({ realm: u.realm, userId: u.userId, role: 'alsoAgent' in u ? `${u.role}+agent` : u.role, locale: u.locale, market: 'market' in u ? u.market : undefined }))
}
