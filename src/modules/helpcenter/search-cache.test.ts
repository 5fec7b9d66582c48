import assert from 'node:assert/strict'
import { test } from 'node:test'
import { guest } from '../../shared/actor.js'
import { helpArticles } from '../../../test/factories.js'
import { buildTestApp } from '../../../test/helpers.js'

test('searches answered again from memory follow an import at once, and every search without results is counted', async (t) => {
  const { app } = await buildTestApp(t)
  const help = app.services.help
  await helpArticles(app, [{ locale: 'en', slug: 'brake-pads', title: 'Changing brake pads', body: 'How to change the brake pads of the front axle.' }])
  const search = (query: string) => help.search(guest, { locale: 'en', query, limit: 10 })

  assert.deepEqual((await search('brake pads')).hits.map((h) => h.slug), ['brake-pads'])
  assert.deepEqual((await search('brake padds')).correctedQuery, 'brake pads', 'typos are still corrected')
  assert.deepEqual((await search('wiper blades')).hits, [])
  assert.deepEqual((await search('Wiper blades')).hits, [], 'asked again')

  await helpArticles(app, [
    { locale: 'en', slug: 'brake-pads', title: 'Changing brake pads', body: 'How to change the brake pads of the front axle.' },
    { locale: 'en', slug: 'wiper-blades', title: 'Replacing wiper blades', body: 'Wiper blades wear out; replace them every year.' },
  ])
  assert.deepEqual((await search('wiper blades')).hits.map((h) => h.slug), ['wiper-blades'], 'the import is searched at once')
  const { misses } = await help.report()
  assert.equal(misses.find((m) => m.query === 'wiper blades')?.count, 2, 'both searches without results are counted')
})
