import { and, asc, count, eq, inArray, ne, notInArray, sql } from 'drizzle-orm'
import type { Db, Tx } from '../../db/client.js'
import { firstRow, rows } from '../../db/query.js'
import { appSettings, type BranchRecord, helpArticles, helpCategories, helpFeedback, helpLexicon, helpSearchMisses } from '../../db/schema/index.js'
import type { ArticleDraft, BranchDraft, CategoryDraft } from './helpcenter.schemas.js'

export type CategoryRow = Omit<CategoryDraft, 'sourceHash'> & { id: number }

export interface ArticleSummaryRow {
  id: number
  key: string
  slug: string
  title: string
  summary: string
  position: number
}

export interface ArticleRow extends ArticleSummaryRow {
  locale: string
  audience: string
  tags: string[]
  bodyMarkdown: string
  bodyHtml: string
  branches: BranchDraft[]
  updatedAt: Date
  category: { id: number; key: string; slug: string; title: string }
}

export interface RenderedArticle extends ArticleDraft {
  bodyHtml: string
  bodyText: string
  branches: BranchDraft[]
  searchConfig: string
}

export interface ImportCounts {
  created: number
  updated: number
  unchanged: number
  deleted: number
}

export interface SearchRow extends Record<string, unknown> {
  id: number
  slug: string
  title: string
  summary: string
  category_slug: string
  category_title: string
  snippet: string
}

const REVISION_KEY = 'help.revision'
/** The brand the stored articles' HTML and search text name (`{brand}` in their Markdown). */
const BRAND_KEY = 'help.brand'
/** Notified (on commit) whenever the revision changes, so that every process forgets its copy at once. */
export const REVISION_CHANNEL = 'sportello_help_revision'

export function createHelpRepo(db: Db) {
  const categoryColumns = {
    id: helpCategories.id, locale: helpCategories.locale, key: helpCategories.key, slug: helpCategories.slug,
    title: helpCategories.title, description: helpCategories.description, position: helpCategories.position,
  }
  const summaryColumns = {
    id: helpArticles.id, key: helpArticles.key, slug: helpArticles.slug, title: helpArticles.title,
    summary: helpArticles.summary, position: helpArticles.position,
  }

  async function bumpRevision(tx: Tx): Promise<void> {
    await tx.insert(appSettings).values({ key: REVISION_KEY, value: 1 }).onConflictDoUpdate({
      target: appSettings.key,
      set: { value: sql`to_jsonb((${appSettings.value})::int + 1)`, updatedAt: sql`now()` },
    })
    await tx.execute(sql`select pg_notify(${REVISION_CHANNEL}, '')`)
  }

  async function rebuildLexicon(tx: Tx, locale: string): Promise<void> {
    await tx.delete(helpLexicon).where(eq(helpLexicon.locale, locale))
    await tx.execute(sql`
      insert into help_lexicon (locale, word)
      select distinct ${locale}, w
      from help_articles a,
        regexp_split_to_table(
          -- Paths and addresses (/it/password/forgot) are not words the search index holds.
          regexp_replace(lower(unaccent(a.title || ' ' || a.summary || ' ' || array_to_string(a.tags, ' ') || ' ' || a.body_text)), '\\S*[/@]\\S*', ' ', 'g'),
          '[^[:alnum:]]+') as w
      where a.locale = ${locale} and length(w) between 3 and 40
      on conflict do nothing`)
  }

  return {
    /** The brand the stored articles were last rendered with; null before any rendering recorded one. */
    async renderedBrand(): Promise<string | null> {
      const row = await firstRow<{ value: string }>(db, sql`select value #>> '{}' as value from app_settings where key = ${BRAND_KEY}`)
      return row?.value ?? null
    },

    /**
     * Renders every article's body again from its stored Markdown for `brand` (the configured brand
     * changed), in one transaction: HTML, search text and vector, the typo lexicon, a new revision.
     * Returns how many articles changed.
     */
    async rerenderBodies(brand: string, render: (markdown: string) => { html: string; text: string; branches: BranchRecord[] }): Promise<number> {
      return db.transaction(async (tx) => {
        // The setting's row lock makes concurrent starts render one after the other.
        await tx.insert(appSettings).values({ key: BRAND_KEY, value: brand }).onConflictDoUpdate({ target: appSettings.key, set: { value: brand, updatedAt: sql`now()` } })
        const stored = await tx.select({ id: helpArticles.id, locale: helpArticles.locale, markdown: helpArticles.bodyMarkdown, html: helpArticles.bodyHtml }).from(helpArticles)
        const locales = new Set<string>()
        let changed = 0
        for (const article of stored) {
          const rendered = render(article.markdown)
          if (rendered.html === article.html) continue
          changed++
          locales.add(article.locale)
          await tx.update(helpArticles).set({
            bodyHtml: rendered.html, bodyText: rendered.text, branches: rendered.branches, updatedAt: sql`now()`,
            searchVector: sql`coalesce(${helpArticles.headVector}, ''::tsvector) || setweight(to_tsvector(${helpArticles.searchConfig}::regconfig, unaccent(${rendered.text})), 'C')`,
            rankVector: sql`help_rank_vector(${helpArticles.searchConfig}::regconfig, ${helpArticles.headVector}, ${rendered.text})`,
          }).where(eq(helpArticles.id, article.id))
        }
        for (const locale of locales) await rebuildLexicon(tx, locale)
        if (locales.size > 0) await bumpRevision(tx)
        return changed
      })
    },

    async revision(): Promise<number> {
      const row = await firstRow<{ value: number }>(db, sql`select (value)::int as value from app_settings where key = ${REVISION_KEY}`)
      return row?.value ?? 0
    },

    async listCategories(locale: string): Promise<(CategoryRow & { articleCount: number })[]> {
      return db
        .select({ ...categoryColumns, articleCount: count(helpArticles.id) })
        .from(helpCategories)
        .leftJoin(helpArticles, eq(helpArticles.categoryId, helpCategories.id))
        .where(eq(helpCategories.locale, locale))
        .groupBy(helpCategories.id)
        .orderBy(asc(helpCategories.position), asc(helpCategories.title))
    },

    async findCategory(locale: string, slug: string): Promise<CategoryRow | undefined> {
      const [row] = await db.select(categoryColumns).from(helpCategories)
        .where(and(eq(helpCategories.locale, locale), eq(helpCategories.slug, slug)))
      return row
    },

    async articlesOfCategories(categoryIds: number[]): Promise<(ArticleSummaryRow & { categoryId: number })[]> {
      if (categoryIds.length === 0) return []
      return db.select({ ...summaryColumns, categoryId: helpArticles.categoryId }).from(helpArticles)
        .where(inArray(helpArticles.categoryId, categoryIds))
        .orderBy(asc(helpArticles.position), asc(helpArticles.title))
    },

    /** Other articles of a category, first by editorial order: the "more in this topic" list. */
    async siblings(categoryId: number, exceptId: number, limit: number): Promise<ArticleSummaryRow[]> {
      return db.select(summaryColumns).from(helpArticles)
        .where(and(eq(helpArticles.categoryId, categoryId), ne(helpArticles.id, exceptId)))
        .orderBy(asc(helpArticles.position), asc(helpArticles.title)).limit(limit)
    },

    async findArticle(locale: string, slug: string): Promise<ArticleRow | undefined> {
      const [row] = await db
        .select({
          ...summaryColumns, locale: helpArticles.locale, audience: helpArticles.audience, tags: helpArticles.tags,
          bodyMarkdown: helpArticles.bodyMarkdown, bodyHtml: helpArticles.bodyHtml, branches: helpArticles.branches,
          updatedAt: helpArticles.updatedAt,
          category: { id: helpCategories.id, key: helpCategories.key, slug: helpCategories.slug, title: helpCategories.title },
        })
        .from(helpArticles)
        .innerJoin(helpCategories, eq(helpCategories.id, helpArticles.categoryId))
        .where(and(eq(helpArticles.locale, locale), eq(helpArticles.slug, slug)))
      return row
    },

    async articleTranslations(key: string): Promise<{ locale: string; slug: string }[]> {
      return db.select({ locale: helpArticles.locale, slug: helpArticles.slug }).from(helpArticles).where(eq(helpArticles.key, key))
    },

    async categoryTranslations(key: string): Promise<{ locale: string; slug: string }[]> {
      return db.select({ locale: helpCategories.locale, slug: helpCategories.slug }).from(helpCategories).where(eq(helpCategories.key, key))
    },

    /**
     * A search in one statement: the words it looks for, then the ranked articles with snippets.
     *
     * Words: for each typed word, is it a word of this locale's articles, and if not, the closest
     * one that is (SQL function help_correct_words), which replaces it when it has 4 letters or more.
     * A hyphenated word stays one word when the articles write it joined (Italian "e-mail" is "email"
     * there), else it is its parts; the language's stop words are dropped before the first `max` are
     * kept, so that a long question ("Ho ricevuto un'e-mail che mi informa che il mio account verrà
     * bloccato a breve") keeps the words that matter. A query of stop words only is searched as it was typed.
     *
     * Articles: SQL function help_search (any word in the head, every word in the text), on the
     * corrected words. One round trip instead of two: on 3 × 10,000 articles a new question's words
     * and hits cost about 1 ms less this way.
     */
    async search(locale: string, config: string, tokens: string[], max: number, limit: number): Promise<{ words: { word: string; searched: string }[]; rows: SearchRow[] }> {
      if (tokens.length === 0) return { words: [], rows: [] }
      // Without a hit, one row of nulls still brings the words.
      const found = await rows<Omit<SearchRow, 'id'> & { id: number | null; words: string[] | null; searched: string[] | null }>(db, sql`
        with typed as (
          select t, n from unnest(${sql.param(tokens)}::text[]) with ordinality u(t, n)
        ), joined as (
          select t.n, case when position('-' in t.t) > 0 and exists (
              select 1 from help_lexicon l where l.locale = ${locale} and l.word = lower(unaccent(replace(t.t, '-', '')))
            ) then array[replace(t.t, '-', '')] else string_to_array(t.t, '-') end as parts
          from typed t
        ), words as (
          select p.w, j.n, p.k from joined j cross join lateral unnest(j.parts) with ordinality p(w, k) where p.w <> ''
        ), kept as (
          select w, n, k from words where to_tsvector(${config}::regconfig, w) <> ''::tsvector order by n, k limit ${max}
        ), first_typed as (
          select w, n, k from words order by n, k limit ${max}
        ), checked as (
          select c.word, c.known, c.best, c.n from help_correct_words(${locale}, coalesce(
            (select array_agg(w order by n, k) from kept),
            (select array_agg(w order by n, k) from first_typed))) with ordinality c(word, known, best, n)
        ), corrected as (
          select array_agg(word order by n) as words,
            array_agg(case when not known and best is not null and length(word) >= 4 then best else word end order by n) as searched
          from checked
        )
        select s.id, s.slug, s.title, s.summary, s.category_slug, s.category_title, s.snippet, c.words, c.searched
        from corrected c
        left join lateral help_search(${locale}, ${config}::regconfig, coalesce(c.searched, '{}'), ${limit}::int) with ordinality s on true
        order by s.ordinality`)
      const first = found[0]
      const words = (first?.words ?? []).map((word, i) => ({ word, searched: first?.searched?.[i] ?? word }))
      return { words, rows: found.filter((r): r is typeof r & SearchRow => r.id !== null) }
    },

    /** Articles whose titles look most like the query, for a search that found nothing. */
    async closestArticles(locale: string, text: string, limit: number): Promise<ArticleSummaryRow[]> {
      return rows<ArticleSummaryRow & Record<string, unknown>>(db, sql`
        select id, key, slug, title, summary, position from help_closest_articles(${locale}, ${text}, ${limit}::int)`)
    },

    async recordMiss(locale: string, query: string): Promise<void> {
      await db.insert(helpSearchMisses).values({ locale, query }).onConflictDoUpdate({
        target: [helpSearchMisses.locale, helpSearchMisses.query],
        set: { count: sql`${helpSearchMisses.count} + 1`, lastAt: sql`now()` },
      })
    },

    async searchMisses(limit: number) {
      return db.select().from(helpSearchMisses).orderBy(sql`${helpSearchMisses.count} desc`, asc(helpSearchMisses.query)).limit(limit)
    },

    /** One vote per visitor, article and branch: a second vote replaces the first. Returns true when it replaced one. */
    async upsertVote(vote: { articleId: number; branch: string; visitorHash: string; helpful: boolean; reason: string | null }): Promise<boolean> {
      const row = await firstRow<{ inserted: boolean }>(db, sql`
        insert into help_feedback (article_id, branch, visitor_hash, helpful, reason)
        values (${vote.articleId}, ${vote.branch}, ${vote.visitorHash}, ${vote.helpful}, ${vote.reason})
        on conflict (article_id, branch, visitor_hash)
        do update set helpful = excluded.helpful, reason = excluded.reason, updated_at = now()
        returning (xmax = 0) as inserted`)
      return row ? !row.inserted : false
    },

    async feedbackCounts(): Promise<{ locale: string; slug: string; branch: string; helpful: number; notHelpful: number }[]> {
      return db.select({
        locale: helpArticles.locale, slug: helpArticles.slug, branch: helpFeedback.branch,
        helpful: sql<number>`count(*) filter (where ${helpFeedback.helpful})::int`,
        notHelpful: sql<number>`count(*) filter (where not ${helpFeedback.helpful})::int`,
      }).from(helpFeedback).innerJoin(helpArticles, eq(helpArticles.id, helpFeedback.articleId))
        .groupBy(helpArticles.locale, helpArticles.slug, helpFeedback.branch)
        .orderBy(asc(helpArticles.locale), asc(helpArticles.slug), asc(helpFeedback.branch))
    },

    /**
     * Makes the database hold exactly these categories and articles for the given locales.
     * Rows are matched by (locale, key) and updated in place, so feedback survives edits.
     */
    async applyContent(locales: string[], categories: CategoryDraft[], articles: RenderedArticle[], onArticles?: (settled: number) => void): Promise<{ categories: ImportCounts; articles: ImportCounts }> {
      return db.transaction(async (tx) => {
        const result = { categories: { created: 0, updated: 0, unchanged: 0, deleted: 0 }, articles: { created: 0, updated: 0, unchanged: 0, deleted: 0 } }
        const changedLocales = new Set<string>()
        for (const locale of locales) {
          const wantedCategories = categories.filter((c) => c.locale === locale)
          const wantedArticles = articles.filter((a) => a.locale === locale)
          const existingCategories = new Map((await tx.select({ key: helpCategories.key, id: helpCategories.id, hash: helpCategories.sourceHash })
            .from(helpCategories).where(eq(helpCategories.locale, locale))).map((r) => [r.key, r]))
          const existingArticles = new Map((await tx.select({ key: helpArticles.key, hash: helpArticles.sourceHash })
            .from(helpArticles).where(eq(helpArticles.locale, locale))).map((r) => [r.key, r]))

          // Deletions first so that a slug freed by one row can be taken by another.
          const goneArticles = await tx.delete(helpArticles).where(and(eq(helpArticles.locale, locale),
            wantedArticles.length ? notInArray(helpArticles.key, wantedArticles.map((a) => a.key)) : sql`true`)).returning({ id: helpArticles.id })
          const goneCategories = await tx.delete(helpCategories).where(and(eq(helpCategories.locale, locale),
            wantedCategories.length ? notInArray(helpCategories.key, wantedCategories.map((c) => c.key)) : sql`true`)).returning({ id: helpCategories.id })
          result.articles.deleted += goneArticles.length
          result.categories.deleted += goneCategories.length

          const categoryIds = new Map<string, number>()
          for (const c of wantedCategories) {
            const existing = existingCategories.get(c.key)
            if (existing?.hash === c.sourceHash) {
              result.categories.unchanged++
              categoryIds.set(c.key, existing.id)
              continue
            }
            const values = { locale, key: c.key, slug: c.slug, title: c.title, description: c.description, position: c.position, sourceHash: c.sourceHash }
            const [row] = await tx.insert(helpCategories).values(values).onConflictDoUpdate({
              target: [helpCategories.locale, helpCategories.key],
              set: { ...values, updatedAt: sql`now()` },
            }).returning({ id: helpCategories.id })
            if (!row) throw new Error(`category ${locale}/${c.key} was not written`)
            categoryIds.set(c.key, row.id)
            if (existing) result.categories.updated++
            else result.categories.created++
          }

          const changed = wantedArticles.filter((a) => existingArticles.get(a.key)?.hash !== a.sourceHash)
          result.articles.unchanged += wantedArticles.length - changed.length
          onArticles?.(wantedArticles.length - changed.length)
          for (const a of changed) {
            if (existingArticles.has(a.key)) result.articles.updated++
            else result.articles.created++
          }
          for (let i = 0; i < changed.length; i += 200) {
            const batch = changed.slice(i, i + 200).map((a) => {
              const cfg = sql`${a.searchConfig}::regconfig`
              const head = sql`setweight(to_tsvector(${cfg}, unaccent(${a.title})), 'A') || setweight(to_tsvector(${cfg}, unaccent(${a.tags.join(' ')})), 'A') || setweight(to_tsvector(${cfg}, unaccent(${a.summary})), 'B')`
              return {
                locale, key: a.key, categoryId: categoryIds.get(a.categoryKey) ?? 0, slug: a.slug, title: a.title,
                summary: a.summary, audience: a.audience, tags: a.tags, position: a.position,
                bodyMarkdown: a.bodyMarkdown, bodyHtml: a.bodyHtml, bodyText: a.bodyText, branches: a.branches,
                sourceHash: a.sourceHash, searchConfig: a.searchConfig,
                headVector: head, searchVector: sql`${head} || setweight(to_tsvector(${cfg}, unaccent(${a.bodyText})), 'C')`,
                rankVector: sql`help_rank_vector(${cfg}, ${head}, ${a.bodyText})`,
              }
            })
            await tx.insert(helpArticles).values(batch).onConflictDoUpdate({
              target: [helpArticles.locale, helpArticles.key],
              set: {
                categoryId: sql`excluded.category_id`, slug: sql`excluded.slug`, title: sql`excluded.title`,
                summary: sql`excluded.summary`, audience: sql`excluded.audience`, tags: sql`excluded.tags`,
                position: sql`excluded.position`, bodyMarkdown: sql`excluded.body_markdown`, bodyHtml: sql`excluded.body_html`,
                bodyText: sql`excluded.body_text`, branches: sql`excluded.branches`, sourceHash: sql`excluded.source_hash`,
                searchConfig: sql`excluded.search_config`, searchVector: sql`excluded.search_vector`, headVector: sql`excluded.head_vector`, rankVector: sql`excluded.rank_vector`, updatedAt: sql`now()`,
              },
            })
            onArticles?.(batch.length)
          }
          if (changed.length + goneArticles.length + goneCategories.length > 0 || result.categories.updated + result.categories.created > 0) {
            changedLocales.add(locale)
          }
        }
        for (const locale of changedLocales) await rebuildLexicon(tx, locale)
        if (changedLocales.size > 0) await bumpRevision(tx)
        // A large import changes the tables' statistics enough to mislead the planner.
        if (result.articles.created + result.articles.updated + result.articles.deleted > 500) {
          await tx.execute(sql`analyze help_articles`)
          await tx.execute(sql`analyze help_lexicon`)
        }
        return result
      })
    },

    async exportContent(locales: string[]) {
      const cats = await db.select({ ...categoryColumns }).from(helpCategories)
        .where(inArray(helpCategories.locale, locales)).orderBy(asc(helpCategories.locale), asc(helpCategories.position), asc(helpCategories.key))
      const arts = await db.select({
        locale: helpArticles.locale, key: helpArticles.key, categoryKey: helpCategories.key, slug: helpArticles.slug,
        title: helpArticles.title, summary: helpArticles.summary, audience: helpArticles.audience, tags: helpArticles.tags,
        position: helpArticles.position, bodyMarkdown: helpArticles.bodyMarkdown, sourceHash: helpArticles.sourceHash,
      }).from(helpArticles).innerJoin(helpCategories, eq(helpCategories.id, helpArticles.categoryId))
        .where(inArray(helpArticles.locale, locales)).orderBy(asc(helpArticles.locale), asc(helpArticles.key))
      return { categories: cats, articles: arts }
    },

    async contentLocales(): Promise<string[]> {
      const result = await db.selectDistinct({ locale: helpCategories.locale }).from(helpCategories).orderBy(asc(helpCategories.locale))
      return result.map((r) => r.locale)
    },
  }
}

export type HelpRepo = ReturnType<typeof createHelpRepo>
