import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { createServices } from '../composition.js'
import { openConfiguredDatabase, resolveOidcKeySecret } from '../bootstrap.js'
import { ConfigError, loadConfig as loadConfigFrom } from '../config.js'
import { EmbeddedServerUnreachableError, IncompatibleDataDirError, type Database } from '../db/client.js'
import { DataDirInUseError } from '../db/data-dir-lock.js'
import { ContentError } from '../modules/helpcenter/index.js'
import { MAX_IMPORT_BYTES, parseUsersCsv } from '../modules/admin/index.js'
import { AUTO_CLOSE_DAYS } from '../modules/support/index.js'
import type { InviteInput } from '../modules/identity/index.js'
import { seedDemo } from '../seed/demo.js'
import { systemActor } from '../shared/actor.js'
import { withClock } from '../shared/clock.js'
import { AppError } from '../shared/errors.js'
import { t } from '../shared/i18n/index.js'
import { mailerFromConfig } from '../shared/mail/mailer.js'
import { createProgress } from '../shared/progress.js'
import type { CliContext, CliValues } from '../cli.js'

/** What every command uses, bound to the context it runs in. */
function toolsOf(command: string, values: CliValues, context: CliContext) {
  const print = (line: string) => { context.stdout.write(`${line}\n`) }
  const complain = (line: string) => { context.stderr.write(`${line}\n`) }
  const loadConfig = () => loadConfigFrom(context.env)
  return {
    print, complain, loadConfig,
    /** The services as the server has them: imported help content names the configured brand. */
    servicesOf: (database: Database) => createServices(database, undefined, {}, { brandName: loadConfig().brandName }),
    /** The configured database, migrated, for the time of `run`; or the context's, migrated too, which stays open. */
    withDatabase: async <T>(run: (database: Database) => Promise<T>): Promise<T> => {
      const config = loadConfig()
      if (context.database) {
        await context.database.migrate()
        return run(context.database)
      }
      const database = await openConfiguredDatabase(config, `sportello ${command}`)
      try {
        await database.migrate()
        return await run(database)
      } finally {
        await database.close()
      }
    },
    /** --now as a date; null (after saying why) when it is not one. */
    nowOption: (): Date | undefined | null => {
      if (values.now === undefined) return undefined
      const now = new Date(values.now)
      if (!Number.isNaN(now.getTime())) return now
      complain(`--now ${JSON.stringify(values.now)} is not a date and time (ISO 8601, e.g. 2027-05-01T00:00:00Z)`)
      return null
    },
    /** Progress of a long command: a bar on a terminal's stderr, then one summary line (or JSON) on stdout. */
    progressOf: (label: string) => createProgress({ label, bar: context.stderr, isTTY: context.stderr.isTTY === true, out: context.stdout, json: values.json }),
  }
}

type Tools = ReturnType<typeof toolsOf>

/** Runs one command; undefined when the command lacks its argument. */
export async function runCommand(command: string, arg: string | undefined, values: CliValues, context: CliContext): Promise<number | undefined> {
  const tools = toolsOf(command, values, context)
  const { print, complain, loadConfig, servicesOf, withDatabase, nowOption, progressOf } = tools
  switch (command) {
    case 'migrate':
      await withDatabase(async () => undefined)
      print('Database is up to date.')
      return 0
    case 'seed demo': {
      const result = await withDatabase((db) => seedDemo(servicesOf(db)))
      print(`Demo loaded: ${result.markets} markets, ${result.articles} help articles.`)
      return 0
    }
    case 'content import': {
      if (!arg) break
      const progress = progressOf('articles')
      const report = await withDatabase((db) => servicesOf(db).help.importContent(path.resolve(arg), { onProgress: progress.update }))
      const line = (name: string, c: { created: number; updated: number; unchanged: number; deleted: number }) =>
        `${name}: ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ${c.deleted} deleted`
      progress.finish(`Imported ${report.locales.join(', ')} — ${line('categories', report.categories)}; ${line('articles', report.articles)}`, { command: 'content import', ...report })
      return 0
    }
    case 'content export': {
      if (!arg) break
      const files = await withDatabase((db) => servicesOf(db).help.exportContent(path.resolve(arg)))
      print(`Wrote ${files} files to ${path.resolve(arg)}`)
      return 0
    }
    case 'content report': {
      const report = await withDatabase((db) => servicesOf(db).help.report())
      print('Feedback (locale, article, branch: helpful / not helpful)')
      for (const f of report.feedback) print(`  ${f.locale} ${f.slug}${f.branch ? ` › ${f.branch}` : ''}: ${f.helpful} / ${f.notHelpful}`)
      print('Searches without results (count, locale, query)')
      for (const m of report.misses) print(`  ${m.count} ${m.locale} ${JSON.stringify(m.query)}`)
      return 0
    }
    case 'outbox drain': {
      const config = loadConfig()
      const now = nowOption()
      if (now === null) return 2
      const progress = progressOf('emails')
      // With --now, the emails a rehearsed sweep queued for that moment are due, as they would be then.
      const sent = await withClock(now, () => withDatabase(async (database) => {
        const mailer = mailerFromConfig(config, database)
        try {
          return await mailer.drain(progress.update)
        } finally {
          await mailer.stop()
        }
      }))
      progress.finish(`Sent ${sent} email(s)${now ? ` due by ${now.toISOString()}` : ''}.`, { command: 'outbox drain', sent, ...(now ? { dueBy: now.toISOString() } : {}) })
      return 0
    }
    case 'lifecycle sweep': {
      const config = loadConfig()
      const now = nowOption()
      if (now === null) return 2
      const progress = progressOf('accounts')
      const report = await withDatabase((db) => servicesOf(db).lifecycle.sweep(systemActor('cli'), { ...(now ? { now } : {}), dryRun: values['dry-run'], onProgress: progress.update }, { publicUrl: config.publicUrl }))
      const realms = Object.entries(report.realms).map(([realm, counts]) => `${realm}: ${Object.entries(counts).map(([stage, n]) => `${stage} ${n}`).join(', ')}`).join('; ')
      progress.finish(
        !report.ran ? 'Another process is sweeping right now; nothing done.' : `${report.dryRun ? 'Dry run (nothing changed): due' : 'Moved'} at ${report.at.toISOString()} — ${realms}`,
        { command: 'lifecycle sweep', ...report },
      )
      return 0
    }
    case 'users import': {
      if (!arg) break
      const config = loadConfig()
      const file = path.resolve(arg)
      const size = (await stat(file)).size
      if (size > MAX_IMPORT_BYTES) {
        complain(`${file} is ${String(Math.round(size / 1024 / 1024))} MB; import at most ${String(MAX_IMPORT_BYTES / 1024 / 1024)} MB (10,000 rows) at a time.`)
        return 1
      }
      const parsed = parseUsersCsv(new TextDecoder('utf-8', { fatal: true }).decode(await readFile(file)))
      const progress = progressOf('accounts')
      const result = parsed.problems.length > 0
        ? { ok: false as const, problems: parsed.problems }
        : await withDatabase((db) => servicesOf(db).imports.importUsers(systemActor('cli'), parsed.records, { invite: values.invite, onProgress: progress.update }, { publicUrl: config.publicUrl }))
      if (result.ok) {
        progress.finish(`Imported ${String(result.imported)} account(s); ${String(result.invited)} invitation(s) queued.`, { command: 'users import', ...result })
        return 0
      }
      if (values.json) progress.finish('', { command: 'users import', ok: false, problems: result.problems })
      complain(`Nothing imported: ${String(result.problems.length)} problem(s).`)
      for (const p of result.problems.slice(0, 500)) complain(`  line ${String(p.line)}${p.field ? `, ${p.field}` : ''}: ${t('en', `import.problem.${p.code}`)}`)
      return 1
    }
    case 'support close-solved': {
      const now = nowOption()
      if (now === null) return 2
      const report = await withDatabase((db) => servicesOf(db).desk.closeSolved(systemActor('cli'), { now }))
      print(`Closed ${String(report.closed)} solved request(s) without an answer since ${new Date(report.at.getTime() - AUTO_CLOSE_DAYS * 86_400_000).toISOString()}.`)
      return 0
    }
    case 'support report': {
      const days = Number(values.days)
      if (!Number.isInteger(days) || days < 1 || days > 3650) {
        complain('--days must be a whole number of days from 1 to 3650')
        return 2
      }
      const report = await withDatabase((db) => servicesOf(db).desk.report(systemActor('cli'), { days }))
      print(`Requests sent from a help article, last ${String(report.days)} days (article › branch: requests)`)
      for (const r of report.fromArticles) print(`  ${r.articleKey}${r.branch ? ` › ${r.branch}` : ''}: ${String(r.tickets)}`)
      print('Suggested articles opened from the request form (locale article: opened, requests avoided)')
      for (const d of report.deflections) print(`  ${d.locale} ${d.articleSlug}: ${String(d.opened)}, ${String(d.deflected)}`)
      return 0
    }
    case 'admin create': {
      if (!arg) break
      const config = loadConfig()
      const role = values.role === 'market_admin' ? 'market_admin' : values.role === 'platform_admin' ? 'platform_admin' : null
      if (!role) {
        complain('--role must be platform_admin or market_admin')
        return 2
      }
      const created = await withDatabase(async (db) => {
        const services = servicesOf(db)
        const market = values.market ? await services.organizations.market(systemActor('cli'), values.market.toUpperCase()) : undefined
        if (values.market && !market) throw new AppError('NOT_FOUND')
        return services.administration.createAdministrator(systemActor('cli'), { email: arg, role, marketId: market?.id, locale: values.locale }, { publicUrl: config.publicUrl })
      })
      print(`Created ${role} ${created.user.userId} (${arg}).`)
      print(`Single-use link to choose a password, valid 7 days: ${created.link ?? ''}`)
      return 0
    }
    case 'users invite': {
      const config = loadConfig()
      const input = {
        realm: values.realm, userId: values['user-id'] ?? '', firstName: values['first-name'] ?? '', lastName: values['last-name'] ?? '',
        email: values.email ?? null, companyNumber: values.company ?? '', locale: values.locale, role: values.role,
      }
      // The service validates every field (realm, role and locale included) and answers INVALID_INPUT.
      const { user, link } = await withDatabase((db) => servicesOf(db).administration.invite(systemActor('cli'), input as InviteInput, { publicUrl: config.publicUrl }))
      print(`Invited ${user.userId} (${user.realm})${user.email ? `; the link was emailed to ${user.email} (sent by the server, or by \`sportello outbox drain\`)` : ''}.`)
      print(`Single-use link, valid 7 days: ${link ?? ''}`)
      return 0
    }
    case 'scim token': {
      if (!arg) break
      const issued = await withDatabase((db) => servicesOf(db).scim.issueToken(systemActor('cli'), { clientId: arg, company: values.company, market: values.market }))
      print(`Provisioning token for ${arg}, scoped to ${values.company !== undefined ? `company ${values.company}` : `market ${(values.market ?? '').toUpperCase()}`}:`)
      print(issued.token)
      print(`(shown this once; only its hash is stored) SCIM base URL: ${loadConfig().publicUrl}/scim/v2`)
      return 0
    }
    case 'scim revoke': {
      if (!arg) break
      await withDatabase((db) => servicesOf(db).scim.revokeToken(systemActor('cli'), arg))
      print(`Withdrew the provisioning token of ${arg}.`)
      return 0
    }
    case 'clients add':
    case 'clients list':
    case 'clients remove':
    case 'keys rotate':
      return ssoCommand(command, arg, values, tools)
    default:
      break
  }
  return undefined
}

/** Single sign-on: connected apps and signing keys. */
async function ssoCommand(command: string, arg: string | undefined, values: CliValues, { loadConfig, withDatabase, print, complain }: Tools): Promise<number> {
  const { oidcKeySecret } = resolveOidcKeySecret(loadConfig())
  const actor = systemActor('cli')
  return withDatabase(async (db) => {
    const { sso } = createServices(db, undefined, { oidcKeySecret })
    switch (command) {
      case 'clients add': {
        const kind = values.kind
        if (kind !== 'web' && kind !== 'public' && kind !== 'machine') {
          complain('--kind must be web (server-side app with a secret), public (browser or mobile app, PKCE) or machine (client_credentials)')
          return 2
        }
        const { client, secret } = await sso.addClient(actor, {
          realm: values.realm, name: values.name ?? '', kind, firstParty: !values['third-party'],
          redirectUris: values['redirect-uri'] ?? [], postLogoutRedirectUris: values['post-logout-uri'] ?? [],
          backchannelLogoutUri: values['backchannel-logout-uri'],
        })
        print(`Registered ${client.name} (${client.kind}, realm ${client.realm}).`)
        print(`client_id:     ${client.clientId}`)
        if (client.backchannelLogoutUri) print(`back-channel logout: ${client.backchannelLogoutUri}`)
        if (secret) print(`client_secret: ${secret}\n(shown this once; only its hash is stored)`)
        return 0
      }
      case 'clients list': {
        for (const c of await sso.listClients(actor, values.realm)) {
          print(`${c.clientId}  ${c.realm.padEnd(8)} ${c.kind.padEnd(8)} ${c.firstParty ? 'first-party' : 'third-party'}  ${c.name}  ${c.redirectUris.join(' ')}`)
        }
        return 0
      }
      case 'clients remove': {
        if (!arg) return 2
        await sso.removeClient(actor, arg)
        print(`Removed ${arg}.`)
        return 0
      }
      default: {
        const { kid, published } = await sso.rotateKeys(actor)
        print(`New signing key ${kid}. Published: ${published.join(', ')} (running servers pick it up within 10 seconds).`)
        return 0
      }
    }
  })
}

/** What an operator reads when a command fails: the message of a known error, the whole error otherwise. */
export function describeFailure(error: unknown): unknown {
  if (
    error instanceof ConfigError || error instanceof ContentError || error instanceof DataDirInUseError ||
    error instanceof IncompatibleDataDirError || error instanceof EmbeddedServerUnreachableError
  ) return error.message
  if (error instanceof AppError) return `${error.code}: ${t('en', `errors.${error.code}`, error.params)}`
  return error
}
