import type { VNode } from 'preact'
import type { PageContext } from '../layout/Page.js'
import { Chart, PeriodNav, type ChartData } from './charts.js'

/** The report periods offered, in days. */
export const reportPeriods = [7, 30, 90] as const

/** Charts of a report, each with its table and CSV (`csvBase` + chart id + .csv?days=). */
export function ReportCharts({ ctx, charts, csvBase, days }: { ctx: PageContext; charts: ChartData[]; csvBase: string; days: number }): VNode {
  const { t, locale } = ctx
  return (
    <div class="report-charts">
      {charts.map((chart) => (
        <section class="card" key={chart.id} aria-labelledby={`${chart.id}-title`}>
          <Chart chart={chart} locale={locale} csvHref={`${csvBase}${chart.id}.csv?days=${String(days)}`} csvLabel={t('reports.csv')} tableLabel={t('reports.table')} empty={t('reports.empty')} />
        </section>
      ))}
    </div>
  )
}

/** The period choice of a report page: the last (or, for a forecast, the next) 7, 30 or 90 days. */
export function ReportPeriods({ ctx, days, path, ahead = false }: { ctx: PageContext; days: number; path: string; ahead?: boolean }): VNode {
  const { t } = ctx
  return <PeriodNav label={t('reports.period')} periods={reportPeriods} current={days} href={(d) => `${path}?days=${String(d)}`} text={(d) => t(ahead ? 'reports.nextDays' : 'reports.lastDays', { days: d })} />
}
