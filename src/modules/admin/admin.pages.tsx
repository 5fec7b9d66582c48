import type { ComponentChildren, VNode } from 'preact'
import { Page, type PageContext } from '../../shared/layout/Page.js'
import { FilePicker } from '../../shared/layout/FilePicker.js'
import { localeName, locales, tn } from '../../shared/i18n/index.js'
import { listedStatuses, type AdministrationService, type ImportProblem } from '../identity/index.js'
import { MAX_SERVICE_HOURS, PartnerReminders, type CompanyRow, type MarketRow, type PartnerReminder } from '../organizations/index.js'
import type { AuditRow } from './admin.repo.js'
import { auditAreas, auditSentence } from './audit.text.js'
import type { ChartData } from '../../shared/charts/charts.js'
import { ReportCharts, ReportPeriods } from '../../shared/charts/report.js'
import { sweepSteps, type ForecastPerson, type SweepStep } from '../identity/index.js'
import type { InactivityForecast } from '../lifecycle/index.js'

type UserList = Awaited<ReturnType<AdministrationService['findUsers']>>
type UserRecord = Awaited<ReturnType<AdministrationService['userRecord']>>
type Company = CompanyRow & { marketCode: string }


function when(locale: string, date: Date | string | null): string {
  return date ? new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(date)) : '—'
}

function Hidden({ csrfToken }: { csrfToken: string }) {
  return <input type="hidden" name="_csrf" value={csrfToken} />
}

function Messages({ notice, error }: { notice?: string | undefined; error?: string | undefined }) {
  return (
    <>
      {notice ? <p class="notice" role="status">{notice}</p> : null}
      {error ? <p class="error-message" role="alert" id="form-error">{error}</p> : null}
    </>
  )
}

/** Every console page: the shell, the console's own navigation, and the page's messages. */
function ConsolePage({ ctx, title, notice, error, children }: { ctx: PageContext; title: string; notice?: string | undefined; error?: string | undefined; children: ComponentChildren }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={title} headerSearch={false}>
      <nav class="console-nav" aria-label={t('admin.nav')}>
        <ul>
          <li><a href={`/${locale}/admin`}>{t('admin.home')}</a></li>
          <li><a href={`/${locale}/admin/users`}>{t('admin.users.title')}</a></li>
          <li><a href={`/${locale}/admin/companies`}>{t('admin.companies.title')}</a></li>
          <li><a href={`/${locale}/admin/audit`}>{t('admin.audit.title')}</a></li>
        </ul>
      </nav>
      <h1>{title}</h1>
      <Messages notice={notice} error={error} />
      {children}
    </Page>
  )
}

export function AdminHomePage({ ctx, companies, markets, platform, reminders = [] }: { ctx: PageContext; companies: Company[]; markets: MarketRow[]; platform: boolean; reminders?: PartnerReminder[] }): VNode {
  const { t, locale } = ctx
  return (
    <ConsolePage ctx={ctx} title={t('admin.title')}>
      <p class="lead">{t('admin.lead')}</p>
      <PartnerReminders ctx={ctx} reminders={reminders} />
      {companies.length > 0 ? (
        <section class="card" aria-labelledby="my-companies">
          <h2 id="my-companies">{t('admin.myCompanies')}</h2>
          <ul>{companies.map((c) => <li key={c.id}><a href={`/${locale}/admin/companies/${String(c.id)}`}>{c.name}</a> ({c.companyNumber})</li>)}</ul>
        </section>
      ) : null}
      {markets.length > 0 ? (
        <section class="card" aria-labelledby="my-markets">
          <h2 id="my-markets">{t('admin.myMarkets')}</h2>
          <ul>
            {markets.map((m) => (
              <li key={m.code}>
                <strong>{m.names[locale] ?? m.code}</strong>: <a href={`/${locale}/admin/users?market=${m.code}`}>{t('admin.users.title')}</a> · <a href={`/${locale}/admin/companies?status=pending_approval`}>{t('admin.companies.pending')}</a> · <a href={`/${locale}/admin/markets/${m.code}/report`}>{t('admin.report.title')}</a> · <a href={`/${locale}/admin/markets/${m.code}/forecast`}>{t('reports.forecast.link')}</a> · <a href={`/${locale}/admin/markets/${m.code}/import`}>{t('admin.import.title')}</a>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {platform ? (
        <section class="card" aria-labelledby="platform">
          <h2 id="platform">{t('admin.platform.title')}</h2>
          <p><a href={`/${locale}/admin/platform`}>{t('admin.platform.link')}</a> · <a href={`/${locale}/admin/platform/report`}>{t('reports.platform.title')}</a></p>
        </section>
      ) : null}
    </ConsolePage>
  )
}

export function UsersPage({ ctx, users, query, notice }: { ctx: PageContext; users: UserList; query: { q?: string | undefined; status?: string | undefined; page: number }; notice?: string | undefined }): VNode {
  const { t, locale } = ctx
  return (
    <ConsolePage ctx={ctx} title={t('admin.users.title')} notice={notice}>
      <form class="inline-form" method="get" action={`/${locale}/admin/users`} role="search">
        <label for="q">{t('admin.users.search')}</label>
        <input id="q" name="q" type="search" value={query.q ?? ''} maxLength={200} />
        <label for="status">{t('admin.users.status')}</label>
        <select id="status" name="status">
          <option value="">{t('admin.users.anyStatus')}</option>
          {listedStatuses.map((s) => <option key={s} value={s} selected={s === query.status}>{t(`account.statuses.${s}`)}</option>)}
        </select>
        <button type="submit">{t('admin.users.find')}</button>
      </form>
      <UserTable ctx={ctx} users={users} />
      <Pager ctx={ctx} base={`/${locale}/admin/users`} params={{ q: query.q, status: query.status }} page={query.page} more={users.length === 50} />
    </ConsolePage>
  )
}

function UserTable({ ctx, users }: { ctx: PageContext; users: UserList }) {
  const { t, locale } = ctx
  if (users.length === 0) return <p>{t('admin.users.none')}</p>
  // On a phone the table scrolls sideways inside its card rather than running off the page.
  return (
    <div class="table-scroll" role="region" aria-label={t('admin.users.title')} tabIndex={0}>
    <table>
      <caption class="visually-hidden">{t('admin.users.title')}</caption>
      <thead><tr><th scope="col">{t('account.userId')}</th><th scope="col">{t('account.name')}</th><th scope="col">{t('account.company')}</th><th scope="col">{t('account.status')}</th><th scope="col">{t('admin.users.lastActivity')}</th></tr></thead>
      <tbody>
        {users.map((u) => (
          <tr key={u.id}>
            <td><a href={`/${locale}/admin/users/${String(u.id)}`}>{u.userId}</a>{u.realm === 'shop' ? ` (${t('account.realms.shop')})` : ''}</td>
            <td>{u.firstName} {u.lastName}<br /><span class="hint">{u.email ?? '—'}</span></td>
            <td>{u.companyName ?? '—'}</td>
            <td>{t(`account.statuses.${u.status}`)}{u.lockedUntil && new Date(u.lockedUntil) > new Date() ? ` · ${t('admin.users.locked')}` : ''}</td>
            <td>{when(locale, u.lastActivityAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  )
}

function Pager({ ctx, base, params, page, more }: { ctx: PageContext; base: string; params: Record<string, string | undefined>; page: number; more: boolean }) {
  const query = (p: number) => {
    const search = new URLSearchParams(Object.entries({ ...params, page: String(p) }).flatMap(([k, v]) => (v ? [[k, v]] : [])))
    return `${base}?${search.toString()}`
  }
  if (page <= 1 && !more) return null
  return (
    <nav aria-label={ctx.t('admin.pages')}>
      <ul class="inline-list">
        {page > 1 ? <li><a href={query(page - 1)} rel="prev">{ctx.t('admin.previous')}</a></li> : null}
        {more ? <li><a href={query(page + 1)} rel="next">{ctx.t('admin.next')}</a></li> : null}
      </ul>
    </nav>
  )
}

const identityFields = ['userId', 'firstName', 'lastName', 'email', 'companyName', 'companyAddress'] as const

export interface CheckResult {
  fields: Record<(typeof identityFields)[number], boolean>
  passed: boolean
  claims: Record<string, string>
}

export function UserRecordPage({ ctx, record, timeline, csrfToken, check, notice, error }: {
  ctx: PageContext; record: UserRecord; timeline: AuditRow[]; csrfToken: string; check?: CheckResult | undefined; notice?: string | undefined; error?: string | undefined
}): VNode {
  const { t, locale } = ctx
  const { user, company, may } = record
  const base = `/${locale}/admin/users/${String(user.id)}`
  const isOrgAdmin = record.roles.some((r) => r.role === 'org_admin' && r.companyId === user.companyId)
  const checkedRecently = record.check?.data?.passed === true
  return (
    <ConsolePage ctx={ctx} title={`${user.firstName} ${user.lastName} (${user.userId})`} notice={notice} error={error}>
      <section class="card" aria-labelledby="record">
        <h2 id="record">{t('admin.user.record')}</h2>
        <dl>
          <dt>{t('account.userId')}</dt><dd>{user.userId} · {t(`account.realms.${user.realm}`)}</dd>
          <dt>{t('account.name')}</dt><dd>{user.firstName} {user.lastName}</dd>
          <dt>{t('account.email')}</dt><dd>{user.email ?? '—'} ({t(user.emailVerifiedAt ? 'account.verified' : 'account.notVerified')})</dd>
          <dt>{t('account.company')}</dt><dd>{company ? <a href={`/${locale}/admin/companies/${String(company.id)}`}>{company.name}</a> : '—'}{company ? `, ${company.street}, ${company.postalCode} ${company.city}` : ''}</dd>
          <dt>{t('account.status')}</dt><dd>{t(`account.statuses.${user.status}`)}{user.lockedUntil && user.lockedUntil > new Date() ? ` · ${t('admin.user.lockedUntil', { date: when(locale, user.lockedUntil) })}` : ''}</dd>
          <dt>{t('admin.users.lastActivity')}</dt><dd>{when(locale, user.lastActivityAt)}</dd>
          <dt>{t('admin.user.roles')}</dt><dd>{record.roles.map((r) => t(`admin.roles.${r.role}`)).join(', ')}</dd>
        </dl>
      </section>

      {user.status === 'pending_approval' && may.approve ? (
        <section class="card" aria-labelledby="approval">
          <h2 id="approval">{t('admin.user.approval')}</h2>
          <p>{t('admin.user.approvalText')}</p>
          <div class="inline-form">
            <form method="post" action={`${base}/approve`}><Hidden csrfToken={csrfToken} /><button type="submit">{t('admin.user.approve')}</button></form>
            <form method="post" action={`${base}/refuse`}><Hidden csrfToken={csrfToken} /><button type="submit" class="secondary">{t('admin.user.refuse')}</button></form>
          </div>
        </section>
      ) : null}

      {may.checkIdentity ? (
        <section class="card" aria-labelledby="identity">
          <h2 id="identity">{t('admin.check.title')}</h2>
          <p>{t('admin.check.lead')}</p>
          <form class="stack-form" method="post" action={`${base}/check`}>
            <Hidden csrfToken={csrfToken} />
            {identityFields.map((f) => (
              <div key={f}>
                <label for={`claim-${f}`}>{t(`admin.check.fields.${f}`)}{check ? ` — ${t(check.fields[f] ? 'admin.check.matches' : 'admin.check.differs')}` : ''}</label>
                <input id={`claim-${f}`} name={f} type="text" value={check?.claims[f] ?? ''} maxLength={f === 'companyAddress' ? 400 : 200} autocomplete="off" />
              </div>
            ))}
            <button type="submit">{t('admin.check.submit')}</button>
          </form>
          {check ? <p class={check.passed ? 'notice' : 'error-message'} role="status">{t(check.passed ? 'admin.check.passed' : 'admin.check.failed')}</p> : null}
          {!check && record.check ? <p class="hint">{t(checkedRecently ? 'admin.check.recentPassed' : 'admin.check.recentFailed', { date: when(locale, record.check.at) })}</p> : null}
        </section>
      ) : null}

      {may.restore || may.resetPassword || may.resetFactors ? (
        <section class="card" aria-labelledby="access">
          <h2 id="access">{t('admin.access.title')}</h2>
          {checkedRecently ? null : <p class="hint">{t('admin.access.needsCheck')}</p>}
          {may.restore ? (
            <form method="post" action={`${base}/restore`} class="inline-form">
              <Hidden csrfToken={csrfToken} />
              <button type="submit" disabled={!checkedRecently}>{t('admin.access.restore')}</button>
              <span class="hint">{t('admin.access.restoreHint')}</span>
            </form>
          ) : null}
          {may.resetPassword ? (
            <form method="post" action={`${base}/reset`} class="stack-form">
              <Hidden csrfToken={csrfToken} />
              <label for="newEmail">{t('admin.access.newEmail')}</label>
              <input id="newEmail" name="newEmail" type="email" maxLength={256} aria-describedby="newEmail-hint" />
              <p id="newEmail-hint" class="hint">{t('admin.access.newEmailHint')}</p>
              <button type="submit" disabled={!checkedRecently}>{t('admin.access.reset')}</button>
            </form>
          ) : may.restore ? <p class="hint">{t('admin.access.resetAfterRestore')}</p> : null}
          {may.resetFactors ? (
            <form method="post" action={`${base}/factors/reset`} class="inline-form">
              <Hidden csrfToken={csrfToken} />
              <button type="submit" class="secondary" disabled={!checkedRecently}>{t('admin.access.resetFactors')}</button>
              <span class="hint">{tn(locale, 'admin.access.resetFactorsHint', record.factorCount)}</span>
            </form>
          ) : null}
        </section>
      ) : null}

      {may.deactivate || may.grantOrgAdmin ? (
        <section class="card" aria-labelledby="manage">
          <h2 id="manage">{t('admin.user.manage')}</h2>
          <div class="inline-form">
            {may.grantOrgAdmin ? (
              <form method="post" action={`${base}/org-admin`}>
                <Hidden csrfToken={csrfToken} />
                <input type="hidden" name="grant" value={isOrgAdmin ? 'false' : 'true'} />
                <button type="submit">{t(isOrgAdmin ? 'admin.user.revokeOrgAdmin' : 'admin.user.grantOrgAdmin')}</button>
              </form>
            ) : null}
            {may.deactivate && user.status !== 'deactivated' ? (
              <form method="post" action={`${base}/deactivate`}>
                <Hidden csrfToken={csrfToken} />
                <button type="submit" class="secondary">{t('admin.user.deactivate')}</button>
              </form>
            ) : null}
          </div>
        </section>
      ) : null}

      <section class="card" aria-labelledby="timeline">
        <h2 id="timeline">{t('admin.user.timeline')}</h2>
        <AuditTable ctx={ctx} events={timeline} caption={t('admin.user.timeline')} />
      </section>

      <section class="card" aria-labelledby="mails">
        <h2 id="mails">{t('admin.user.mails')}</h2>
        {record.mails.length === 0 ? <p>{t('admin.user.noMails')}</p> : (
          <table>
            <caption class="visually-hidden">{t('admin.user.mails')}</caption>
            <thead><tr><th scope="col">{t('admin.user.mailWhat')}</th><th scope="col">{t('admin.user.mailQueued')}</th><th scope="col">{t('admin.user.mailSent')}</th></tr></thead>
            <tbody>{record.mails.map((m, i) => <tr key={i}><td>{t(`mail.${m.template}.subject`)}</td><td>{when(locale, m.createdAt)}</td><td>{m.status === 'sent' ? when(locale, m.sentAt) : t(`admin.user.mailStatus.${m.status}`)}</td></tr>)}</tbody>
          </table>
        )}
      </section>
    </ConsolePage>
  )
}

/** Audit events as sentences in the reader's language ("Luca Ferri, market administrator, restored access for …"). */
function AuditTable({ ctx, events, caption }: { ctx: PageContext; events: AuditRow[]; caption: string }) {
  const { t, locale } = ctx
  if (events.length === 0) return <p>{t('admin.audit.none')}</p>
  return (
    <table>
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr><th scope="col">{t('admin.audit.when')}</th><th scope="col">{t('admin.audit.what')}</th><th scope="col">{t('admin.audit.ip')}</th></tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={e.id}>
            <td>{when(locale, e.at)}</td><td>{auditSentence(locale, e)}</td><td>{e.ip ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export function AuditPage({ ctx, events, query }: { ctx: PageContext; events: AuditRow[]; query: { action?: string | undefined; from?: string | undefined; to?: string | undefined; page: number } }): VNode {
  const { t, locale } = ctx
  const params = { action: query.action, from: query.from, to: query.to }
  const csv = new URLSearchParams(Object.entries(params).flatMap(([k, v]) => (v ? [[k, v]] : []))).toString()
  return (
    <ConsolePage ctx={ctx} title={t('admin.audit.title')}>
      <p class="lead">{t('admin.audit.lead')}</p>
      <form class="inline-form" method="get" action={`/${locale}/admin/audit`}>
        <label for="action">{t('admin.audit.area')}</label>
        <select id="action" name="action">
          <option value="">{t('admin.audit.anyArea')}</option>
          {auditAreas.map((area) => <option key={area} value={area} selected={query.action === area}>{t(`admin.audit.areas.${area.replace(/[._]$/, '')}`)}</option>)}
        </select>
        <label for="from">{t('admin.audit.from')}</label>
        <input id="from" name="from" type="date" value={query.from ?? ''} />
        <label for="to">{t('admin.audit.to')}</label>
        <input id="to" name="to" type="date" value={query.to ?? ''} />
        <button type="submit">{t('admin.audit.filter')}</button>
      </form>
      <p><a href={`/${locale}/admin/audit.csv${csv ? `?${csv}` : ''}`} download="audit.csv">{t('admin.audit.export')}</a></p>
      <AuditTable ctx={ctx} caption={t('admin.audit.title')} events={events} />
      <Pager ctx={ctx} base={`/${locale}/admin/audit`} params={params} page={query.page} more={events.length === 100} />
    </ConsolePage>
  )
}

export function CompaniesPage({ ctx, companies, query, markets, csrfToken, notice, error }: {
  ctx: PageContext; companies: Company[]; query: { q?: string | undefined; status?: string | undefined }
  /** Markets where the actor may add companies (market and platform administrators). */
  markets: MarketRow[]; csrfToken: string; notice?: string | undefined; error?: string | undefined
}): VNode {
  const { t, locale } = ctx
  return (
    <ConsolePage ctx={ctx} title={t('admin.companies.title')} notice={notice} error={error}>
      <form class="inline-form" method="get" action={`/${locale}/admin/companies`} role="search">
        <label for="q">{t('admin.companies.search')}</label>
        <input id="q" name="q" type="search" value={query.q ?? ''} maxLength={200} />
        <label for="status">{t('account.status')}</label>
        <select id="status" name="status">
          <option value="">{t('admin.users.anyStatus')}</option>
          {['active', 'pending_approval', 'refused'].map((s) => <option key={s} value={s} selected={s === query.status}>{t(`admin.companies.statuses.${s}`)}</option>)}
        </select>
        <button type="submit">{t('admin.users.find')}</button>
      </form>
      {companies.length === 0 ? <p>{t('admin.companies.none')}</p> : (
        <table>
          <caption class="visually-hidden">{t('admin.companies.title')}</caption>
          <thead><tr><th scope="col">{t('admin.companies.name')}</th><th scope="col">{t('admin.companies.number')}</th><th scope="col">{t('register.city')}</th><th scope="col">{t('account.status')}</th></tr></thead>
          <tbody>
            {companies.map((c) => (
              <tr key={c.id}>
                <td><a href={`/${locale}/admin/companies/${String(c.id)}`}>{c.name}</a>{c.isPartner ? ` · ${t('admin.companies.partner')}` : ''}</td>
                <td>{c.companyNumber}</td><td>{c.city} ({c.marketCode})</td><td>{t(`admin.companies.statuses.${c.status}`)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {markets.length > 0 ? (
        <section class="card" aria-labelledby="new-company">
          <h2 id="new-company">{t('admin.companies.create')}</h2>
          <form class="stack-form" method="post" action={`/${locale}/admin/companies`}>
            <Hidden csrfToken={csrfToken} />
            <label for="new-market">{t('partners.market')}</label>
            <select id="new-market" name="market">{markets.map((m) => <option key={m.code} value={m.code}>{m.names[locale] ?? m.code}</option>)}</select>
            <label for="new-companyNumber">{t('admin.companies.number')}</label>
            <input id="new-companyNumber" name="companyNumber" type="text" required maxLength={40} />
            <label for="new-name">{t('admin.companies.name')}</label>
            <input id="new-name" name="name" type="text" required maxLength={200} />
            <label for="new-street">{t('register.street')}</label>
            <input id="new-street" name="street" type="text" maxLength={200} />
            <label for="new-postalCode">{t('register.postalCode')}</label>
            <input id="new-postalCode" name="postalCode" type="text" maxLength={20} />
            <label for="new-city">{t('register.city')}</label>
            <input id="new-city" name="city" type="text" required maxLength={100} />
            <span class="choice"><input type="checkbox" id="new-isPartner" name="isPartner" value="true" /><label for="new-isPartner">{t('admin.companies.isPartner')}</label></span>
            <button type="submit">{t('admin.companies.createSubmit')}</button>
          </form>
        </section>
      ) : null}
    </ConsolePage>
  )
}

export function CompanyPage({ ctx, company, partner, mayEdit, users, choices, partnerQuery, csrfToken, notice, error, partnerDue = false, mayDecide = false }: {
  ctx: PageContext; company: Company; partner: Company | null; mayEdit: boolean; users: UserList; choices: Company[] | null; partnerQuery?: string | undefined
  csrfToken: string; notice?: string | undefined; error?: string | undefined
  /** The actor, its organization administrator, is asked to choose or confirm the partner. */
  partnerDue?: boolean
  /** A new workshop waiting for approval, and the actor may approve or refuse it. */
  mayDecide?: boolean
}): VNode {
  const { t, locale } = ctx
  const base = `/${locale}/admin/companies/${String(company.id)}`
  const field = (id: 'name' | 'street' | 'postalCode' | 'city' | 'contactPhone', label: string, max: number, required = false) => (
    <>
      <label for={`company-${id}`}>{label}</label>
      <input id={`company-${id}`} name={id} type="text" value={company[id] ?? ''} maxLength={max} required={required} disabled={!mayEdit} />
    </>
  )
  return (
    <ConsolePage ctx={ctx} title={company.name} notice={notice} error={error}>
      <p class="lead">{company.companyNumber} · {t(`admin.companies.statuses.${company.status}`)}</p>
      <p><a href={`${base}/forecast`}>{t('reports.forecast.link')}</a></p>
      {mayDecide ? (
        <section class="card" aria-labelledby="decision">
          <h2 id="decision">{t('admin.company.pendingTitle')}</h2>
          <p>{t('admin.company.pendingText')}</p>
          {users.filter((u) => u.status === 'pending_approval').map((u) => (
            <div key={u.id} class="decision">
              <p>{t('admin.company.founder', { name: `${u.firstName} ${u.lastName}`, userId: u.userId, email: u.email ?? '—' })}</p>
              <div class="inline-form">
                <form method="post" action={`/${locale}/admin/users/${String(u.id)}/approve`}><Hidden csrfToken={csrfToken} /><input type="hidden" name="company" value={String(company.id)} /><button type="submit">{t('admin.company.approve')}</button></form>
                <form method="post" action={`/${locale}/admin/users/${String(u.id)}/refuse`}><Hidden csrfToken={csrfToken} /><input type="hidden" name="company" value={String(company.id)} /><button type="submit" class="secondary">{t('admin.company.refuse')}</button></form>
              </div>
            </div>
          ))}
        </section>
      ) : null}
      <section class="card" aria-labelledby="details">
        <h2 id="details">{t('admin.company.details')}</h2>
        <form class="stack-form" method="post" action={base}>
          <Hidden csrfToken={csrfToken} />
          {field('name', t('admin.companies.name'), 200, true)}
          {field('street', t('register.street'), 200)}
          {field('postalCode', t('register.postalCode'), 20)}
          {field('city', t('register.city'), 100, true)}
          {field('contactPhone', t('admin.company.phone'), 40)}
          <label for="company-contactEmail">{t('admin.company.email')}</label>
          <input id="company-contactEmail" name="contactEmail" type="email" value={company.contactEmail ?? ''} maxLength={256} disabled={!mayEdit} />
          {mayEdit ? <button type="submit">{t('admin.company.save')}</button> : null}
        </form>
      </section>

      {company.isPartner ? null : (
        <section class="card" aria-labelledby="partner">
          <h2 id="partner">{t('admin.company.partner')}</h2>
          <p>{partner ? t('admin.company.partnerIs', { name: partner.name, city: partner.city }) : t('admin.company.noPartner')}</p>
          {mayEdit && partnerDue ? <p class="notice urgent">{partner ? t('partners.reminder.confirm', { company: company.name, partner: partner.name }) : t('partners.reminder.none', { company: company.name })}</p> : null}
          {mayEdit && partnerDue && partner ? (
            <form method="post" action={`${base}/partner`}>
              <Hidden csrfToken={csrfToken} />
              <input type="hidden" name="partnerId" value={String(partner.id)} />
              <button type="submit">{t('partners.reminder.confirmButton', { partner: partner.name })}</button>
            </form>
          ) : null}
          {mayEdit ? (
            <>
              <form class="inline-form" method="get" action={base} role="search">
                <label for="partnerQ">{t('admin.company.partnerSearch')}</label>
                <input id="partnerQ" name="partnerQ" type="search" value={partnerQuery ?? ''} maxLength={100} />
                <button type="submit">{t('admin.users.find')}</button>
              </form>
              {choices ? (
                choices.length === 0 ? <p>{t('admin.companies.none')}</p> : (
                  <form class="stack-form" method="post" action={`${base}/partner`}>
                    <Hidden csrfToken={csrfToken} />
                    <fieldset>
                      <legend>{t('admin.company.partnerChoose')}</legend>
                      {choices.map((c) => (
                        <span class="choice" key={c.id}>
                          <input type="radio" id={`partner-${String(c.id)}`} name="partnerId" value={String(c.id)} checked={c.id === company.aftersalesPartnerId} required />
                          <label for={`partner-${String(c.id)}`}>{c.name}, {c.city}</label>
                        </span>
                      ))}
                    </fieldset>
                    <button type="submit">{t('admin.company.partnerSave')}</button>
                  </form>
                )
              ) : null}
            </>
          ) : null}
        </section>
      )}

      <section class="card" aria-labelledby="people">
        <h2 id="people">{t('admin.company.users')}</h2>
        <UserTable ctx={ctx} users={users} />
      </section>

      {mayEdit ? (
        <section class="card" aria-labelledby="invite">
          <h2 id="invite">{t('admin.invite.title')}</h2>
          <p>{t('admin.invite.lead')}</p>
          <form class="stack-form" method="post" action={`${base}/invite`}>
            <Hidden csrfToken={csrfToken} />
            <label for="invite-userId">{t('register.userId')}</label>
            <input id="invite-userId" name="userId" type="text" required maxLength={64} autocomplete="off" />
            <label for="invite-firstName">{t('register.firstName')}</label>
            <input id="invite-firstName" name="firstName" type="text" required maxLength={100} autocomplete="off" />
            <label for="invite-lastName">{t('register.lastName')}</label>
            <input id="invite-lastName" name="lastName" type="text" required maxLength={100} autocomplete="off" />
            <label for="invite-email">{t('register.email')}</label>
            <input id="invite-email" name="email" type="email" required maxLength={256} autocomplete="off" />
            <label for="invite-locale">{t('account.language')}</label>
            <select id="invite-locale" name="locale">
              {locales.map((l) => <option key={l} value={l} lang={l} selected={l === locale}>{localeName(l)}</option>)}
            </select>
            <label for="invite-role">{t('admin.invite.role')}</label>
            <select id="invite-role" name="role">
              <option value="user">{sentence(t('admin.roles.user'), locale)}</option>
              <option value="org_admin">{sentence(t('admin.roles.org_admin'), locale)}</option>
            </select>
            <button type="submit">{t('admin.invite.submit')}</button>
          </form>
        </section>
      ) : null}
    </ConsolePage>
  )
}

export function ReportPage({ ctx, market, report, charts, days }: {
  ctx: PageContext; market: MarketRow; report: { byStatus: { status: string; n: number }[]; thisWeek: { warned: number; blocked: number; deleted: number } }; charts: ChartData[]; days: number
}): VNode {
  const { t, locale } = ctx
  const max = Math.max(1, ...report.byStatus.map((s) => s.n))
  const barHeight = 28
  const base = `/${locale}/admin/markets/${market.code}`
  return (
    <ConsolePage ctx={ctx} title={`${t('admin.report.title')}: ${market.names[locale] ?? market.code}`}>
      <p><a href={`${base}/report.csv`} download={`report-${market.code}.csv`}>{t('admin.report.csv')}</a> · <a href={`${base}/forecast?days=${String(days)}`}>{t('reports.forecast.link')}</a></p>
      <ReportPeriods ctx={ctx} days={days} path={`${base}/report`} />
      <p class="hint">{t('reports.timeZone', { zone: zoneName(market.timeZone, locale) })}</p>
      <ReportCharts ctx={ctx} charts={charts} csvBase={`${base}/report/charts/`} days={days} />
      <section class="card" aria-labelledby="week">
        <h2 id="week">{t('admin.report.week')}</h2>
        <dl>
          <dt>{t('admin.report.warned')}</dt><dd>{report.thisWeek.warned}</dd>
          <dt>{t('admin.report.blocked')}</dt><dd>{report.thisWeek.blocked}</dd>
          <dt>{t('admin.report.deleted')}</dt><dd>{report.thisWeek.deleted}</dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="by-status">
        <h2 id="by-status">{t('admin.report.byStatus')}</h2>
        <svg class="chart" role="img" aria-labelledby="chart-title" width="100%" height={report.byStatus.length * barHeight + 4} viewBox={`0 0 600 ${String(report.byStatus.length * barHeight + 4)}`}>
          <title id="chart-title">{t('admin.report.byStatus')}</title>
          {report.byStatus.map((s, i) => (
            <g key={s.status} transform={`translate(0 ${String(i * barHeight)})`}>
              <text x="0" y="18" font-size="14">{t(`account.statuses.${s.status}`)}</text>
              <rect x="220" y="4" height="18" width={Math.max(2, (s.n / max) * 320)} fill="#0b4f8a" />
              <text x={228 + (s.n / max) * 320} y="18" font-size="14">{s.n}</text>
            </g>
          ))}
        </svg>
        <table>
          <caption class="visually-hidden">{t('admin.report.byStatus')}</caption>
          <thead><tr><th scope="col">{t('account.status')}</th><th scope="col">{t('admin.report.count')}</th></tr></thead>
          <tbody>{report.byStatus.map((s) => <tr key={s.status}><td>{t(`account.statuses.${s.status}`)}</td><td>{s.n}</td></tr>)}</tbody>
        </table>
      </section>
    </ConsolePage>
  )
}

export function ImportPage({ ctx, market, csrfToken, result, error }: {
  ctx: PageContext; market: MarketRow; csrfToken: string; result?: { imported: number; invited: number } | { problems: ImportProblem[] } | undefined; error?: string | undefined
}): VNode {
  const { t, locale } = ctx
  return (
    <ConsolePage ctx={ctx} title={`${t('admin.import.title')}: ${market.names[locale] ?? market.code}`} error={error}>
      <p class="lead">{t('admin.import.lead')}</p>
      <p><code>user_id,first_name,last_name,email,company_number,realm,role,last_activity</code></p>
      {result && 'problems' in result ? (
        <section class="card" aria-labelledby="problems">
          <h2 id="problems">{tn(locale, 'admin.import.problems', result.problems.length)}</h2>
          <ul>{result.problems.slice(0, 200).map((p, i) => <li key={i}>{t('admin.import.line', { line: p.line, field: p.field || '—' })}: {t(`import.problem.${p.code}`)}</li>)}</ul>
        </section>
      ) : null}
      {result && 'imported' in result ? <p class="notice" role="status">{tn(locale, 'admin.import.done', result.imported)} {tn(locale, 'admin.import.invited', result.invited)}</p> : null}
      <form class="stack-form" method="post" action={`/${locale}/admin/markets/${market.code}/import`} enctype="multipart/form-data">
        <Hidden csrfToken={csrfToken} />
        <label for="file">{t('admin.import.file')}</label>
        <FilePicker ctx={ctx} id="file" name="file" accept=".csv,text/csv" required />
        <span class="choice"><input type="checkbox" id="invite" name="invite" value="true" /><label for="invite">{t('admin.import.invite')}</label></span>
        <button type="submit">{t('admin.import.submit')}</button>
      </form>
    </ConsolePage>
  )
}

const weekdays = ['1', '2', '3', '4', '5', '6', '7'] as const

/** One market's service levels (working hours per urgency), business hours per weekday and time zone. */
function ServiceLevelsForm({ ctx, market, csrfToken }: { ctx: PageContext; market: MarketRow; csrfToken: string }): VNode {
  const { t, locale } = ctx
  const id = (name: string) => `${market.code}-${name}`
  const hours = (name: string, label: string, value: number) => (
    <div>
      <label for={id(name)}>{label}</label>
      <input id={id(name)} name={name} type="number" min={1} max={MAX_SERVICE_HOURS} step={1} required value={String(value)} />
    </div>
  )
  return (
    <form class="stack-form" method="post" action={`/${locale}/admin/platform/markets/${market.code}/service-levels`} aria-labelledby={`service-levels ${id('sl-title')}`}>
      <Hidden csrfToken={csrfToken} />
      <h3 id={id('sl-title')}>{market.names[locale] ?? market.code}</h3>
      {(['normal', 'urgent'] as const).map((u) => (
        <fieldset key={u}>
          <legend>{t(`admin.platform.sla.${u}`)}</legend>
          {hours(`${u}FirstResponse`, t('admin.platform.sla.firstResponse'), market.sla[u].firstResponse)}
          {hours(`${u}Resolution`, t('admin.platform.sla.resolution'), market.sla[u].resolution)}
        </fieldset>
      ))}
      <fieldset>
        <legend>{t('admin.platform.businessHours')}</legend>
        {weekdays.map((d) => {
          const range = market.businessHours[d]
          return (
            <fieldset key={d} class="inline-form weekday">
              <legend>{t(`admin.platform.weekday${d}`)}</legend>
              <label for={id(`open${d}`)}>{t('admin.platform.opens')}</label>
              <input id={id(`open${d}`)} name={`open${d}`} type="time" value={range?.[0] ?? ''} />
              <label for={id(`close${d}`)}>{t('admin.platform.closes')}</label>
              <input id={id(`close${d}`)} name={`close${d}`} type="time" value={range?.[1] ?? ''} />
              <span class="choice"><input type="checkbox" id={id(`closed${d}`)} name={`closed${d}`} checked={!range} /><label for={id(`closed${d}`)}>{t('admin.platform.closedDay')}</label></span>
            </fieldset>
          )
        })}
      </fieldset>
      <label for={id('timeZone')}>{t('admin.platform.timeZone')}</label>
      <input id={id('timeZone')} name="timeZone" type="text" required maxLength={64} value={market.timeZone} aria-describedby={id('timeZone-hint')} autocomplete="off" />
      <p class="hint" id={id('timeZone-hint')}>{t('admin.platform.timeZoneHint')}</p>
      <button type="submit">{t('admin.platform.saveServiceLevels')}</button>
    </form>
  )
}

export function PlatformPage({ ctx, realms, markets, csrfToken, notice, error }: {
  ctx: PageContext; realms: { key: string; names: Record<string, string>; warnBlockDays: number; blockDays: number; warnDeleteDays: number; deleteDays: number }[]
  markets: MarketRow[]; csrfToken: string; notice?: string | undefined; error?: string | undefined
}): VNode {
  const { t, locale } = ctx
  const days = ['warnBlockDays', 'blockDays', 'warnDeleteDays', 'deleteDays'] as const
  return (
    <ConsolePage ctx={ctx} title={t('admin.platform.title')} notice={notice} error={error}>
      <p><a href={`/${locale}/admin/platform/clients`}>{t('sso.admin.title')}</a></p>
      {realms.map((r) => (
        <section class="card" key={r.key} aria-labelledby={`realm-${r.key}`}>
          <h2 id={`realm-${r.key}`}>{t('admin.platform.policy', { realm: r.names[locale] ?? r.key })}</h2>
          <form class="stack-form" method="post" action={`/${locale}/admin/platform/realms/${r.key}`}>
            <Hidden csrfToken={csrfToken} />
            {days.map((d) => (
              <div key={d}>
                <label for={`${r.key}-${d}`}>{t(`admin.platform.${d}`)}</label>
                <input id={`${r.key}-${d}`} name={d} type="number" min={1} max={3650} required value={String(r[d])} />
              </div>
            ))}
            <button type="submit">{t('admin.platform.savePolicy')}</button>
          </form>
        </section>
      ))}
      <section class="card" aria-labelledby="markets">
        <h2 id="markets">{t('admin.platform.markets')}</h2>
        {markets.map((m) => (
          <form key={m.code} class="stack-form" method="post" action={`/${locale}/admin/platform/markets/${m.code}`} aria-label={m.names[locale] ?? m.code}>
            <Hidden csrfToken={csrfToken} />
            <h3>{m.names[locale] ?? m.code}</h3>
            <label for={`${m.code}-supportEmail`}>{t('admin.platform.supportEmail')}</label>
            <input id={`${m.code}-supportEmail`} name="supportEmail" type="email" required maxLength={256} value={m.supportEmail} />
            <label for={`${m.code}-supportPhone`}>{t('admin.platform.supportPhone')}</label>
            <input id={`${m.code}-supportPhone`} name="supportPhone" type="text" required maxLength={40} value={m.supportPhone} />
            <button type="submit">{t('admin.platform.saveMarket')}</button>
          </form>
        ))}
      </section>
      <section class="card" aria-labelledby="service-levels">
        <h2 id="service-levels">{t('admin.platform.serviceLevels')}</h2>
        <p class="hint">{t('admin.platform.serviceLevelsHint', { max: MAX_SERVICE_HOURS })}</p>
        {markets.map((m) => <ServiceLevelsForm key={m.code} ctx={ctx} market={m} csrfToken={csrfToken} />)}
      </section>
      <section class="card" aria-labelledby="second-factor">
        <h2 id="second-factor">{t('admin.platform.secondFactor')}</h2>
        <p class="hint">{t('admin.platform.secondFactorHint')}</p>
        {markets.map((m) => (
          <form key={m.code} class="inline-form" method="post" action={`/${locale}/admin/platform/markets/${m.code}/second-factor`} aria-label={`${t('admin.platform.secondFactor')}: ${m.names[locale] ?? m.code}`}>
            <Hidden csrfToken={csrfToken} />
            <label for={`${m.code}-second-factor`}>{m.names[locale] ?? m.code}</label>
            <select id={`${m.code}-second-factor`} name="required">
              <option value="false" selected={!m.secondFactorRequired}>{t('admin.platform.secondFactorRoles')}</option>
              <option value="true" selected={m.secondFactorRequired}>{t('admin.platform.secondFactorEveryone')}</option>
            </select>
            <button type="submit">{t('admin.platform.saveSecondFactor')}<span class="visually-hidden"> {m.names[locale] ?? m.code}</span></button>
          </form>
        ))}
      </section>
      <section class="card" aria-labelledby="market-admins">
        <h2 id="market-admins">{t('admin.platform.marketAdmins')}</h2>
        <form class="stack-form" method="post" action={`/${locale}/admin/platform/market-admins`}>
          <Hidden csrfToken={csrfToken} />
          <label for="ma-userId">{t('register.userId')}</label>
          <input id="ma-userId" name="userId" type="text" required maxLength={64} />
          <label for="ma-market">{t('partners.market')}</label>
          <select id="ma-market" name="market">{markets.map((m) => <option key={m.code} value={m.code}>{m.names[locale] ?? m.code}</option>)}</select>
          <label for="ma-grant">{t('admin.platform.change')}</label>
          <select id="ma-grant" name="grant"><option value="true">{t('admin.platform.grant')}</option><option value="false">{t('admin.platform.revoke')}</option></select>
          <button type="submit">{t('admin.platform.apply')}</button>
        </form>
      </section>
    </ConsolePage>
  )
}

/** Where a forecast page lives: a market's, or one company's. */
export interface ForecastPlace {
  /** The scope's name in sentences: "Italy", "Autofficina Rossi". */
  name: string
  /** The page's path without the locale's query: /it/admin/markets/IT/forecast */
  path: string
  /** The market's time zone: the dates on the page are its days. */
  timeZone: string
}

export interface ForecastSelection {
  step: SweepStep
  companyId?: number | undefined
  people: ForecastPerson[]
}

export function ForecastPage({ ctx, place, forecast, chart, days, selection, csrfToken, notice, error }: {
  ctx: PageContext; place: ForecastPlace; forecast: InactivityForecast; chart: ChartData; days: number; selection?: ForecastSelection | undefined
  csrfToken: string; notice?: string | undefined; error?: string | undefined
}): VNode {
  const { t, locale } = ctx
  const at = Math.max(0, forecast.horizons.indexOf(days))
  const number = new Intl.NumberFormat(locale)
  const date = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: place.timeZone })
  const peopleHref = (step: SweepStep, companyId?: number) => `${place.path}?days=${String(days)}&step=${step}${companyId === undefined ? '' : `&company=${String(companyId)}`}#people`
  const figure = (n: number, step: SweepStep, company: string, companyId?: number) => (n === 0 ? <span>{number.format(0)}</span> : (
    <a href={peopleHref(step, companyId)} aria-label={`${number.format(n)} · ${t('reports.forecast.showPeople', { step: t(`reports.forecast.steps.${step}`), company })}`}>{number.format(n)}</a>
  ))
  const selectedCompany = selection?.companyId === undefined ? undefined : forecast.companies.find((c) => c.companyId === selection.companyId)
  return (
    <ConsolePage ctx={ctx} title={`${t('reports.forecast.title')}: ${place.name}`} notice={notice} error={error}>
      <p class="lead">{t('reports.forecast.lead', { scope: place.name })}</p>
      <ReportPeriods ctx={ctx} days={days} path={place.path} ahead />
      <p class="hint">{t('reports.forecast.timeZone', { zone: place.timeZone })}</p>
      <ReportCharts ctx={ctx} charts={[chart]} csvBase={`${place.path}/charts/`} days={days} />
      <section class="card" aria-labelledby="by-company">
        <h2 id="by-company">{t('reports.forecast.byCompany', { days })}</h2>
        <div class="table-scroll" role="region" aria-label={`${t('reports.table')}: ${t('reports.forecast.byCompany', { days })}`} tabIndex={0}>
          <table>
            <thead>
              <tr><th scope="col">{t('reports.forecast.company')}</th>{sweepSteps.map((s) => <th key={s} scope="col" class="number">{t(`reports.forecast.steps.${s}`)}</th>)}</tr>
            </thead>
            <tbody>
              {forecast.companies.map((c) => (
                <tr key={c.companyId}>
                  <th scope="row">{c.companyName}</th>
                  {sweepSteps.map((s) => <td key={s} class="number">{figure(c.counts[s][at] ?? 0, s, c.companyName, c.companyId)}</td>)}
                </tr>
              ))}
              <tr>
                <th scope="row">{t('reports.forecast.total')}</th>
                {sweepSteps.map((s) => <td key={s} class="number"><strong>{figure(forecast.totals[s][at] ?? 0, s, t('reports.forecast.total'))}</strong></td>)}
              </tr>
            </tbody>
          </table>
        </div>
      </section>
      {selection ? (
        <section class="card" aria-labelledby="people-title" id="people">
          <h2 id="people-title">{t('reports.forecast.people', { step: t(`reports.forecast.steps.${selection.step}`), days })}{selectedCompany ? ` · ${selectedCompany.companyName}` : ''}</h2>
          {selection.people.length === 0 ? <p>{t('reports.forecast.nobody')}</p> : (
            <>
              <p><a href={`${place.path}/people.csv?days=${String(days)}&step=${selection.step}${selection.companyId === undefined ? '' : `&company=${String(selection.companyId)}`}`}>{t('reports.forecast.peopleCsv')}</a></p>
              <div class="table-scroll" role="region" aria-label={`${t('reports.table')}: ${t('reports.forecast.people', { step: t(`reports.forecast.steps.${selection.step}`), days })}`} tabIndex={0}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('reports.forecast.person')}</th><th scope="col">{t('reports.forecast.userId')}</th><th scope="col">{t('reports.forecast.company')}</th>
                      <th scope="col">{t('reports.forecast.status')}</th><th scope="col">{t('reports.forecast.lastActivity')}</th><th scope="col">{t('reports.forecast.dueAt')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {selection.people.map((p) => (
                      <tr key={p.id}>
                        <td><a href={`/${locale}/admin/users/${String(p.id)}`}>{p.first_name} {p.last_name}</a></td><td>{p.user_id}</td><td>{p.company_name}</td>
                        <td>{t(`account.statuses.${p.status}`)}</td><td>{date.format(new Date(p.last_activity))}</td><td>{date.format(new Date(p.due_at))}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )}
        </section>
      ) : null}
      <section class="card" aria-labelledby="remind">
        <h2 id="remind">{t('reports.forecast.remindTitle')}</h2>
        <p>{t('reports.forecast.remindLead', { scope: place.name, days })}</p>
        <form method="post" action={`${place.path}/remind`}>
          <Hidden csrfToken={csrfToken} />
          <input type="hidden" name="days" value={String(days)} />
          <button type="submit">{t('reports.forecast.remindButton')}</button>
        </form>
      </section>
    </ConsolePage>
  )
}

export function PlatformReportPage({ ctx, charts, days }: { ctx: PageContext; charts: ChartData[]; days: number }): VNode {
  const { t, locale } = ctx
  return (
    <ConsolePage ctx={ctx} title={t('reports.platform.title')}>
      <ReportPeriods ctx={ctx} days={days} path={`/${locale}/admin/platform/report`} />
      <p class="hint">{t('reports.timeZone', { zone: zoneName('UTC', locale) })}</p>
      <ReportCharts ctx={ctx} charts={charts} csvBase={`/${locale}/admin/platform/report/charts/`} days={days} />
    </ConsolePage>
  )
}

/** A term as an option's text: its first letter upper case, in the page's language. */
function sentence(text: string, locale: string): string {
  return text.charAt(0).toLocaleUpperCase(locale) + text.slice(1)
}

/** A time zone as its readers call it ("Ora dell'Europa centrale"), not its IANA code. */
function zoneName(timeZone: string, locale: string): string {
  const part = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: timeZone === 'UTC' ? 'long' : 'longGeneric' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName')
  return part?.value ?? timeZone
}
