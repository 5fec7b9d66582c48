import type { VNode } from 'preact'
import { formatBusinessHours } from '../../shared/layout/hours.js'
import { Page, type PageContext } from '../../shared/layout/Page.js'
import type { MarketRow } from '../organizations/index.js'

export interface SupportContext {
  topic?: string | undefined
  article?: string | undefined
  branch?: string | undefined
}

function mailto(email: string, subject: string, body: string): string {
  return `mailto:${email}?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body)}`
}

export function AskForHelpPage({ ctx, markets, context }: { ctx: PageContext; markets: MarketRow[]; context: SupportContext }): VNode {
  const { t, locale } = ctx
  const reference = [context.topic, context.article, context.branch].filter(Boolean).join(' / ')
  const subject = reference ? t('support.interim.mailSubjectWith', { reference }) : t('support.interim.mailSubject')
  const body = t('support.interim.mailBody')
  return (
    <Page ctx={ctx} title={t('support.interim.title')}>
      <h1>{t('support.interim.title')}</h1>
      <p class="lead">{t('support.interim.lead')}</p>
      <div class="notice urgent">
        <h2>{t('support.interim.urgentTitle')}</h2>
        <p>{t('support.interim.urgentText')}</p>
      </div>
      <h2>{t('support.interim.marketsTitle')}</h2>
      <p>{t('support.interim.goodRequest')}</p>
      <ul class="market-list">
        {markets.map((m) => (
          <li key={m.code} class="card">
            <h3>{m.names[locale] ?? m.names.en ?? m.code}</h3>
            <dl>
              <dt>{t('support.interim.email')}</dt>
              <dd><a href={mailto(m.supportEmail, subject, body)}>{m.supportEmail}</a></dd>
              <dt>{t('support.interim.phone')}</dt>
              <dd><a href={`tel:${m.supportPhone.replace(/[^+\d]/g, '')}`}>{m.supportPhone}</a></dd>
              <dt>{t('support.interim.hours')}</dt>
              <dd>{formatBusinessHours(locale, m.businessHours).map((line) => <span class="hours-line" key={line}>{line}</span>)}</dd>
            </dl>
          </li>
        ))}
      </ul>
      <p><a href={`/${locale}/help`}>{t('errors.backToHelp')}</a></p>
    </Page>
  )
}
