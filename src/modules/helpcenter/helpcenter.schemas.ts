import Type from 'typebox'

const Key = Type.String({ pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', maxLength: 80 })
export const LocaleParam = Type.String({ pattern: '^[a-z]{2}(?:-[A-Za-z]{2})?$', maxLength: 5 })

export const CategoryFrontMatter = Type.Object({
  key: Key,
  title: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Type.String({ maxLength: 500 })),
  order: Type.Integer({ minimum: 0, maximum: 100000 }),
})

export const Audience = Type.Union([Type.Literal('all'), Type.Literal('org_admin'), Type.Literal('market_admin')])

export const ArticleFrontMatter = Type.Object({
  key: Key,
  title: Type.String({ minLength: 1, maxLength: 200 }),
  summary: Type.Optional(Type.String({ maxLength: 500 })),
  order: Type.Integer({ minimum: 0, maximum: 100000 }),
  audience: Type.Optional(Audience),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 60 }), { maxItems: 20 })),
})

export interface BranchDraft {
  id: string
  label: string
  parent: string | null
}

export interface CategoryDraft {
  locale: string
  key: string
  slug: string
  title: string
  description: string
  position: number
  sourceHash: string
}

export interface ArticleDraft {
  locale: string
  key: string
  categoryKey: string
  slug: string
  title: string
  summary: string
  audience: string
  tags: string[]
  position: number
  bodyMarkdown: string
  sourceHash: string
}

// ---- HTTP ----

export const QUERY_MAX = 200

export const SearchQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: QUERY_MAX })),
})

export const ApiSearchQuery = Type.Object({
  q: Type.String({ maxLength: QUERY_MAX, description: 'What the user typed; typos are forgiven.' }),
  locale: Type.Optional(LocaleParam),
  limit: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
})

export const ApiLocaleQuery = Type.Object({ locale: Type.Optional(LocaleParam) })

// Path segments are looked up, not pattern-checked: anything unknown is a 404 page, not a 400.
const PathLocale = Type.String({ minLength: 1, maxLength: 20 })
const PathSlug = Type.String({ minLength: 1, maxLength: 200 })
export const LocaleParams = Type.Object({ locale: PathLocale })
export const CategoryParams = Type.Object({ locale: PathLocale, category: PathSlug })
export const ArticleParams = Type.Object({ locale: PathLocale, slug: PathSlug })
export const ApiArticleParams = Type.Object({ slug: PathSlug })

export const FeedbackBody = Type.Object({
  helpful: Type.Union([Type.Literal('yes'), Type.Literal('no')]),
  branch: Type.Optional(Type.String({ maxLength: 80, pattern: '^(|[a-z0-9]+(?:-[a-z0-9]+)*)$' })),
  reason: Type.Optional(Type.String({ maxLength: 500 })),
  _csrf: Type.Optional(Type.String({ maxLength: 200 })),
})

const Segment = Type.Object({ text: Type.String(), highlight: Type.Boolean() })

export const SearchHit = Type.Object({
  slug: Type.String(),
  title: Type.String(),
  summary: Type.String(),
  category: Type.Object({ slug: Type.String(), title: Type.String() }),
  url: Type.String(),
  snippet: Type.Array(Segment, { description: 'Text with the matched words flagged; render each part as text.' }),
})

export const SearchResponse = Type.Object({
  query: Type.String(),
  correctedQuery: Type.Union([Type.String(), Type.Null()]),
  locale: Type.String(),
  results: Type.Array(SearchHit),
  suggestions: Type.Array(Type.Object({ slug: Type.String(), title: Type.String(), url: Type.String() })),
})

export const CategoryList = Type.Object({
  locale: Type.String(),
  categories: Type.Array(Type.Object({
    key: Type.String(),
    slug: Type.String(),
    title: Type.String(),
    description: Type.String(),
    articleCount: Type.Integer(),
    url: Type.String(),
  })),
})

export const ArticleResponse = Type.Object({
  key: Type.String(),
  locale: Type.String(),
  slug: Type.String(),
  title: Type.String(),
  summary: Type.String(),
  audience: Type.String(),
  category: Type.Object({ key: Type.String(), slug: Type.String(), title: Type.String() }),
  bodyHtml: Type.String({ description: 'Rendered from Markdown with raw HTML disabled.' }),
  branches: Type.Array(Type.Object({ id: Type.String(), label: Type.String(), parent: Type.Union([Type.String(), Type.Null()]) })),
  translations: Type.Record(Type.String(), Type.String()),
  url: Type.String(),
  updatedAt: Type.String(),
})

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
})
