import assert from 'node:assert/strict'
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { demoContentDir } from '../../seed/demo.js'
import { ContentError, readContentDir, renderArticleBody } from './content.js'

test('the demo content has at least 24 articles in at least 5 categories per language, the same keys everywhere', async () => {
  const set = await readContentDir(demoContentDir)
  assert.deepEqual(set.locales, ['de', 'en', 'it'])
  const keysOf = (locale: string) => set.articles.filter((a) => a.locale === locale).map((a) => a.key).sort()
  for (const locale of set.locales) {
    assert.ok(keysOf(locale).length >= 24, `${locale} articles`)
    assert.ok(set.categories.filter((c) => c.locale === locale).length >= 5, `${locale} categories`)
    assert.deepEqual(keysOf(locale), keysOf('en'), `${locale} has the same article keys as en`)
  }
  // A translation offers the same branches, so feedback per branch compares across languages.
  for (const article of set.articles.filter((a) => a.locale === 'en')) {
    const ids = (locale: string) => renderArticleBody(set.articles.find((a) => a.locale === locale && a.key === article.key)?.bodyMarkdown ?? '').branches.map((b) => b.id).sort()
    assert.deepEqual(ids('it'), ids('en'), `it ${article.key} branches`)
    assert.deepEqual(ids('de'), ids('en'), `de ${article.key} branches`)
  }
  assert.ok(set.articles.filter((a) => a.locale === 'en' && renderArticleBody(a.bodyMarkdown).branches.length > 0).length >= 8)
})

test('Markdown renders safely: raw HTML is shown as text, branches become disclosures', () => {
  const body = [
    'Intro with <script>alert(1)</script> and <img src=x onerror=alert(1)>.',
    '',
    ':::: branch outer | Still "failing" <b>?</b>',
    'Outer text.',
    '::: branch inner | It says X',
    'Inner text.',
    ':::',
    '::::',
  ].join('\n')
  const rendered = renderArticleBody(body)
  assert.doesNotMatch(rendered.html, /<script>|<img|<b>/)
  assert.match(rendered.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/)
  assert.match(rendered.html, /<details class="branch" id="branch-outer"><summary>Still &quot;failing&quot; &lt;b&gt;\?&lt;\/b&gt;<\/summary>/)
  assert.deepEqual(rendered.branches, [
    { id: 'outer', label: 'Still "failing" <b>?</b>', parent: null },
    { id: 'inner', label: 'It says X', parent: 'outer' },
  ])
  assert.match(rendered.text, /Inner text/)
})

test('a content folder with any problem is refused whole, naming each problem', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'content-'))
  await mkdir(path.join(dir, 'en', 'good'), { recursive: true })
  await mkdir(path.join(dir, 'fr', 'x'), { recursive: true })
  await mkdir(path.join(dir, 'en', 'nocat'), { recursive: true })
  await writeFile(path.join(dir, 'en', 'good', '_category.md'), '---\nkey: good\ntitle: Good\norder: 1\n---\n')
  await writeFile(path.join(dir, 'en', 'good', 'one.md'), '---\nkey: one\ntitle: One\norder: 1\n---\nBody\n')
  await writeFile(path.join(dir, 'en', 'good', 'two.md'), '---\nkey: one\ntitle: Two\norder: 2\n---\nBody\n')
  await writeFile(path.join(dir, 'en', 'good', 'Bad Name.md'), '---\nkey: bad\ntitle: Bad\norder: x\n---\nBody\n')
  await assert.rejects(readContentDir(dir), (error: unknown) => {
    assert.ok(error instanceof ContentError)
    const text = error.problems.join('\n')
    assert.match(text, /no UI catalogue for locale "fr"/)
    assert.match(text, /en\/nocat\/_category.md: missing/)
    assert.match(text, /key "one" also used by/)
    assert.match(text, /Bad Name.md: front matter \/order/)
    return true
  })
})
