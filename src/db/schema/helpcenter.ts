import { sql } from 'drizzle-orm'
import {
  boolean, customType, index, integer, jsonb, pgTable, primaryKey, serial, text, timestamp, uniqueIndex,
} from 'drizzle-orm/pg-core'

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' })

export interface BranchRecord {
  id: string
  label: string
  /** Id of the enclosing branch for nested branches. */
  parent: string | null
}

export const helpCategories = pgTable('help_categories', {
  id: serial('id').primaryKey(),
  locale: text('locale').notNull(),
  key: text('key').notNull(),
  slug: text('slug').notNull(),
  title: text('title').notNull(),
  description: text('description').notNull().default(''),
  position: integer('position').notNull().default(0),
  sourceHash: text('source_hash').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('help_categories_locale_key').on(t.locale, t.key),
  uniqueIndex('help_categories_locale_slug').on(t.locale, t.slug),
])

export const helpArticles = pgTable('help_articles', {
  id: serial('id').primaryKey(),
  locale: text('locale').notNull(),
  key: text('key').notNull(),
  categoryId: integer('category_id').notNull().references(() => helpCategories.id, { onDelete: 'cascade' }),
  slug: text('slug').notNull(),
  title: text('title').notNull(),
  summary: text('summary').notNull().default(''),
  audience: text('audience').notNull().default('all'),
  tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
  position: integer('position').notNull().default(0),
  bodyMarkdown: text('body_markdown').notNull(),
  bodyHtml: text('body_html').notNull(),
  bodyText: text('body_text').notNull(),
  branches: jsonb('branches').$type<BranchRecord[]>().notNull().default([]),
  sourceHash: text('source_hash').notNull(),
  searchConfig: text('search_config').notNull(),
  /** Everything: title and tags (weight A), summary (B), body (C). */
  searchVector: tsvector('search_vector'),
  /** Title, tags and summary only: small, so ranking and prefix matching on it stay cheap. */
  headVector: tsvector('head_vector'),
  /**
   * What search ranks by: the head and the body's first 60 words (weight C). Kept small and in the
   * row (storage MAIN, migration 0022), so ranking the thousands of articles a common word matches
   * never reads the out-of-line search vector.
   */
  rankVector: tsvector('rank_vector'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('help_articles_locale_key').on(t.locale, t.key),
  uniqueIndex('help_articles_locale_slug').on(t.locale, t.slug),
  index('help_articles_category').on(t.categoryId, t.position),
  // fastupdate off: content changes rarely, and a GIN pending list would be scanned by every search.
  index('help_articles_search').using('gin', t.searchVector).with({ fastupdate: false }),
  index('help_articles_head').using('gin', t.headVector).with({ fastupdate: false }),
  index('help_articles_title_trgm').using('gin', sql`${t.title} gin_trgm_ops`).with({ fastupdate: false }),
])

/** Words of each locale's articles, unaccented and lower-cased: the dictionary that typo correction picks from. */
export const helpLexicon = pgTable('help_lexicon', {
  locale: text('locale').notNull(),
  word: text('word').notNull(),
}, (t) => [
  primaryKey({ columns: [t.locale, t.word] }),
  index('help_lexicon_word_trgm').using('gin', sql`${t.word} gin_trgm_ops`).with({ fastupdate: false }),
  index('help_lexicon_word_start').using('btree', t.locale, sql`left(${t.word}, 2)`),
])

export const helpFeedback = pgTable('help_feedback', {
  id: serial('id').primaryKey(),
  articleId: integer('article_id').notNull().references(() => helpArticles.id, { onDelete: 'cascade' }),
  /** '' for the article as a whole, else the branch id. */
  branch: text('branch').notNull().default(''),
  visitorHash: text('visitor_hash').notNull(),
  helpful: boolean('helpful').notNull(),
  reason: text('reason'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('help_feedback_one_vote').on(t.articleId, t.branch, t.visitorHash),
])

/** Searches that found nothing, for the content team. */
export const helpSearchMisses = pgTable('help_search_misses', {
  locale: text('locale').notNull(),
  query: text('query').notNull(),
  count: integer('count').notNull().default(1),
  firstAt: timestamp('first_at', { withTimezone: true }).notNull().defaultNow(),
  lastAt: timestamp('last_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.locale, t.query] })])
