import type { VNode } from 'preact'
import { tn } from '../../shared/i18n/index.js'
import { Page, type PageContext } from '../../shared/layout/Page.js'
import { PartnerReminders, type PartnerReminder } from '../organizations/index.js'

/**
 * Where administrators and support agents land after signing in: what waits for them (the partner
 * to choose, accounts and workshops to approve, the queue) and a door to each of their consoles.
 */
export function WorkspacePage({ ctx, reminders, admin, queue }: {
  ctx: PageContext
  reminders: PartnerReminder[]
  /** Null when the person administers nothing; `pendingCompanies` null when they may not approve workshops. */
  admin: { pendingAccounts: number; pendingCompanies: number | null } | null
  /** Null when the person works no support queue. */
  queue: { waiting: number } | null
}): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('workspace.title')} headerSearch={false}>
      <h1>{t('workspace.title')}</h1>
      <p class="lead">{t('workspace.lead')}</p>
      <PartnerReminders ctx={ctx} reminders={reminders} />
      <ul class="category-grid workspace">
        {queue ? (
          <li class="card">
            <h2>{t('workspace.queue')}</h2>
            <p>{tn(locale, 'workspace.waiting', queue.waiting)}</p>
            <p class="more"><a class="button" href={`/${locale}/agent/tickets`}>{t('workspace.openQueue')}</a></p>
          </li>
        ) : null}
        {admin ? (
          <li class="card">
            <h2>{t('workspace.administration')}</h2>
            <p>{admin.pendingAccounts > 0 ? <a href={`/${locale}/admin/users?status=pending_approval`}>{tn(locale, 'workspace.pendingAccounts', admin.pendingAccounts)}</a> : t('workspace.nothingPending')}</p>
            {admin.pendingCompanies ? <p><a href={`/${locale}/admin/companies?status=pending_approval`}>{tn(locale, 'workspace.pendingCompanies', admin.pendingCompanies)}</a></p> : null}
            <p class="more"><a class="button" href={`/${locale}/admin`}>{t('nav.administration')}</a></p>
          </li>
        ) : null}
        <li class="card">
          <h2>{t('workspace.mine')}</h2>
          <ul>
            <li><a href={`/${locale}/support/tickets`}>{t('nav.myRequests')}</a></li>
            <li><a href={`/${locale}/account`}>{t('nav.account')}</a></li>
            <li><a href={`/${locale}/help`}>{t('nav.help')}</a></li>
          </ul>
        </li>
      </ul>
    </Page>
  )
}
