import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildApp } from '../../app.js'
import { openDatabase, type Database } from '../../db/client.js'
import { guest, systemActor } from '../../shared/actor.js'
import { HELP_REVISION_CHANNEL } from '../helpcenter/index.js'
import { MARKET_CHANNEL } from '../organizations/index.js'
import { helpArticles, market } from '../../../test/factories.js'
import { testConfig } from '../../../test/helpers.js'
import { cloneTemplate, copyPgliteTemplate } from '../../../test/template.js'
import { addWorkingHours } from './working-hours.js'

const platform = systemActor('test')

/**
 * Two portal processes on one database, each with its own services and caches. On PostgreSQL each
 * has its own connections to a database cloned for this test; the embedded database has one
 * client, which both apps share (one writer), each with its own listener.
 */
async function twoNodes(t: { after(fn: () => Promise<void>): void }) {
  const url = process.env.DATABASE_URL
  const clone = url ? await cloneTemplate(url) : undefined
  const first = clone ? await openDatabase({ url: clone.url, poolSize: 2 }) : await openDatabase({ dataDir: await copyPgliteTemplate() })
  const second = clone ? await openDatabase({ url: clone.url, poolSize: 2 }) : first
  const config = testConfig()
  const a = await buildApp(config, first, { logger: false })
  const b = await buildApp(testConfig(), second, { logger: false })
  t.after(async () => {
    await a.close()
    await b.close()
    if (second !== first) await second.close()
    await first.close()
    await clone?.drop()
  })
  return { a: { app: a, database: first, config }, b: { app: b, database: second } }
}

/** Resolves at the next notification on `channel` the database delivers to this process (after the node's own listener). */
async function nextNotification(database: Database, channel: string): Promise<() => Promise<void>> {
  let notified: () => void = () => undefined
  const arrived = new Promise<void>((resolve) => { notified = resolve })
  const stop = await database.listen(channel, () => { notified() })
  return async () => {
    await arrived
    await stop()
  }
}

const ticket = (code: string, topic: string, email: string) => ({
  topic, subject: 'Wiring diagrams missing', description: 'Every page of the Service Manual is empty since this morning.', urgency: 'urgent' as const, locale: 'en',
  name: 'Pia Guest', email, companyName: 'Officina Ospite', companyAddress: 'Via Nuova 3, 20100 Milano', marketCode: code,
})

test('a market\'s new service levels, saved through one node, are used by the other node\'s very next ticket', async (t) => {
  const { a, b } = await twoNodes(t)
  await helpArticles(a, [{ locale: 'en', slug: 'empty-manual', category: 'apps' }])
  const at = await market(a, { timeZone: 'Europe/Vienna' })
  const ctx = { publicUrl: a.config.publicUrl }
  // Node B takes a ticket first: the market is now in its cache.
  const before = await b.app.services.support.createTicket(guest, ticket(at.code, 'apps', 'first@guest.example'), ctx)
  assert.equal(before.market.sla.urgent.firstResponse, 2)

  const notified = await nextNotification(b.database, MARKET_CHANNEL)
  await a.app.services.organizations.updateServiceLevels(platform, at.code, {
    sla: { normal: { firstResponse: 1, resolution: 3 }, urgent: { firstResponse: 1, resolution: 2 } },
    businessHours: at.businessHours, timeZone: at.timeZone,
  }, {})
  await notified()

  const after = await b.app.services.support.createTicket(guest, ticket(at.code, 'apps', 'second@guest.example'), ctx)
  assert.deepEqual(after.market.sla.urgent, { firstResponse: 1, resolution: 2 })
  assert.equal(after.ticket.firstResponseDue.getTime(), addWorkingHours(at.businessHours, at.timeZone, after.ticket.createdAt, 1).getTime())
})

test('a help topic imported through one node may be chosen on the other node\'s "Ask for help" at once', async (t) => {
  const { a, b } = await twoNodes(t)
  await helpArticles(a, [{ locale: 'en', slug: 'empty-manual', category: 'apps' }])
  const at = await market(a)
  const ctx = { publicUrl: a.config.publicUrl }
  await b.app.services.support.createTicket(guest, ticket(at.code, 'apps', 'first@guest.example'), ctx)
  await assert.rejects(b.app.services.support.createTicket(guest, ticket(at.code, 'parts', 'second@guest.example'), ctx), { code: 'INVALID_INPUT' })

  const notified = await nextNotification(b.database, HELP_REVISION_CHANNEL)
  await helpArticles(a, [{ locale: 'en', slug: 'empty-manual', category: 'apps' }, { locale: 'en', slug: 'missing-part', category: 'parts' }])
  await notified()

  const created = await b.app.services.support.createTicket(guest, ticket(at.code, 'parts', 'third@guest.example'), ctx)
  assert.equal(created.ticket.topic, 'parts')
})
