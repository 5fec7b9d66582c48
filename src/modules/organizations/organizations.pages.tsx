import type { VNode } from 'preact'
import { formatBusinessHours } from '../../shared/layout/hours.js'
import { Page, type PageContext } from '../../shared/layout/Page.js'
import type { MarketRow } from './organizations.repo.js'
import type { PartnerListing } from './organizations.service.js'

/** Phone, email and hours of a partner; the caller shows it only when the listing carries them. */
export function PartnerContact({ ctx, partner }: { ctx: PageContext; partner: PartnerListing }) {
  const { t, locale } = ctx
  if (!partner.contact) return null
  return (
    <dl class="contact">
      {partner.contact.phone ? (<><dt>{t('support.interim.phone')}</dt><dd><a href={`tel:${partner.contact.phone.replace(/[^+\d]/g, '')}`}>{partner.contact.phone}</a></dd></>) : null}
      {partner.contact.email ? (<><dt>{t('support.interim.email')}</dt><dd><a href={`mailto:${partner.contact.email}`}>{partner.contact.email}</a></dd></>) : null}
      {partner.contact.openingHours ? (
        <><dt>{t('support.interim.hours')}</dt><dd>{formatBusinessHours(locale, partner.contact.openingHours).map((line) => <span class="hours-line" key={line}>{line}</span>)}</dd></>
      ) : null}
    </dl>
  )
}

/** A company whose organization administrator is asked to choose or confirm its aftersales partner. */
export interface PartnerReminder { id: number; name: string; aftersalesPartnerId: number | null; partnerName?: string | null | undefined }

/**
 * Reminds organization administrators to choose (or, after getting access back, confirm) their
 * company's aftersales partner; shown on the account page, the workspace and the consoles until done.
 */
export function PartnerReminders({ ctx, reminders }: { ctx: PageContext; reminders: PartnerReminder[] }) {
  const { t, locale } = ctx
  if (reminders.length === 0) return null
  return (
    <section class="notice urgent reminder" aria-labelledby="partner-reminder-title">
      <h2 id="partner-reminder-title">{t('partners.reminder.title')}</h2>
      <ul>
        {reminders.map((c) => (
          <li key={c.id}>
            {c.partnerName ? t('partners.reminder.confirm', { company: c.name, partner: c.partnerName }) : t('partners.reminder.none', { company: c.name })}{' '}
            <a href={`/${locale}/admin/companies/${String(c.id)}#partner`}>{t(c.partnerName ? 'partners.reminder.review' : 'partners.reminder.choose')}</a>
          </li>
        ))}
      </ul>
    </section>
  )
}

export function PartnersPage({ ctx, markets, market, partners, mine }: {
  ctx: PageContext; markets: MarketRow[]; market: string; partners: PartnerListing[]; mine: PartnerListing | null
}): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('partners.title')}>
      <h1>{t('partners.title')}</h1>
      <p class="lead">{t('partners.lead')}</p>
      {mine ? (
        <section class="card mine" aria-labelledby="my-partner">
          <h2 id="my-partner">{t('partners.mine', { name: mine.name })}</h2>
          <p>{mine.street}, {mine.postalCode} {mine.city}</p>
          <PartnerContact ctx={ctx} partner={mine} />
        </section>
      ) : null}
      {ctx.awaitingApproval ? <p class="notice">{t('partners.afterApproval')}</p> : null}
      {ctx.signedIn ? null : (
        <p class="notice">{t('partners.signInForContacts')} <a href={`/${locale}/login?next=${encodeURIComponent(`/${locale}/partners?market=${market}`)}`}>{t('nav.signIn')}</a> · <a href={`/${locale}/register`}>{t('nav.register')}</a></p>
      )}
      <form class="inline-form" method="get" action={`/${locale}/partners`}>
        <label for="market">{t('partners.market')}</label>
        <select id="market" name="market">
          {markets.map((m) => <option key={m.code} value={m.code} selected={m.code === market}>{m.names[locale] ?? m.code}</option>)}
        </select>
        <button type="submit">{t('partners.show')}</button>
      </form>
      <ul class="partner-list">
        {partners.map((p) => (
          <li key={p.id} class="card">
            <h2>{p.name}</h2>
            <p>{p.city}</p>
            <PartnerContact ctx={ctx} partner={p} />
          </li>
        ))}
      </ul>
      {partners.length === 0 ? <p>{t('partners.none')}</p> : null}
    </Page>
  )
}
