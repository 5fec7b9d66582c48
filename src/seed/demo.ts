import path from 'node:path'
import type { Services } from '../composition.js'
import { systemActor } from '../shared/actor.js'
import { demoMarkets } from './markets.js'
import { seedDemoUsers } from './users.js'
import type { SeededAccount } from './accounts-table.js'
import { packageRoot } from '../paths.js'

export const demoContentDir = path.join(packageRoot, 'content')

/** Loads the demo tenant: markets and the help content. Safe to run again: it changes only what differs. */
export async function seedDemo(services: Services): Promise<{ markets: number; articles: number; accounts: SeededAccount[] }> {
  const actor = systemActor('seed')
  for (const market of demoMarkets) await services.organizations.saveMarket(actor, market)
  const accounts = await seedDemoUsers(services)
  // The demo connected app (`npm run demo:app`): a public client with PKCE, so the demo needs no secret.
  await services.sso.ensureClient(actor, {
    clientId: 'workshop-app', realm: 'partner', name: 'Demo Motors Workshop', kind: 'public', firstParty: true,
    redirectUris: ['http://localhost:3910/callback'], postLogoutRedirectUris: ['http://localhost:3910/'],
    backchannelLogoutUri: 'http://localhost:3910/backchannel-logout',
  })
  const report = await services.help.importContent(demoContentDir)
  return { markets: demoMarkets.length, articles: report.articles.created + report.articles.updated + report.articles.unchanged, accounts }
}

/** True when nothing has been loaded yet: no markets and no help content. */
export async function isEmpty(services: Services): Promise<boolean> {
  const actor = systemActor('seed')
  return (await services.organizations.listMarkets(actor)).length === 0 && (await services.help.revision()) === 0
}
