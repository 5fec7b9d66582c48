import { createHash } from 'node:crypto'
import type { Actor } from '../../shared/actor.js'
import { AppError } from '../../shared/errors.js'
import { currentBrandName, isLocale, locales, searchConfig } from '../../shared/i18n/index.js'
import { readContentDir, renderArticleBody, writeContentDir, type ContentSet } from './content.js'
import { RevisionCache } from '../../shared/cache.js'
import type { ArticleRow, ArticleSummaryRow, CategoryRow, HelpRepo, ImportCounts } from './helpcenter.repo.js'
import { QUERY_MAX } from './helpcenter.schemas.js'

export interface Segment {
  text: string
  highlight: boolean
}

export interface SearchHit {
  slug: string
  title: string
  summary: string
  category: { slug: string; title: string }
  snippet: Segment[]
}

export interface SearchResult {
  query: string
  /** Set when typo correction changed the words that were searched. */
  correctedQuery: string | null
  hits: SearchHit[]
  /** When nothing matched: the articles whose titles come closest, to offer instead. */
  suggestions: ArticleSummaryRow[]
}

export interface ImportReport {
  locales: string[]
  categories: ImportCounts
  articles: ImportCounts
}

export interface ArticleView {
  article: ArticleRow
  siblings: ArticleSummaryRow[]
  /** Slug of this article in each locale that has it. */
  translations: Record<string, string>
}

/** Only a safety net: a change is notified to every process (LISTEN/NOTIFY), which forgets its copy at once. */
const REVISION_TTL_MS = 30_000
const SIBLINGS = 8
const MAX_WORDS = 12
/** Words read from a query before stop words are dropped (a 200-character question has fewer). */
const MAX_TYPED_WORDS = 60
const REASON_MAX = 500

/** Removes control characters (but keeps ordinary whitespace as spaces) and Unicode-normalises. */
export function cleanText(input: string): string {
  return input.normalize('NFC').replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cs}]+/gu, ' ').replace(/\s+/g, ' ').trim()
}

function codePoints(text: string): number {
  // Counts code points, as the API schema's maxLength does, not UTF-16 units.
  return Array.from(text).length
}

function splitSnippet(snippet: string): Segment[] {
  const segments: Segment[] = []
  for (const [index, part] of snippet.split(/[\uE000\uE001]/).entries()) {
    if (part) segments.push({ text: part, highlight: index % 2 === 1 })
  }
  return segments
}

function assertLocale(locale: string): void {
  if (!isLocale(locale)) throw new AppError('LOCALE_NOT_FOUND')
}

/**
 * Articles name the portal as `{brand}` in their body: the configured BRAND_NAME is written into the
 * HTML and search text when they are imported, and again (`applyBrand`, at every start) when the
 * configured brand differs from the one they were rendered with. Front matter names no brand.
 */
export const BRAND_TOKEN = '{brand}'

export function createHelpCenterService(repo: HelpRepo, options: { brandName?: string | undefined; onSearch?: (locale: string, outcome: 'hit' | 'miss' | 'corrected') => void } = {}) {
  const brand = () => options.brandName ?? currentBrandName()
  const renderBody = (markdown: string) => renderArticleBody(markdown.replaceAll(BRAND_TOKEN, brand()))
  let cachedRevision: { value: number; at: number } | undefined
  const articles = new RevisionCache<ArticleView | null>(2000)
  const searches = new RevisionCache<{ changed: boolean; correctedQuery: string | null; hits: SearchResult['hits']; suggestions: ArticleSummaryRow[] }>(5000)

  /** Renders the stored articles again when the configured brand is not the one they name; returns how many changed. */
  async function applyBrand(): Promise<number> {
    if ((await repo.renderedBrand()) === brand()) return 0
    const changed = await repo.rerenderBodies(brand(), renderBody)
    cachedRevision = undefined
    articles.clear()
    return changed
  }

  async function revision(): Promise<number> {
    const now = Date.now()
    if (cachedRevision && now - cachedRevision.at < REVISION_TTL_MS) return cachedRevision.value
    cachedRevision = { value: await repo.revision(), at: now }
    return cachedRevision.value
  }

  return {
    /**
     * A number that changes whenever any help content changes. Kept until the
     * database notifies a change (`forgetRevision`), so pages and ETags of every
     * process follow an import as soon as it commits; read again after 30 s anyway.
     */
    revision,

    /** Called when the database notifies a new revision (any process's import). */
    forgetRevision(): void {
      cachedRevision = undefined
    },

    async listCategories(_actor: Actor, locale: string) {
      assertLocale(locale)
      return repo.listCategories(locale)
    },

    /** Categories with their articles, for the help home. */
    async overview(_actor: Actor, locale: string) {
      assertLocale(locale)
      const categories = await repo.listCategories(locale)
      const articles = await repo.articlesOfCategories(categories.map((c) => c.id))
      return categories.map((c) => ({ ...c, articles: articles.filter((a) => a.categoryId === c.id) }))
    },

    async category(_actor: Actor, locale: string, slug: string): Promise<{ category: CategoryRow; articles: ArticleSummaryRow[]; translations: Record<string, string> }> {
      assertLocale(locale)
      const category = await repo.findCategory(locale, slug)
      if (!category) throw new AppError('CATEGORY_NOT_FOUND')
      const articles = await repo.articlesOfCategories([category.id])
      const translations = Object.fromEntries((await repo.categoryTranslations(category.key)).map((t) => [t.locale, t.slug]))
      return { category, articles, translations }
    },

    /** The slug of the article with this key in this language (other modules link to articles by key: slugs differ per language). */
    async articleSlugByKey(_actor: Actor, locale: string, key: string): Promise<string> {
      assertLocale(locale)
      // Keys are lower-case words and dashes: anything else (a NUL byte, markup) names no article.
      if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(key) || key.length > 80) throw new AppError('ARTICLE_NOT_FOUND')
      const slug = (await repo.articleTranslations(key)).find((t) => t.locale === locale)?.slug
      if (!slug) throw new AppError('ARTICLE_NOT_FOUND')
      return slug
    },

    /** An article with its translations and a few other articles of its topic; cached per content revision. */
    async article(_actor: Actor, locale: string, slug: string): Promise<ArticleView> {
      assertLocale(locale)
      const view = await articles.get(`${locale}/${slug}`, await revision(), async () => {
        const article = await repo.findArticle(locale, slug)
        if (!article) return null
        const [translationRows, siblings] = await Promise.all([
          repo.articleTranslations(article.key),
          repo.siblings(article.category.id, article.id, SIBLINGS),
        ])
        return { article, siblings, translations: Object.fromEntries(translationRows.map((t) => [t.locale, t.slug])) }
      })
      if (!view) throw new AppError('ARTICLE_NOT_FOUND')
      return view
    },

    async search(_actor: Actor, input: { locale: string; query: string; limit: number }): Promise<SearchResult> {
      assertLocale(input.locale)
      if (codePoints(input.query) > QUERY_MAX) throw new AppError('QUERY_TOO_LONG', { limit: QUERY_MAX })
      const query = cleanText(input.query)
      // Hyphenated words stay together until the database knows whether the articles join them.
      const tokens = (query.match(/[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*/gu) ?? []).slice(0, MAX_TYPED_WORDS)
      if (tokens.length === 0) throw new AppError('QUERY_EMPTY')
      const limit = Math.min(Math.max(Math.trunc(input.limit), 1), 50)

      // The same words give the same answer until the content changes: people ask the same few
      // questions, and each is searched once per revision (the database words, ranks and snippets).
      const found = await searches.get(`${input.locale}\u0000${String(limit)}\u0000${query.toLowerCase()}`, await revision(), async () => {
        const { words, rows } = await repo.search(input.locale, searchConfig(input.locale), tokens, MAX_WORDS, limit)
        const corrected = words.map((w) => w.searched)
        const changed = words.some((w) => w.searched !== w.word)
        const hits = rows.map((r) => ({
          slug: r.slug, title: r.title, summary: r.summary,
          category: { slug: r.category_slug, title: r.category_title },
          snippet: splitSnippet(r.snippet),
        }))
        const suggestions: ArticleSummaryRow[] = hits.length === 0 ? await repo.closestArticles(input.locale, query, 3) : []
        return { changed, correctedQuery: changed && hits.length > 0 ? corrected.join(' ') : null, hits, suggestions }
      })
      // Every search without results is counted, answered from the cache or not.
      if (found.hits.length === 0) await repo.recordMiss(input.locale, query.toLowerCase().slice(0, QUERY_MAX))
      options.onSearch?.(input.locale, found.hits.length === 0 ? 'miss' : found.changed ? 'corrected' : 'hit')
      return { query, correctedQuery: found.correctedQuery, hits: found.hits, suggestions: found.suggestions }
    },

    /**
     * Records "was this helpful?" for an article or one of its branches. A
     * visitor has one vote per article and branch; voting again replaces it.
     */
    async recordFeedback(actor: Actor, input: { locale: string; slug: string; branch: string; helpful: boolean; reason: string; visitorId: string }) {
      assertLocale(input.locale)
      const article = await repo.findArticle(input.locale, input.slug)
      if (!article) throw new AppError('ARTICLE_NOT_FOUND')
      if (input.branch && !article.branches.some((b) => b.id === input.branch)) throw new AppError('BRANCH_NOT_FOUND')
      const reason = cleanText(input.reason).slice(0, REASON_MAX)
      const voter = actor.kind === 'user' ? `user:${actor.userId}` : `visitor:${input.visitorId}`
      const replaced = await repo.upsertVote({
        articleId: article.id,
        branch: input.branch,
        visitorHash: createHash('sha256').update(voter).digest('hex'),
        helpful: input.helpful,
        reason: reason || null,
      })
      return { replaced, category: article.category.key, articleKey: article.key }
    },

    /** Makes the help center hold exactly the articles in `dir`; `onProgress` hears of each article written or found unchanged. */
    async importContent(dir: string, run: { onProgress?: (done: number, total: number) => void } = {}): Promise<ImportReport> {
      const set = await readContentDir(dir)
      const articles = set.articles.map((a) => {
        // The stored Markdown keeps the token (export gives back what was imported); HTML and search text carry the name.
        const rendered = renderBody(a.bodyMarkdown)
        return { ...a, bodyHtml: rendered.html, bodyText: rendered.text, branches: rendered.branches, searchConfig: searchConfig(a.locale) }
      })
      let done = 0
      run.onProgress?.(0, articles.length)
      const counts = await repo.applyContent(set.locales, set.categories, articles, (settled) => {
        done += settled
        run.onProgress?.(done, articles.length)
      })
      cachedRevision = undefined
      // Articles the import found unchanged were rendered with the brand of their last import.
      await applyBrand()
      return { locales: set.locales, ...counts }
    },

    applyBrand,

    async exportContent(dir: string): Promise<number> {
      const present = await repo.contentLocales()
      const { categories, articles } = await repo.exportContent(present.filter((l) => locales.includes(l)))
      const set: ContentSet = {
        locales: present,
        categories: categories.map((c) => ({ ...c, sourceHash: '' })),
        articles,
      }
      return writeContentDir(dir, set)
    },

    async report() {
      return { feedback: await repo.feedbackCounts(), misses: await repo.searchMisses(50) }
    },
  }
}

export type HelpCenterService = ReturnType<typeof createHelpCenterService>
