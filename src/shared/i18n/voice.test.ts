/**
 * One voice per language: the catalogues, the help articles and the emails use the same words
 * (terminology.json), every text an article quotes is a text the portal shows, and every page an
 * article names exists. Each test lists every finding at once, with where it is.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import matter from 'gray-matter'
import * as factory from '../../../test/factories.js'
import { buildTestApp } from '../../../test/helpers.js'

interface TermEntry { use: string; forbid: string[] }
interface Term { concept: string; scope?: ('catalogue' | 'content')[]; [locale: string]: TermEntry | string | string[] | undefined }
interface Terminology {
  terms: Term[]
  sameAsEnglish: Record<string, string[]>
  quotedNotUi: Record<string, string[]>
  notPortalPages: { names: string[] }
}

const terminology = JSON.parse(readFileSync('src/shared/i18n/terminology.json', 'utf8')) as Terminology
const localesDir = 'src/shared/i18n/locales'
const locales = readdirSync(localesDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort()

function catalogue(locale: string): Record<string, string> {
  const raw = JSON.parse(readFileSync(path.join(localesDir, `${locale}.json`), 'utf8')) as Record<string, unknown>
  return Object.fromEntries(Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === 'string'))
}
const catalogues = new Map(locales.map((l) => [l, catalogue(l)]))

interface Article { file: string; title: string; summary: string; tags: string[]; body: string }

function articles(locale: string): Article[] {
  const dir = path.join('content', locale)
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f)
      const parsed = matter(readFileSync(file, 'utf8'))
      const data = parsed.data as { title?: string; summary?: string; description?: string; tags?: string[] }
      return { file, title: data.title ?? '', summary: data.summary ?? data.description ?? '', tags: data.tags ?? [], body: parsed.content }
    })
}

/**
 * Every place a reader sees text of one language, with a label for the report. Tags are left out:
 * they hold the words people search with ("sbloccare", "Ticket"), variants included on purpose.
 */
function texts(locale: string): { where: string; kind: 'catalogue' | 'content'; text: string }[] {
  const fromCatalogue = Object.entries(catalogues.get(locale) ?? {}).map(([key, text]) => ({ where: `${locale}.json ${key}`, kind: 'catalogue' as const, text }))
  const fromContent = articles(locale).flatMap((a) => [
    { where: `${a.file} (title)`, kind: 'content' as const, text: a.title },
    { where: `${a.file} (summary)`, kind: 'content' as const, text: a.summary },
    ...a.body.split('\n').map((line, i) => ({ where: `${a.file}:${i + 1}`, kind: 'content' as const, text: line })),
  ])
  return [...fromCatalogue, ...fromContent]
}

function entry(term: Term, locale: string): TermEntry | undefined {
  const value = term[locale]
  return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined
}

/** Strips Markdown emphasis and the punctuation around a quoted or bold name. */
function bare(text: string): string {
  return text.replace(/\*\*|`/g, '').replace(/^[\s.,:;!?…]+|[\s.,:;!?…]+$/g, '').trim()
}

/** Fails with every finding, one a line (a deep-equal diff would cut the list short). */
function none(problems: string[]): void {
  if (problems.length > 0) assert.fail(`${problems.length} finding(s):\n${problems.join('\n')}`)
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** True when `quote` is (part of) a text of the catalogue, `{placeholders}` standing for anything. */
function isCatalogueText(locale: string, quote: string): boolean {
  const wanted = bare(quote).toLocaleLowerCase(locale)
  if (!wanted) return true
  return Object.values(catalogues.get(locale) ?? {}).some((value) => {
    const lower = value.toLocaleLowerCase(locale)
    const parts = lower.split(/\{\w+\}/)
    if (parts.some((p) => p.includes(wanted))) return true
    // A quote of the whole text as shown, its placeholders filled: "… für 15 Minuten vorübergehend gesperrt".
    return parts.length > 1 && new RegExp(`^${parts.map(escape).join('.+?')}$`, 'su').test(wanted)
  })
}

/** A whole catalogue text, as a page title, heading, button or section is written. */
function isWholeCatalogueText(locale: string, name: string): boolean {
  const wanted = bare(name).toLocaleLowerCase(locale)
  return Object.values(catalogues.get(locale) ?? {}).some((value) => bare(value).toLocaleLowerCase(locale) === wanted)
}

const QUOTES = /«([^»\n]+)»|„([^“\n]+)“|“([^”\n]+)”|"([^"\n]+)"/gu

/** Words that introduce the name of a page, a section of a page or a console, per language. */
const PAGE_WORDS: Record<string, RegExp> = {
  it: /(?:\b(?:pagina|sezione|scheda|console|apri|nella|nel|in)\s+)(?:\*\*([^*\n]+)\*\*|«([^»\n]+)»)/giu,
  de: /(?:\b(?:Seite|Bereich|Abschnitt|Konsole|öffnen Sie(?: die| den| das)?|in der|im|unter)\s+)(?:\*\*([^*\n]+)\*\*|„([^“\n]+)“)/giu,
  en: /(?:\b(?:page|section|console|open|in|under)\s+)(?:\*\*([^*\n]+)\*\*|"([^"\n]+)")|(?:\*\*([^*\n]+)\*\*|"([^"\n]+)")\s+(?:page|section|tab)\b/giu,
}

test('every key exists in every language, and no text is left in English unless the word is the same', () => {
  const english = catalogues.get('en') ?? {}
  const problems: string[] = []
  const all = new Set(locales.flatMap((l) => Object.keys(catalogues.get(l) ?? {})))
  for (const locale of locales) {
    const values = catalogues.get(locale) ?? {}
    for (const key of all) if (!(key in values)) problems.push(`${locale}.json lacks ${key}`)
    if (locale === 'en') continue
    const allowed = new Set(terminology.sameAsEnglish[locale] ?? [])
    for (const [key, value] of Object.entries(values)) {
      if (value === english[key] && !allowed.has(key)) problems.push(`${locale}.json ${key} is the English text "${value}"`)
    }
    for (const key of allowed) if (key in values && values[key] !== english[key]) problems.push(`${locale}: ${key} is allow-listed as English but is translated: remove it from sameAsEnglish`)
  }
  none(problems)
})

test('no forbidden variant of a term is used in the catalogues, emails or articles', () => {
  const problems: string[] = []
  for (const locale of locales) {
    const all = texts(locale)
    for (const term of terminology.terms) {
      const words = entry(term, locale)
      if (!words) continue
      const scope = term.scope ?? ['catalogue', 'content']
      for (const pattern of words.forbid) {
        const regex = new RegExp(pattern, 'u')
        for (const { where, kind, text } of all) {
          if (!scope.includes(kind)) continue
          const match = regex.exec(text)
          if (match) problems.push(`${where}: "${match[0]}" — write "${words.use}" (${term.concept})`)
        }
      }
    }
  }
  none(problems)
})

test('the brand is never written out: texts, emails and article bodies name it as {brand}, titles and summaries not at all', () => {
  const findings: string[] = []
  for (const locale of locales) {
    for (const { where, text } of texts(locale)) {
      if (/Demo[ -]?Motors/.test(text)) findings.push(`${where}: ${text.slice(0, 100)}`)
      // Titles and summaries are stored as written (only bodies are rendered with the configured brand).
      if (/\((title|summary)\)$/.test(where) && text.includes('{brand}')) findings.push(`${where}: {brand} in front matter`)
    }
  }
  assert.deepEqual(findings, [], `${String(findings.length)} texts name the brand themselves`)
})

test('every portal text an article quotes is a text of that language\'s catalogue or email subjects', () => {
  const problems: string[] = []
  for (const locale of locales) {
    const examples = new Set((terminology.quotedNotUi[locale] ?? []).map((q) => q.toLocaleLowerCase(locale)))
    for (const a of articles(locale)) {
      for (const [field, text] of [['title', a.title], ['summary', a.summary], ['body', a.body]] as const) {
        for (const match of text.matchAll(QUOTES)) {
          const quote = match[1] ?? match[2] ?? match[3] ?? match[4] ?? ''
          if (examples.has(quote.toLocaleLowerCase(locale))) continue
          if (!isCatalogueText(locale, quote)) problems.push(`${a.file} (${field}): quotes "${quote}", which the portal never shows in ${locale}`)
        }
      }
    }
  }
  none(problems)
})

test('every page, section or button an article names by its title exists in that language', () => {
  const problems: string[] = []
  for (const locale of locales) {
    const pattern = PAGE_WORDS[locale]
    if (!pattern) continue
    for (const a of articles(locale)) {
      for (const [field, text] of [['summary', a.summary], ['body', a.body]] as const) {
        for (const match of text.matchAll(pattern)) {
          const name = match.slice(1).find(Boolean) ?? ''
          if (terminology.notPortalPages.names.includes(bare(name))) continue
          if (!isWholeCatalogueText(locale, name)) problems.push(`${a.file} (${field}): names "${bare(name)}", which is no page, section or button of the portal in ${locale}`)
        }
      }
    }
  }
  none(problems)
})

test('every page an article links to exists', async (t) => {
  const { app } = await buildTestApp(t)
  // The partner directory opens on the market of the page's language.
  for (const code of ['IT', 'DE', 'GB']) await factory.market(app, { code })
  const links = new Map<string, string[]>()
  for (const locale of locales) {
    for (const a of articles(locale)) {
      for (const match of a.body.matchAll(/\]\((\/[^)\s]*)\)/g)) {
        const url = match[1] ?? ''
        links.set(url, [...(links.get(url) ?? []), a.file])
        if (!url.startsWith(`/${locale}/`)) links.set(`${url} (not in ${locale})`, [a.file])
      }
    }
  }
  const problems: string[] = []
  for (const [url, files] of links) {
    if (url.includes(' (not in ')) { problems.push(`${files.join(', ')} links to ${url}`); continue }
    const response = await app.inject({ method: 'GET', url })
    if (response.statusCode === 404) problems.push(`${url} (linked from ${[...new Set(files)].join(', ')}) does not exist`)
  }
  none(problems)
})
