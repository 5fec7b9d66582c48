import type { Actor } from '../../shared/actor.js'
import type { ChartData } from '../../shared/charts/charts.js'
import type { Translate } from '../../shared/i18n/index.js'
import type { HelpCenterService } from '../helpcenter/index.js'
import type { DeskService } from './agent.service.js'

export type DeskChartData = Awaited<ReturnType<DeskService['chartData']>>

/** The last `days` calendar days in `timeZone`, oldest first, as YYYY-MM-DD. */
export function lastDays(now: Date, days: number, timeZone: string): string[] {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now)
  const base = new Date(`${today}T00:00:00Z`).getTime()
  return Array.from({ length: days }, (_, i) => new Date(base - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10))
}

/** A calendar day written in the viewer's language (the day is already the market's). */
export function dayLabel(locale: string, day: string): string {
  return new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', timeZone: 'UTC' }).format(new Date(`${day}T00:00:00Z`))
}

/**
 * Titles of the articles behind deflections in the viewer's language: a deflection names the
 * article by the slug of the language it was read in, the viewer reads it under its own title.
 */
export async function articleTitles(help: HelpCenterService, actor: Actor, viewerLocale: string, deflections: { locale: string; articleSlug: string }[]): Promise<Map<string, string>> {
  const articlesOf = async (locale: string) => (await help.overview(actor, locale)).flatMap((c) => c.articles)
  const viewer = new Map((await articlesOf(viewerLocale)).map((a) => [a.key, a.title]))
  const titles = new Map<string, string>()
  for (const locale of new Set(deflections.map((d) => d.locale))) {
    for (const a of await articlesOf(locale)) titles.set(`${locale}/${a.slug}`, viewer.get(a.key) ?? a.title)
  }
  return titles
}

/** The desk's charts: requests per day against their due time, requests by topic, articles that spared a request. */
export function deskCharts(t: Translate, locale: string, data: DeskChartData, topics: Map<string, string>, titles: Map<string, string>): ChartData[] {
  const days = lastDays(data.now, data.days, data.timeZone)
  const perDay = new Map(data.perDay.map((d) => [d.day, d]))
  const total = data.perDay.reduce((sum, d) => sum + d.in_time + d.late + d.waiting, 0)
  const inTime = data.perDay.reduce((sum, d) => sum + d.in_time, 0)
  const late = data.perDay.reduce((sum, d) => sum + d.late, 0)
  const count = (n: number) => new Intl.NumberFormat(locale).format(n)

  // Deflections of the same article read in several languages count together, under the viewer's title.
  const avoided = new Map<string, { opened: number; deflected: number }>()
  for (const d of data.deflections) {
    const title = titles.get(`${d.locale}/${d.articleSlug}`) ?? d.articleSlug
    const entry = avoided.get(title) ?? { opened: 0, deflected: 0 }
    entry.opened += d.opened
    entry.deflected += d.deflected
    avoided.set(title, entry)
  }
  const articles = [...avoided.entries()].sort((a, b) => b[1].deflected - a[1].deflected || a[0].localeCompare(b[0])).slice(0, 15)
  const topTopic = data.perTopic[0]
  const topArticle = articles[0]

  return [
    {
      id: 'requests-per-day', layout: 'columns', stacked: true, title: t('reports.requestsPerDay.title'),
      summary: t('reports.requestsPerDay.summary', { days: data.days, total: count(total), inTime: count(inTime), late: count(late) }),
      categoryLabel: t('reports.day'), categories: days.map((d) => dayLabel(locale, d)),
      series: [
        { label: t('reports.requestsPerDay.inTime'), values: days.map((d) => perDay.get(d)?.in_time ?? 0) },
        { label: t('reports.requestsPerDay.late'), values: days.map((d) => perDay.get(d)?.late ?? 0) },
        { label: t('reports.requestsPerDay.waiting'), values: days.map((d) => perDay.get(d)?.waiting ?? 0) },
      ],
    },
    {
      id: 'requests-by-topic', layout: 'bars', title: t('reports.byTopic.title'),
      summary: topTopic ? t('reports.byTopic.summary', { days: data.days, total: count(total), topic: topics.get(topTopic.topic) ?? topTopic.topic, n: count(topTopic.n) }) : '',
      categoryLabel: t('reports.topic'), categories: data.perTopic.map((r) => topics.get(r.topic) ?? r.topic),
      series: [{ label: t('reports.requests'), values: data.perTopic.map((r) => r.n) }],
    },
    {
      id: 'requests-avoided', layout: 'bars', title: t('reports.avoided.title'),
      summary: topArticle ? t('reports.avoided.summary', {
        days: data.days, avoided: count(articles.reduce((sum, a) => sum + a[1].deflected, 0)), opened: count(articles.reduce((sum, a) => sum + a[1].opened, 0)),
        article: topArticle[0],
      }) : '',
      categoryLabel: t('reports.article'), categories: articles.map((a) => a[0]),
      series: [
        { label: t('reports.avoided.opened'), values: articles.map((a) => a[1].opened) },
        { label: t('reports.avoided.deflected'), values: articles.map((a) => a[1].deflected) },
      ],
    },
  ]
}
