import { buildApp } from './app.js'
import { createServices } from './composition.js'
import { openConfiguredDatabase, resolveFactorKeySecret, resolveOidcKeySecret, resolveSessionSecret } from './bootstrap.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { IncompatibleDataDirError } from './db/client.js'
import { DataDirInUseError } from './db/data-dir-lock.js'
import { startSessionPurgeSchedule } from './modules/identity/index.js'
import { startSweepSchedule } from './modules/lifecycle/index.js'
import { startBackchannelLogoutSchedule } from './modules/sso/index.js'
import { startAutoCloseSchedule } from './modules/support/index.js'
import { seedDemoTickets } from './seed/tickets.js'
import { isEmpty, seedDemo } from './seed/demo.js'
import { DEMO_PASSWORD } from './seed/users.js'
import { accountsTable } from './seed/accounts-table.js'

function readConfig(): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message)
      process.exit(1)
    }
    throw error
  }
}

async function main(): Promise<void> {
  const config = resolveFactorKeySecret(resolveOidcKeySecret(resolveSessionSecret(readConfig())))
  const database = await openConfiguredDatabase(config, 'the Sportello server', { serve: true })
  await database.migrate()
  const services = createServices(database, undefined, {}, { brandName: config.brandName })
  const loadDemo = config.demo ?? (database.kind === 'pglite' && (await isEmpty(services)))
  if (loadDemo) {
    const seeded = await seedDemo(services)
    console.log(`Demo content loaded: ${seeded.markets} markets, ${seeded.articles} help articles.`)
    console.log(accountsTable(seeded.accounts, { publicUrl: config.publicUrl, password: DEMO_PASSWORD }))
    const tickets = await seedDemoTickets(services, config.publicUrl)
    if (tickets > 0) console.log(`Demo support requests: ${String(tickets)} (agent console at /it/agent with agent.it, admin.it or agent.de).`)
  }
  const app = await buildApp(config, database)
  await app.listen({ port: config.port, host: config.host })
  app.mailer.start()
  const stopSweeps = startSweepSchedule(app.services.lifecycle, { minutes: config.lifecycleSweepMinutes, publicUrl: config.publicUrl, log: app.log })
  // Solved support requests close after 7 days without an answer, on the same schedule as the lifecycle sweep.
  const stopAutoClose = startAutoCloseSchedule(app.services.desk, { minutes: config.lifecycleSweepMinutes, log: app.log })
  // Sessions that ended by time are reclaimed on the same schedule.
  const stopSessionPurge = startSessionPurgeSchedule(app.services.auth, { minutes: config.lifecycleSweepMinutes, log: app.log })
  // Apps registered for back-channel logout learn within seconds that a person's session ended.
  const stopBackchannelLogouts = startBackchannelLogoutSchedule(app.services.sso, { publicUrl: config.publicUrl, log: app.log })
  console.log(`Sportello is running at ${config.publicUrl} (listening on ${config.host}:${config.port}, ${database.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL'})`)

  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    stopSweeps()
    stopAutoClose()
    stopSessionPurge()
    stopBackchannelLogouts()
    app.close()
      .then(() => database.close())
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed')
        process.exit(1)
      })
  }
  process.on('SIGTERM', () => { shutdown('SIGTERM') })
  process.on('SIGINT', () => { shutdown('SIGINT') })
}

main().catch((error: unknown) => {
  // A second server on the same embedded database, or one made by an older PGlite, is an operator's matter, not a crash.
  console.error(error instanceof DataDirInUseError || error instanceof IncompatibleDataDirError ? error.message : error)
  process.exit(1)
})
