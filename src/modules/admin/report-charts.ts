import type { ChartData } from '../../shared/charts/charts.js'
import type { Translate } from '../../shared/i18n/index.js'
import { sweepSteps, type SweepStep } from '../identity/index.js'
import type { InactivityForecast } from '../lifecycle/index.js'
import { dayLabel, lastDays } from '../support/index.js'
import type { AdminService } from './admin.service.js'

type SignIns = Awaited<ReturnType<AdminService['signInsPerDay']>>

const count = (locale: string, n: number) => new Intl.NumberFormat(locale).format(n)

/** Sign-in results per day: succeeded and failed, stacked. */
export function signInChart(t: Translate, locale: string, data: SignIns): ChartData {
  const days = lastDays(data.now, data.days, data.timeZone)
  const perDay = new Map(data.perDay.map((d) => [d.day, d]))
  const succeeded = data.perDay.reduce((sum, d) => sum + d.succeeded, 0)
  const failed = data.perDay.reduce((sum, d) => sum + d.failed, 0)
  return {
    id: 'sign-ins', layout: 'columns', stacked: true, title: t('reports.signIns.title'),
    summary: t('reports.signIns.summary', { days: data.days, succeeded: count(locale, succeeded), failed: count(locale, failed) }),
    categoryLabel: t('reports.day'), categories: days.map((d) => dayLabel(locale, d)),
    series: [
      { label: t('reports.signIns.succeeded'), values: days.map((d) => perDay.get(d)?.succeeded ?? 0) },
      { label: t('reports.signIns.failed'), values: days.map((d) => perDay.get(d)?.failed ?? 0) },
    ],
  }
}

/** The step's name for people: "Blocked", never `blocked`. */
export function stepLabel(t: Translate, step: SweepStep): string {
  return t(`reports.forecast.steps.${step}`)
}

/** The forecast: per step, the accounts reached in the next 7, 30 and 90 days. */
export function forecastChart(t: Translate, locale: string, forecast: InactivityForecast, days: number): ChartData {
  const at = Math.max(0, forecast.horizons.indexOf(days))
  const within = (step: SweepStep) => count(locale, forecast.totals[step][at] ?? 0)
  return {
    id: 'inactivity-forecast', layout: 'bars', title: t('reports.forecast.chartTitle'),
    summary: t('reports.forecast.summary', { days, warned: within('block_warned'), blocked: within('blocked'), deleteWarned: within('delete_warned'), deleted: within('deleted') }),
    categoryLabel: t('reports.forecast.step'), categories: sweepSteps.map((s) => stepLabel(t, s)),
    series: forecast.horizons.map((h, i) => ({ label: t('reports.forecast.within', { days: h }), values: sweepSteps.map((s) => forecast.totals[s][i] ?? 0) })),
  }
}

/** The platform's forecast: per market, the accounts each step reaches within `days`. */
export function forecastByMarketChart(t: Translate, locale: string, markets: { name: string; forecast: InactivityForecast }[], days: number): ChartData {
  const sum = (step: SweepStep) => markets.reduce((total, m) => total + (m.forecast.totals[step][Math.max(0, m.forecast.horizons.indexOf(days))] ?? 0), 0)
  return {
    id: 'forecast-by-market', layout: 'bars', title: t('reports.platform.forecastByMarket', { days }),
    summary: t('reports.platform.forecastSummary', { days, blocked: count(locale, sum('blocked')), deleted: count(locale, sum('deleted')) }),
    categoryLabel: t('reports.market'), categories: markets.map((m) => m.name),
    series: sweepSteps.map((s) => ({ label: stepLabel(t, s), values: markets.map((m) => m.forecast.totals[s][Math.max(0, m.forecast.horizons.indexOf(days))] ?? 0) })),
  }
}
