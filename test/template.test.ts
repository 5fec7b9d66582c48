import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { sql } from 'drizzle-orm'
import { buildApp } from '../src/app.js'
import { openDatabase, type Database } from '../src/db/client.js'
import { rows } from '../src/db/query.js'
import { company, helpArticles, identityTicket, identityOf, market, signIn, user } from './factories.js'
import { testBrowser, testConfig } from './helpers.js'
import { copyPgliteTemplate, takeEmbeddedTestDatabase } from './template.js'

/** Every row of every table of `public`, and where every sequence stands. */
async function contentOf(database: Database): Promise<{ tables: Record<string, unknown>; sequences: unknown }> {
  const tables = await rows<{ name: string }>(database.db, sql`
    select format('%I', c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r' order by 1`)
  const content: Record<string, unknown> = {}
  for (const { name } of tables) {
    const [table] = await rows<{ rows: unknown }>(database.db, sql`select json_agg(t order by t::text) as rows from ${sql.raw(name)} t`)
    content[name] = table?.rows
  }
  const sequences = await rows(database.db, sql`select sequencename, last_value from pg_sequences where schemaname = 'public' order by 1`)
  return { tables: content, sequences }
}

test('a database handed from one test file to the next holds what a new copy of the template holds', { skip: Boolean(process.env.DATABASE_URL) }, async () => {
  const copy = await openDatabase({ dataDir: await copyPgliteTemplate() })
  after(() => copy.close())
  const template = await contentOf(copy)

  const first = await takeEmbeddedTestDatabase()
  const app = await buildApp(testConfig(), first.database, { logger: false })
  // Accounts, roles, a company, a session, an audit trail, an article, a ticket with its outbox email.
  const italy = await market(app, { code: 'IT' })
  const garage = await company(app, { market: italy })
  const person = await user(app, { company: garage, roles: [{ role: 'org_admin', companyId: garage.id }] })
  await signIn(testBrowser(() => app), person)
  await helpArticles(app, [{ locale: 'en', category: 'password', slug: 'forgot-password', title: 'I forgot my password', body: 'Use the link we email you.' }])
  await identityTicket(app, { market: italy, identity: identityOf(person, garage) })
  await app.close()
  await first.database.db.execute(sql`update realms set block_days = 1`)
  await first.database.db.execute(sql`select nextval('ticket_number_seq')`)
  const written = await contentOf(first.database)
  assert.notDeepEqual(written.tables, template.tables, 'the first file wrote rows')
  assert.notDeepEqual(written.sequences, template.sequences, 'the first file moved sequences')
  first.release()

  const second = await takeEmbeddedTestDatabase()
  after(() => { second.release() })
  assert.equal(second.database, first.database, 'the next file got the same database, not a new copy')
  assert.deepEqual(await contentOf(second.database), template)
})
