import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { isLocale, locales } from '../../shared/i18n/index.js'
import { AppError } from '../../shared/errors.js'
import { answerIfFresh } from '../../shared/http/cache.js'
import { isSameOriginRequest } from '../../shared/http/security.js'
import { registerRateLimits } from '../../shared/http/rate-limit.js'
import { RevisionCache } from '../../shared/cache.js'
import { pageContext, renderDocument, sendHtml, sendPage } from '../../shared/http/render.js'
import type { Metrics } from '../../shared/http/metrics.js'
import type { HelpCenterService } from './helpcenter.service.js'
import type { OrganizationsService, PartnerListing } from '../organizations/index.js'
import {
  ArticlePage, CategoryPage, HelpHomePage, SearchPage, articlePath, categoryPath, type FeedbackState,
} from './helpcenter.pages.js'
import {
  ApiArticleParams, ApiLocaleQuery, ApiSearchQuery, ArticleParams, ArticleResponse, CategoryList, CategoryParams,
  ErrorResponse, FeedbackBody, LocaleParams, SearchQuery, SearchResponse,
} from './helpcenter.schemas.js'

const VISITOR_COOKIE = 'sp_visitor'
/**
 * Votes one address may send in an hour, whatever its cookies: a visitor cookie is free to throw
 * away, so it cannot be what limits a vote count (a person votes a few times, a script thousands).
 */
export const FEEDBACK_VOTES_PER_HOUR = 30

function apiLocale(req: FastifyRequest, locale: string | undefined): string {
  return locale ?? req.locale
}

export async function helpCenterRoutes(root: FastifyInstance, opts: { help: HelpCenterService; organizations: OrganizationsService; metrics: Metrics }): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { help, metrics, organizations } = opts
  const guestPages = new RevisionCache<Buffer>(2000)
  await registerRateLimits(app)

  /**
   * A guest's help page holds nothing of the visitor (the feedback form is checked by origin, not
   * by a token in the page), so it is public: one copy per content revision and address, a 304 to
   * anyone who sends its ETag back, shareable by a CDN. A signed-in page names its person and their
   * aftersales partner, which change apart from the content: private, rendered each time.
   */
  async function fresh(req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    if (req.actor.kind !== 'guest') {
      void reply.header('cache-control', 'private, no-cache')
      return false
    }
    return answerIfFresh(req, reply, [await help.revision(), req.url, req.locale], 'public')
  }

  const hide = { hide: true }

  // A language's own address leads to its help center (people type /it, /de, /de/).
  for (const url of ['/:locale', '/:locale/']) {
    app.get(url, { schema: { ...hide, params: LocaleParams } }, async (req, reply) => {
      if (!isLocale(req.params.locale)) throw new AppError('LOCALE_NOT_FOUND')
      return reply.redirect(`/${req.params.locale}/help`, 302)
    })
  }

  app.get('/:locale/help', { schema: { ...hide, params: LocaleParams } }, async (req, reply) => {
    if (await fresh(req, reply)) return reply
    const categories = await help.overview(req.actor, req.params.locale)
    const alternates = Object.fromEntries(locales.map((l) => [l, `/${l}/help`]))
    return sendPage(reply, HelpHomePage({ ctx: pageContext(req, alternates), categories, partner: await organizations.myPartner(req.actor) }))
  })

  app.get('/:locale/help/search', { schema: { ...hide, params: LocaleParams, querystring: SearchQuery } }, async (req, reply) => {
    const { locale } = req.params
    if (await fresh(req, reply)) return reply
    const categories = await help.listCategories(req.actor, locale)
    const alternates = Object.fromEntries(locales.map((l) => [l, `/${l}/help/search`]))
    const ctx = pageContext(req, alternates)
    const partner = await organizations.myPartner(req.actor)
    if (req.query.q === undefined) return sendPage(reply, SearchPage({ ctx, query: '', result: null, categories, partner }))
    const result = await help.search(req.actor, { locale, query: req.query.q, limit: 20 })
    return sendPage(reply, SearchPage({ ctx, query: result.query, result, categories, partner }))
  })

  // Pages outside the help center link to an article by its key, the same in every language.
  app.get('/:locale/help/keys/:slug', { schema: { ...hide, params: ArticleParams } }, async (req, reply) => {
    const slug = await help.articleSlugByKey(req.actor, req.params.locale, req.params.slug)
    return reply.redirect(articlePath(req.params.locale, slug), 302)
  })

  app.get('/:locale/help/articles/:slug', { schema: { ...hide, params: ArticleParams } }, async (req, reply) => {
    if (await fresh(req, reply)) return reply
    const revision = await help.revision()
    const { article, siblings, translations } = await help.article(req.actor, req.params.locale, req.params.slug)
    const query = req.query as Record<string, unknown>
    const status = query.feedback === 'thanks' || query.feedback === 'updated' ? query.feedback : null
    const branch = typeof query.branch === 'string' && article.branches.some((b) => b.id === query.branch) ? query.branch : ''
    const feedback: FeedbackState = { status, branch: status ? branch : '' }
    const alternates = Object.fromEntries(Object.entries(translations).map(([l, slug]) => [l, articlePath(l, slug)]))
    const render = (partner: PartnerListing | null = null) => renderDocument(ArticlePage({ ctx: pageContext(req, alternates), article, siblings, feedback, partner }))
    if (req.actor.kind !== 'guest') return sendHtml(reply, render(await organizations.myPartner(req.actor)))
    // Every guest sees the same page: rendered once per revision and kept as UTF-8 bytes.
    const key = `${req.params.locale}/${article.slug}/${status ?? ''}/${feedback.branch}`
    return sendHtml(reply, await guestPages.get(key, revision, () => Buffer.from(render())))
  })

  app.post('/:locale/help/articles/:slug/feedback', {
    schema: { ...hide, params: ArticleParams, body: FeedbackBody },
    config: { rateLimit: { max: FEEDBACK_VOTES_PER_HOUR, timeWindow: 3_600_000 } },
    // Checked by origin instead of a form token, so that the article page can be cached (see fresh).
    preValidation: async (req) => {
      if (!isSameOriginRequest(req)) throw new AppError('CSRF_INVALID')
    },
  }, async (req, reply) => {
    let visitorId = req.cookies[VISITOR_COOKIE] ? req.unsignCookie(req.cookies[VISITOR_COOKIE]).value : null
    if (!visitorId) {
      visitorId = randomUUID()
      void reply.setCookie(VISITOR_COOKIE, visitorId, {
        path: '/', httpOnly: true, sameSite: 'lax', signed: true, maxAge: 365 * 24 * 3600, secure: req.server.site.https,
      })
    }
    const branch = req.body.branch ?? ''
    const result = await help.recordFeedback(req.actor, {
      locale: req.params.locale, slug: req.params.slug, branch, helpful: req.body.helpful === 'yes',
      reason: req.body.reason ?? '', visitorId,
    })
    metrics.helpFeedback.inc({ locale: req.params.locale, helpful: req.body.helpful })
    const params = new URLSearchParams({ feedback: result.replaced ? 'updated' : 'thanks' })
    if (branch) params.set('branch', branch)
    return reply.redirect(`${articlePath(req.params.locale, req.params.slug)}?${params.toString()}#${branch ? `branch-${branch}` : 'feedback'}`, 303)
  })

  app.get('/:locale/help/:category', { schema: { ...hide, params: CategoryParams } }, async (req, reply) => {
    if (await fresh(req, reply)) return reply
    const { category, articles, translations } = await help.category(req.actor, req.params.locale, req.params.category)
    const alternates = Object.fromEntries(Object.entries(translations).map(([l, slug]) => [l, categoryPath(l, slug)]))
    return sendPage(reply, CategoryPage({ ctx: pageContext(req, alternates), category, articles, partner: await organizations.myPartner(req.actor) }))
  })

  // ---- JSON API ----

  const errors = { 400: ErrorResponse, 404: ErrorResponse }

  app.get('/api/v1/help/categories', {
    schema: { tags: ['help'], summary: 'Help categories of a locale', querystring: ApiLocaleQuery, response: { 200: CategoryList, ...errors } },
  }, async (req, reply) => {
    const locale = apiLocale(req, req.query.locale)
    if (answerIfFresh(req, reply, [await help.revision(), 'categories', locale], 'public')) return reply
    const categories = await help.listCategories(req.actor, locale)
    return {
      locale,
      categories: categories.map((c) => ({
        key: c.key, slug: c.slug, title: c.title, description: c.description, articleCount: c.articleCount, url: categoryPath(locale, c.slug),
      })),
    }
  })

  app.get('/api/v1/help/articles/:slug', {
    schema: { tags: ['help'], summary: 'One help article', params: ApiArticleParams, querystring: ApiLocaleQuery, response: { 200: ArticleResponse, ...errors } },
  }, async (req, reply) => {
    const locale = apiLocale(req, req.query.locale)
    if (answerIfFresh(req, reply, [await help.revision(), 'article', locale, req.params.slug], 'public')) return reply
    const { article, translations } = await help.article(req.actor, locale, req.params.slug)
    return {
      key: article.key, locale, slug: article.slug, title: article.title, summary: article.summary, audience: article.audience,
      category: { key: article.category.key, slug: article.category.slug, title: article.category.title },
      bodyHtml: article.bodyHtml.replace(/<!--branch-feedback:[a-z0-9-]*-->/g, ''),
      branches: article.branches,
      translations: Object.fromEntries(Object.entries(translations).map(([l, slug]) => [l, articlePath(l, slug)])),
      url: articlePath(locale, article.slug),
      updatedAt: article.updatedAt.toISOString(),
    }
  })

  app.get('/api/v1/help/search', {
    schema: { tags: ['help'], summary: 'Search help articles (stemmed per language, typo tolerant)', querystring: ApiSearchQuery, response: { 200: SearchResponse, ...errors } },
  }, async (req) => {
    const locale = apiLocale(req, req.query.locale)
    const result = await help.search(req.actor, { locale, query: req.query.q, limit: req.query.limit })
    return {
      query: result.query,
      correctedQuery: result.correctedQuery,
      locale,
      results: result.hits.map((hit) => ({ ...hit, url: articlePath(locale, hit.slug) })),
      suggestions: result.suggestions.map((s) => ({ slug: s.slug, title: s.title, url: articlePath(locale, s.slug) })),
    }
  })
}
