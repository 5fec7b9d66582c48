import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { cp, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { buildApp } from '../../app.js'
import { guest } from '../../shared/actor.js'
import { demoContentDir } from '../../seed/demo.js'
import { useTestApp } from '../../../test/helpers.js'

const testApp = useTestApp()

async function filesOf(dir: string): Promise<Map<string, string>> {
  const names = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())
  return new Map(await Promise.all(names.map(async (e) => {
    const full = path.join(e.parentPath, e.name)
    return [path.relative(dir, full), await readFile(full, 'utf8')] as const
  })))
}

// The repository's content folder: its articles and its category files (`_category.md`).
const contentFiles = readdirSync(demoContentDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md'))
const categoryFiles = contentFiles.filter((f) => path.basename(f) === '_category.md').length
const articleFiles = contentFiles.length - categoryFiles

test('import is idempotent, an edit updates in place and keeps feedback, a removed file is removed', async () => {
  const { help } = testApp().app.services
  const dir = await mkdtemp(path.join(tmpdir(), 'content-'))
  await cp(demoContentDir, dir, { recursive: true })

  const first = await help.importContent(dir)
  assert.equal(first.articles.created, articleFiles)
  const revision = await help.revision()

  const again = await help.importContent(dir)
  assert.deepEqual(again.articles, { created: 0, updated: 0, unchanged: articleFiles, deleted: 0 })
  assert.deepEqual(again.categories, { created: 0, updated: 0, unchanged: 21, deleted: 0 })
  assert.equal(await help.revision(), revision, 'an unchanged import leaves the revision alone')

  await help.recordFeedback(guest, { locale: 'en', slug: 'forgot-password', branch: '', helpful: true, reason: '', visitorId: 'v1' })
  const file = path.join(dir, 'en', 'password', 'forgot-password.md')
  await writeFile(file, (await readFile(file, 'utf8')).replace(/^title: .*$/m, 'title: Forgot your password? Reset it with the quokka link'))
  const edited = await help.importContent(dir)
  assert.deepEqual(edited.articles, { created: 0, updated: 1, unchanged: articleFiles - 1, deleted: 0 })
  const { article } = await help.article(guest, 'en', 'forgot-password')
  assert.equal(article.title, 'Forgot your password? Reset it with the quokka link')
  assert.ok((await help.revision()) > revision)
  const report = await help.report()
  assert.equal(report.feedback.find((f) => f.slug === 'forgot-password')?.helpful, 1, 'feedback survives the edit')
  const found = await help.search(guest, { locale: 'en', query: 'quokka', limit: 5 })
  assert.equal(found.hits[0]?.slug, 'forgot-password', 'the search index follows the edit')

  const { rm } = await import('node:fs/promises')
  await rm(path.join(dir, 'en', 'support', 'support-hours.md'))
  const removed = await help.importContent(dir)
  assert.equal(removed.articles.deleted, 1)
  await assert.rejects(help.article(guest, 'en', 'support-hours'), { code: 'ARTICLE_NOT_FOUND' })
})

test('export writes files that import back identically, and export again gives the same bytes', async () => {
  const { help } = testApp().app.services
  await help.importContent(demoContentDir)
  const out = await mkdtemp(path.join(tmpdir(), 'export-'))
  assert.equal(await help.exportContent(out), articleFiles + categoryFiles)
  const reimport = await help.importContent(out)
  assert.deepEqual(reimport.articles, { created: 0, updated: 0, unchanged: articleFiles, deleted: 0 })
  assert.deepEqual(reimport.categories, { created: 0, updated: 0, unchanged: 21, deleted: 0 })
  const out2 = await mkdtemp(path.join(tmpdir(), 'export-'))
  await help.exportContent(out2)
  assert.deepEqual(await filesOf(out2), await filesOf(out))
})

test('an import on one server shows on another server of the same database within a second', async () => {
  const { app, config, database } = testApp()
  const dir = await mkdtemp(path.join(tmpdir(), 'content-'))
  await cp(demoContentDir, dir, { recursive: true })
  await app.services.help.importContent(dir)
  const nodeB = await buildApp(config, database, { logger: false })
  try {
    const url = '/en/help/articles/forgot-password'
    const before = await nodeB.inject({ url })
    assert.equal(before.statusCode, 200)
    const file = path.join(dir, 'en', 'password', 'forgot-password.md')
    await writeFile(file, (await readFile(file, 'utf8')).replace(/^title: .*$/m, 'title: Forgot your password? Choose a new one'))
    await app.services.help.importContent(dir)
    const started = Date.now()
    let page = await nodeB.inject({ url, headers: { 'if-none-match': String(before.headers.etag) } })
    while (page.statusCode === 304 && Date.now() - started < 1000) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      page = await nodeB.inject({ url, headers: { 'if-none-match': String(before.headers.etag) } })
    }
    assert.equal(page.statusCode, 200, 'the other server no longer answers 304 for the old page')
    assert.match(page.body, /Forgot your password\? Choose a new one/)
  } finally {
    await nodeB.close()
  }
})
