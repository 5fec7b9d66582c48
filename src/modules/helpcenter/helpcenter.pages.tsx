import type { VNode } from 'preact'
import { renderToString } from 'preact-render-to-string'
import { Page, type PageContext } from '../../shared/layout/Page.js'
import { tn } from '../../shared/i18n/index.js'
import { branchFeedbackMarker } from './content.js'
import type { ArticleRow, ArticleSummaryRow, CategoryRow } from './helpcenter.repo.js'
import type { SearchResult, Segment } from './helpcenter.service.js'
import { PartnerContact, type PartnerListing } from '../organizations/index.js'

export function articlePath(locale: string, slug: string): string {
  return `/${locale}/help/articles/${slug}`
}

export function categoryPath(locale: string, slug: string): string {
  return `/${locale}/help/${slug}`
}

export function supportLink(locale: string, context: { topic?: string; article?: string; branch?: string }): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(context)) if (value) params.set(name, value)
  const query = params.toString()
  return `/${locale}/support/new${query ? `?${query}` : ''}`
}

function SearchBox({ ctx, value = '', id }: { ctx: PageContext; value?: string; id: string }) {
  const { t, locale } = ctx
  return (
    <form class="search-form" role="search" method="get" action={`/${locale}/help/search`}>
      <label for={id}>{t('help.search.label')}</label>
      <div class="search-row">
        <input id={id} type="search" name="q" value={value} maxLength={200} placeholder={t('help.search.placeholder')} />
        <button type="submit">{t('help.search.submit')}</button>
      </div>
    </form>
  )
}

function Breadcrumbs({ ctx, trail }: { ctx: PageContext; trail: { href?: string; label: string }[] }) {
  return (
    <nav class="breadcrumbs" aria-label={ctx.t('layout.breadcrumbs')}>
      <ol>
        {trail.map((item, i) => (
          <li key={i}>{item.href ? <a href={item.href}>{item.label}</a> : <span aria-current="page">{item.label}</span>}</li>
        ))}
      </ol>
    </nav>
  )
}

function StillNeedHelp({ ctx, topic, article, partner }: { ctx: PageContext; topic?: string; article?: string; partner?: PartnerListing | null | undefined }) {
  const { t, locale } = ctx
  return (
    <aside class="still-need-help" aria-labelledby="still-need-help-title">
      <h2 id="still-need-help-title">{t('help.stillNeedHelp.title')}</h2>
      {partner ? (
        <>
          <p>{t('help.stillNeedHelp.yourPartner', { name: partner.name })}</p>
          <PartnerContact ctx={ctx} partner={partner} />
        </>
      ) : ctx.signedIn ? (
        <p>{t('help.stillNeedHelp.partnerSignedIn')} <a href={`/${locale}/partners`}>{t('partners.title')}</a></p>
      ) : (
        <>
          <p>{t('help.stillNeedHelp.partnerGuest')}</p>
          <p><a href={`/${locale}/login`}>{t('nav.signIn')}</a> · <a href={`/${locale}/register`}>{t('nav.register')}</a></p>
        </>
      )}
      <p>{t('help.stillNeedHelp.askText')}</p>
      <p><a class="button" href={supportLink(locale, { topic, article })}>{t('nav.askForHelp')}</a></p>
    </aside>
  )
}

export function HelpHomePage({ ctx, categories, partner }: {
  ctx: PageContext
  partner?: PartnerListing | null
  categories: (CategoryRow & { articleCount: number; articles: ArticleSummaryRow[] })[]
}): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('help.home.title')} description={t('help.home.lead')} headerSearch={false}>
      <h1>{t('help.home.title')}</h1>
      <p class="lead">{t('help.home.lead')}</p>
      <SearchBox ctx={ctx} id="home-q" />
      <h2 class="visually-hidden">{t('help.home.categories')}</h2>
      <ul class="category-grid">
        {categories.map((c) => (
          <li key={c.id} class="card">
            <h3><a href={categoryPath(locale, c.slug)}>{c.title}</a></h3>
            <p>{c.description}</p>
            <ul class="article-links">
              {c.articles.slice(0, 4).map((a) => (
                <li key={a.id}><a href={articlePath(locale, a.slug)}>{a.title}</a></li>
              ))}
            </ul>
            {c.articleCount > 4 ? (
              <p class="more"><a href={categoryPath(locale, c.slug)}>{tn(locale, 'help.home.allArticles', c.articleCount, { category: c.title })}</a></p>
            ) : null}
          </li>
        ))}
      </ul>
      <StillNeedHelp ctx={ctx} partner={partner} />
    </Page>
  )
}

export function CategoryPage({ ctx, category, articles, partner }: { ctx: PageContext; category: CategoryRow; articles: ArticleSummaryRow[]; partner?: PartnerListing | null }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={category.title} description={category.description}>
      <Breadcrumbs ctx={ctx} trail={[{ href: `/${locale}/help`, label: t('help.home.title') }, { label: category.title }]} />
      <h1>{category.title}</h1>
      <p class="lead">{category.description}</p>
      <ul class="article-list">
        {articles.map((a) => (
          <li key={a.id}>
            <h2><a href={articlePath(locale, a.slug)}>{a.title}</a></h2>
            <p>{a.summary}</p>
          </li>
        ))}
      </ul>
      <StillNeedHelp ctx={ctx} topic={category.key} partner={partner} />
    </Page>
  )
}

export interface FeedbackState {
  /** 'thanks' after a first vote, 'updated' after a changed vote. */
  status: 'thanks' | 'updated' | null
  /** '' for the article, else the branch the vote was for. */
  branch: string
}

function FeedbackForm({ ctx, slug, branch, state, topic, articleKey }: {
  ctx: PageContext; slug: string; branch: string; state: FeedbackState; topic: string; articleKey: string
}) {
  const { t, locale } = ctx
  const idBase = `fb-${branch || 'article'}`
  const done = state.status !== null && state.branch === branch
  return (
    <form class="feedback" method="post" action={`${articlePath(locale, slug)}/feedback`}>
      {branch ? <input type="hidden" name="branch" value={branch} /> : null}
      <fieldset>
        <legend>{branch ? t('help.feedback.branchQuestion') : t('help.feedback.question')}</legend>
        <span class="choice">
          <input type="radio" id={`${idBase}-yes`} name="helpful" value="yes" required />
          <label for={`${idBase}-yes`}>{t('help.feedback.yes')}</label>
        </span>
        <span class="choice">
          <input type="radio" id={`${idBase}-no`} name="helpful" value="no" />
          <label for={`${idBase}-no`}>{t('help.feedback.no')}</label>
        </span>
      </fieldset>
      <label for={`${idBase}-reason`}>{t('help.feedback.reason')}</label>
      <textarea id={`${idBase}-reason`} name="reason" maxLength={500} rows={2} />
      <button type="submit">{t('help.feedback.submit')}</button>
      {done ? <p class="notice" role="status">{t(`help.feedback.${state.status ?? 'thanks'}`)}</p> : null}
      <p class="feedback-escalate">
        {t('help.feedback.notSolved')}{' '}
        <a href={supportLink(locale, { topic, article: articleKey, branch: branch || undefined })}>{t('nav.askForHelp')}</a>
      </p>
    </form>
  )
}

function highlight(segments: Segment[]) {
  return segments.map((s, i) => (s.highlight ? <mark key={i}>{s.text}</mark> : s.text))
}

export function ArticlePage({ ctx, article, siblings, feedback, partner }: {
  ctx: PageContext; article: ArticleRow; siblings: ArticleSummaryRow[]; feedback: FeedbackState; partner?: PartnerListing | null
}): VNode {
  const { t, locale } = ctx
  const topic = article.category.key
  // The body is Markdown rendered with raw HTML disabled at import; each branch
  // ends with a marker where its own feedback form goes.
  let body = article.bodyHtml
  for (const branch of article.branches) {
    const form = renderToString(
      <FeedbackForm ctx={ctx} slug={article.slug} branch={branch.id} state={feedback} topic={topic} articleKey={article.key} />,
    )
    body = body.replace(branchFeedbackMarker(branch.id), form)
  }
  if (feedback.branch) {
    // Re-open the branch the visitor just answered (and its parents) so the confirmation is visible.
    let id: string | null = feedback.branch
    while (id) {
      body = body.replace(`<details class="branch" id="branch-${id}">`, `<details class="branch" id="branch-${id}" open>`)
      id = article.branches.find((b) => b.id === id)?.parent ?? null
    }
  }
  return (
    <Page ctx={ctx} title={article.title} description={article.summary}>
      <Breadcrumbs ctx={ctx} trail={[
        { href: `/${locale}/help`, label: t('help.home.title') },
        { href: categoryPath(locale, article.category.slug), label: article.category.title },
        { label: article.title },
      ]} />
      <article class="article">
        <h1>{article.title}</h1>
        {article.summary ? <p class="lead">{article.summary}</p> : null}
        {article.audience !== 'all' ? <p class="audience">{t(`help.audience.${article.audience}`)}</p> : null}
        <div class="article-body" dangerouslySetInnerHTML={{ __html: body }} />
        <section class="article-feedback" id="feedback" aria-labelledby="feedback-title">
          <h2 id="feedback-title" class="visually-hidden">{t('help.feedback.title')}</h2>
          <FeedbackForm ctx={ctx} slug={article.slug} branch="" state={feedback} topic={topic} articleKey={article.key} />
        </section>
      </article>
      <StillNeedHelp ctx={ctx} topic={topic} article={article.key} partner={partner} />
      {siblings.length > 0 ? (
        <nav class="related" aria-labelledby="related-title">
          <h2 id="related-title">{t('help.article.related', { category: article.category.title })}</h2>
          <ul>
            {siblings.map((s) => <li key={s.id}><a href={articlePath(locale, s.slug)}>{s.title}</a></li>)}
          </ul>
        </nav>
      ) : null}
    </Page>
  )
}

export function SearchPage({ ctx, query, result, categories, partner }: {
  ctx: PageContext; query: string; result: SearchResult | null; categories: CategoryRow[]; partner?: PartnerListing | null
}): VNode {
  const { t, locale } = ctx
  const title = query ? t('help.search.resultsTitle', { query }) : t('help.search.title')
  return (
    <Page ctx={ctx} title={title} headerSearch={false}>
      <Breadcrumbs ctx={ctx} trail={[{ href: `/${locale}/help`, label: t('help.home.title') }, { label: t('help.search.title') }]} />
      <h1>{title}</h1>
      <SearchBox ctx={ctx} value={query} id="search-q" />
      {result?.correctedQuery ? (
        <p class="notice" role="status">{t('help.search.corrected', { query: result.correctedQuery })}</p>
      ) : null}
      {result && result.hits.length > 0 ? (
        <>
          <p role="status">{t(result.hits.length === 1 ? 'help.search.count.one' : 'help.search.count.other', { count: result.hits.length })}</p>
          <ol class="results">
            {result.hits.map((hit) => (
              <li key={hit.slug}>
                <h2><a href={articlePath(locale, hit.slug)}>{hit.title}</a></h2>
                <p class="result-category">{hit.category.title}</p>
                <p class="snippet">{hit.snippet.length > 0 ? highlight(hit.snippet) : hit.summary}</p>
              </li>
            ))}
          </ol>
        </>
      ) : null}
      {result && result.hits.length === 0 ? (
        <section class="no-results" aria-labelledby="no-results-title">
          <div role="status"><h2 id="no-results-title">{t('help.search.none', { query })}</h2></div>
          <p>{t('help.search.noneHint')}</p>
          {result.suggestions.length > 0 ? (
            <>
              <h3>{t('help.search.closest')}</h3>
              <ul>{result.suggestions.map((s) => <li key={s.id}><a href={articlePath(locale, s.slug)}>{s.title}</a></li>)}</ul>
            </>
          ) : null}
          <h3>{t('help.home.categories')}</h3>
          <ul>{categories.map((c) => <li key={c.id}><a href={categoryPath(locale, c.slug)}>{c.title}</a></li>)}</ul>
        </section>
      ) : null}
      <StillNeedHelp ctx={ctx} partner={partner} />
    </Page>
  )
}
