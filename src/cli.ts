import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createServices } from './composition.js'
import { openConfiguredDatabase, resolveOidcKeySecret } from './bootstrap.js'
import { ConfigError, loadConfig } from './config.js'
import type { Database } from './db/client.js'
import { ContentError } from './modules/helpcenter/index.js'
import { MAX_IMPORT_BYTES, parseUsersCsv } from './modules/admin/index.js'
import { AUTO_CLOSE_DAYS } from './modules/support/index.js'
import type { InviteInput } from './modules/identity/index.js'
import { seedDemo } from './seed/demo.js'
import { systemActor } from './shared/actor.js'
import { AppError } from './shared/errors.js'
import { t } from './shared/i18n/index.js'
import { mailerFromConfig } from './shared/mail/mailer.js'

const usage = `Usage: sportello <command>

Commands:
  migrate                   apply database migrations
  seed demo                 load the demo tenant (markets) and help content
  content import <dir>      make the help center hold exactly the articles in <dir>/<locale>/<category>/*.md
  content export <dir>      write the help center as files that import back identically
  content report            feedback per article and branch, and searches without results
  outbox drain              send every queued email now (SMTP_URL, or .eml files in DATA_DIR/mail)
  lifecycle sweep [--now <iso time>] [--dry-run]
                            move inactive accounts through warned, blocked, delete-warned, deleted
                            (per realm policy); --dry-run prints the counts and changes nothing
  users import <file.csv> [--invite]
                            import accounts (columns: user_id, first_name, last_name, email,
                            company_number, realm, role, last_activity); all rows are checked
                            first and nothing is imported when any is wrong
  support close-solved [--now <iso time>]
                            close solved support requests without an answer for 7 days
                            (the server also does it on the lifecycle schedule)
  support report [--days 30]
                            which help articles and branches led to requests, and deflections
  admin create <email> --role platform_admin|market_admin [--market IT]
                            create an administrator and print the single-use link to set a password
  users invite --user-id <id> --first-name <name> --last-name <name> --company <number>
               [--email <address>] [--realm partner|shop] [--locale it|en|de] [--role user|org_admin]
                            create an active account and print its single-use link (valid 7 days);
                            with --email the link is also emailed. At first sign-in the user
                            confirms an email address.
  clients add --name <name> --kind web|public|machine [--realm partner|shop]
              [--redirect-uri <url>]… [--post-logout-uri <url>]… [--third-party]
              [--backchannel-logout-uri <url>]
                            register a connected app (OIDC client); prints its client ID and,
                            for web and machine apps, its secret: shown this once, stored hashed
  clients list [--realm partner|shop]
  clients remove <client_id> remove an app and every token, code and grant it holds
  keys rotate               new token signing key; the previous one stays published for verification

Configuration comes from the environment (see README): DATABASE_URL, DATA_DIR, …`

async function withDatabase<T>(run: (database: Database) => Promise<T>): Promise<T> {
  const database = await openConfiguredDatabase(loadConfig())
  try {
    await database.migrate()
    return await run(database)
  } finally {
    await database.close()
  }
}

export async function runCli(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      realm: { type: 'string', default: 'partner' },
      'user-id': { type: 'string' },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
      email: { type: 'string' },
      company: { type: 'string' },
      locale: { type: 'string', default: 'en' },
      role: { type: 'string', default: 'user' },
      now: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      invite: { type: 'boolean', default: false },
      market: { type: 'string' },
      days: { type: 'string', default: '30' },
      name: { type: 'string' },
      kind: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-uri': { type: 'string', multiple: true },
      'backchannel-logout-uri': { type: 'string' },
      'third-party': { type: 'boolean', default: false },
    },
  })
  const [command, sub, arg] = positionals
  if (values.help || !command) {
    console.log(usage)
    return command || values.help ? 0 : 2
  }
  switch (`${command} ${sub ?? ''}`.trim()) {
    case 'migrate':
      await withDatabase(async () => undefined)
      console.log('Database is up to date.')
      return 0
    case 'seed demo': {
      const result = await withDatabase((db) => seedDemo(createServices(db)))
      console.log(`Demo loaded: ${result.markets} markets, ${result.articles} help articles.`)
      return 0
    }
    case 'content import': {
      if (!arg) break
      const report = await withDatabase((db) => createServices(db).help.importContent(path.resolve(arg)))
      const line = (name: string, c: { created: number; updated: number; unchanged: number; deleted: number }) =>
        `${name}: ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ${c.deleted} deleted`
      console.log(`Imported ${report.locales.join(', ')}\n${line('categories', report.categories)}\n${line('articles', report.articles)}`)
      return 0
    }
    case 'content export': {
      if (!arg) break
      const files = await withDatabase((db) => createServices(db).help.exportContent(path.resolve(arg)))
      console.log(`Wrote ${files} files to ${path.resolve(arg)}`)
      return 0
    }
    case 'content report': {
      const report = await withDatabase((db) => createServices(db).help.report())
      console.log('Feedback (locale, article, branch: helpful / not helpful)')
      for (const f of report.feedback) console.log(`  ${f.locale} ${f.slug}${f.branch ? ` › ${f.branch}` : ''}: ${f.helpful} / ${f.notHelpful}`)
      console.log('Searches without results (count, locale, query)')
      for (const m of report.misses) console.log(`  ${m.count} ${m.locale} ${JSON.stringify(m.query)}`)
      return 0
    }
    case 'outbox drain': {
      const config = loadConfig()
      const sent = await withDatabase(async (database) => {
        const mailer = mailerFromConfig(config, database)
        try {
          return await mailer.drain()
        } finally {
          await mailer.stop()
        }
      })
      console.log(`Sent ${sent} email(s).`)
      return 0
    }
    case 'lifecycle sweep': {
      const config = loadConfig()
      const now = values.now === undefined ? undefined : new Date(values.now)
      if (now && Number.isNaN(now.getTime())) {
        console.error(`--now ${JSON.stringify(values.now)} is not a date and time (ISO 8601, e.g. 2027-05-01T00:00:00Z)`)
        return 2
      }
      const report = await withDatabase((db) => createServices(db).lifecycle.sweep(systemActor('cli'), { ...(now ? { now } : {}), dryRun: values['dry-run'] }, { publicUrl: config.publicUrl }))
      if (!report.ran) {
        console.log('Another process is sweeping right now; nothing done.')
        return 0
      }
      console.log(`${report.dryRun ? 'Dry run (nothing changed): due' : 'Moved'} at ${report.at.toISOString()}`)
      for (const [realm, counts] of Object.entries(report.realms)) {
        console.log(`  ${realm}: ${Object.entries(counts).map(([stage, n]) => `${stage} ${n}`).join(', ')}`)
      }
      return 0
    }
    case 'users import': {
      if (!arg) break
      const config = loadConfig()
      const file = path.resolve(arg)
      const size = (await stat(file)).size
      if (size > MAX_IMPORT_BYTES) {
        console.error(`${file} is ${String(Math.round(size / 1024 / 1024))} MB; import at most ${String(MAX_IMPORT_BYTES / 1024 / 1024)} MB (10,000 rows) at a time.`)
        return 1
      }
      const parsed = parseUsersCsv(new TextDecoder('utf-8', { fatal: true }).decode(await readFile(file)))
      const result = parsed.problems.length > 0
        ? { ok: false as const, problems: parsed.problems }
        : await withDatabase((db) => createServices(db).imports.importUsers(systemActor('cli'), parsed.records, { invite: values.invite }, { publicUrl: config.publicUrl }))
      if (result.ok) {
        console.log(`Imported ${String(result.imported)} account(s); ${String(result.invited)} invitation(s) queued.`)
        return 0
      }
      console.error(`Nothing imported: ${String(result.problems.length)} problem(s).`)
      for (const p of result.problems.slice(0, 500)) console.error(`  line ${String(p.line)}${p.field ? `, ${p.field}` : ''}: ${t('en', `import.problem.${p.code}`)}`)
      return 1
    }
    case 'support close-solved': {
      const now = values.now === undefined ? undefined : new Date(values.now)
      if (now && Number.isNaN(now.getTime())) {
        console.error(`--now ${JSON.stringify(values.now)} is not a date and time (ISO 8601, e.g. 2027-05-01T00:00:00Z)`)
        return 2
      }
      const report = await withDatabase((db) => createServices(db).desk.closeSolved(systemActor('cli'), { now }))
      console.log(`Closed ${String(report.closed)} solved request(s) without an answer since ${new Date(report.at.getTime() - AUTO_CLOSE_DAYS * 86_400_000).toISOString()}.`)
      return 0
    }
    case 'support report': {
      const days = Number(values.days)
      if (!Number.isInteger(days) || days < 1 || days > 3650) {
        console.error('--days must be a whole number of days from 1 to 3650')
        return 2
      }
      const report = await withDatabase((db) => createServices(db).desk.report(systemActor('cli'), { days }))
      console.log(`Requests sent from a help article, last ${String(report.days)} days (article › branch: requests)`)
      for (const r of report.fromArticles) console.log(`  ${r.articleKey}${r.branch ? ` › ${r.branch}` : ''}: ${String(r.tickets)}`)
      console.log('Suggested articles opened from the request form (locale article: opened, requests avoided)')
      for (const d of report.deflections) console.log(`  ${d.locale} ${d.articleSlug}: ${String(d.opened)}, ${String(d.deflected)}`)
      return 0
    }
    case 'admin create': {
      if (!arg) break
      const config = loadConfig()
      const role = values.role === 'market_admin' ? 'market_admin' : values.role === 'platform_admin' ? 'platform_admin' : null
      if (!role) {
        console.error('--role must be platform_admin or market_admin')
        return 2
      }
      const created = await withDatabase(async (db) => {
        const services = createServices(db)
        const market = values.market ? await services.organizations.market(systemActor('cli'), values.market.toUpperCase()) : undefined
        if (values.market && !market) throw new AppError('NOT_FOUND')
        return services.administration.createAdministrator(systemActor('cli'), { email: arg, role, marketId: market?.id, locale: values.locale }, { publicUrl: config.publicUrl })
      })
      console.log(`Created ${role} ${created.user.userId} (${arg}).`)
      console.log(`Single-use link to choose a password, valid 7 days: ${created.link ?? ''}`)
      return 0
    }
    case 'users invite': {
      const config = loadConfig()
      const input = {
        realm: values.realm, userId: values['user-id'] ?? '', firstName: values['first-name'] ?? '', lastName: values['last-name'] ?? '',
        email: values.email ?? null, companyNumber: values.company ?? '', locale: values.locale, role: values.role,
      }
      // The service validates every field (realm, role and locale included) and answers INVALID_INPUT.
      const { user, link } = await withDatabase((db) => createServices(db).administration.invite(systemActor('cli'), input as InviteInput, { publicUrl: config.publicUrl }))
      console.log(`Invited ${user.userId} (${user.realm})${user.email ? `; the link was emailed to ${user.email} (sent by the server, or by \`sportello outbox drain\`)` : ''}.`)
      console.log(`Single-use link, valid 7 days: ${link ?? ''}`)
      return 0
    }
    case 'clients add':
    case 'clients list':
    case 'clients remove':
    case 'keys rotate':
      return ssoCommand(`${command} ${sub ?? ''}`, arg, values)
    default:
      break
  }
  console.error(`Unknown or incomplete command: ${positionals.join(' ')}\n\n${usage}`)
  return 2
}

/** Single sign-on: connected apps and signing keys. */
async function ssoCommand(command: string, arg: string | undefined, values: { realm: string; name?: string | undefined; kind?: string | undefined; 'redirect-uri'?: string[] | undefined; 'post-logout-uri'?: string[] | undefined; 'backchannel-logout-uri'?: string | undefined; 'third-party': boolean }): Promise<number> {
  const { oidcKeySecret } = resolveOidcKeySecret(loadConfig())
  const actor = systemActor('cli')
  return withDatabase(async (db) => {
    const { sso } = createServices(db, undefined, { oidcKeySecret })
    switch (command) {
      case 'clients add': {
        const kind = values.kind
        if (kind !== 'web' && kind !== 'public' && kind !== 'machine') {
          console.error('--kind must be web (server-side app with a secret), public (browser or mobile app, PKCE) or machine (client_credentials)')
          return 2
        }
        const { client, secret } = await sso.addClient(actor, {
          realm: values.realm, name: values.name ?? '', kind, firstParty: !values['third-party'],
          redirectUris: values['redirect-uri'] ?? [], postLogoutRedirectUris: values['post-logout-uri'] ?? [],
          backchannelLogoutUri: values['backchannel-logout-uri'],
        })
        console.log(`Registered ${client.name} (${client.kind}, realm ${client.realm}).`)
        console.log(`client_id:     ${client.clientId}`)
        if (client.backchannelLogoutUri) console.log(`back-channel logout: ${client.backchannelLogoutUri}`)
        if (secret) console.log(`client_secret: ${secret}\n(shown this once; only its hash is stored)`)
        return 0
      }
      case 'clients list': {
        for (const c of await sso.listClients(actor, values.realm)) {
          console.log(`${c.clientId}  ${c.realm.padEnd(8)} ${c.kind.padEnd(8)} ${c.firstParty ? 'first-party' : 'third-party'}  ${c.name}  ${c.redirectUris.join(' ')}`)
        }
        return 0
      }
      case 'clients remove': {
        if (!arg) return 2
        await sso.removeClient(actor, arg)
        console.log(`Removed ${arg}.`)
        return 0
      }
      default: {
        const { kid, published } = await sso.rotateKeys(actor)
        console.log(`New signing key ${kid}. Published: ${published.join(', ')} (running servers pick it up within 10 seconds).`)
        return 0
      }
    }
  })
}

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof ContentError) console.error(error.message)
    else if (error instanceof AppError) console.error(`${error.code}: ${t('en', `errors.${error.code}`, error.params)}`)
    else console.error(error)
    process.exit(1)
  },
)
