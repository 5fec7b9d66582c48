import type { ComponentChildren, VNode } from 'preact'
import { Page, type PageContext } from '../../shared/layout/Page.js'
import { formatDuration, formatList, tn } from '../../shared/i18n/index.js'
import type { ChartData } from '../../shared/charts/charts.js'
import { ReportCharts, ReportPeriods } from '../../shared/charts/report.js'
import type { TicketState } from '../../db/schema/index.js'
import type { MarketRow } from '../organizations/index.js'
import type { DeskService } from './agent.service.js'
import { breaches } from './agent.service.js'
import type { QueueRow } from './support.repo.js'
import { AttachmentList, FileInput, looseFiles, MessageBody, MessageFiles, messageText } from './support.pages.js'

type TicketView = Awaited<ReturnType<DeskService['ticket']>>
type Report = Awaited<ReturnType<DeskService['report']>>

export const ticketStates: TicketState[] = ['new', 'open', 'waiting_on_requester', 'solved', 'closed']
export const ageChoices = [4, 24, 72, 168] as const

/** The queue's filters as the URL carries them. */
export interface QueueParams { state?: string | undefined; topic?: string | undefined; urgency?: string | undefined; age?: string | undefined; breach?: string | undefined; mine?: string | undefined; page?: string | undefined }

function when(locale: string, date: Date | string | null): string {
  return date ? new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(date)) : '—'
}

/** How long ago, never "0 h ago": minutes under an hour ("now" under one), hours under two days, then days. */
export function age(locale: string, from: Date, now: Date): string {
  const minutes = Math.max(0, Math.floor((now.getTime() - from.getTime()) / 60_000))
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto', style: 'short' })
  if (minutes < 1) return format.format(0, 'second')
  if (minutes < 60) return format.format(-minutes, 'minute')
  const hours = Math.floor(minutes / 60)
  return hours < 48 ? format.format(-hours, 'hour') : format.format(-Math.floor(hours / 24), 'day')
}

function DeskPage({ ctx, title, notice, error, children }: { ctx: PageContext; title: string; notice?: string | undefined; error?: string | undefined; children: ComponentChildren }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={title} headerSearch={false}>
      <nav class="console-nav" aria-label={t('agent.nav')}>
        <ul>
          <li><a href={`/${locale}/agent/tickets`}>{t('agent.queue.title')}</a></li>
          <li><a href={`/${locale}/agent/tickets?mine=1`}>{t('agent.queue.mine')}</a></li>
          <li><a href={`/${locale}/agent/tickets?breach=1`}>{t('agent.queue.breached')}</a></li>
          <li><a href={`/${locale}/agent/report`}>{t('agent.report.title')}</a></li>
        </ul>
      </nav>
      <h1>{title}</h1>
      {notice ? <p class="notice" role="status">{notice}</p> : null}
      {error ? <p class="error-message" role="alert" id="form-error">{error}</p> : null}
      {children}
    </Page>
  )
}

function Due({ ctx, due, late }: { ctx: PageContext; due: Date; late: boolean }) {
  return late ? <strong class="breach">{ctx.t('agent.sla.late')} · {when(ctx.locale, due)}</strong> : <span>{when(ctx.locale, due)}</span>
}

/** One of the queue's filters: a labelled choice, the current one selected. */
function FilterSelect({ id, name, label, options, selected }: {
  id: string; name: string; label: string; options: { value: string; label: string }[]; selected: string | undefined
}): VNode {
  return (
    <span class="field">
      <label for={id}>{label}</label>
      <select id={id} name={name}>
        {options.map((o) => <option key={o.value} value={o.value} selected={(selected ?? '') === o.value}>{o.label}</option>)}
      </select>
    </span>
  )
}

export function QueuePage({ ctx, queue, topics, params, now }: {
  ctx: PageContext; queue: { rows: QueueRow[]; total: number; page: number; pageSize: number; markets: MarketRow[] }
  topics: { key: string; title: string }[]; params: QueueParams; now: Date
}): VNode {
  const { t, locale } = ctx
  const topicTitle = new Map(topics.map((c) => [c.key, c.title]))
  const link = (page: number) => {
    const search = new URLSearchParams(Object.entries({ ...params, page: String(page) }).flatMap(([k, v]) => (v ? [[k, v]] : [])))
    return `/${locale}/agent/tickets?${search.toString()}`
  }
  const marketNames = formatList(locale, queue.markets.map((m) => m.names[locale] ?? m.code))
  return (
    <DeskPage ctx={ctx} title={t('agent.queue.title')}>
      <p class="lead">{queue.markets.length > 0 ? `${tn(locale, 'agent.queue.markets', queue.markets.length, { markets: marketNames })} ` : ''}{tn(locale, 'agent.queue.lead', queue.total)}</p>
      <form class="inline-form filters" method="get" action={`/${locale}/agent/tickets`} role="search" aria-label={t('agent.queue.filters')}>
        <FilterSelect id="f-state" name="state" label={t('agent.queue.state')} selected={params.state || 'active'} options={[
          { value: 'active', label: t('agent.queue.active') }, { value: 'all', label: t('agent.queue.all') },
          ...ticketStates.map((s) => ({ value: s, label: t(`agent.states.${s}`) })),
        ]} />
        <FilterSelect id="f-topic" name="topic" label={t('support.new.topic')} selected={params.topic} options={[
          { value: '', label: t('agent.queue.any') }, ...topics.map((c) => ({ value: c.key, label: c.title })),
        ]} />
        <FilterSelect id="f-urgency" name="urgency" label={t('agent.queue.urgency')} selected={params.urgency} options={[
          { value: '', label: t('agent.queue.any') }, { value: 'urgent', label: t('agent.urgency.urgent') }, { value: 'normal', label: t('agent.urgency.normal') },
        ]} />
        <FilterSelect id="f-age" name="age" label={t('agent.queue.age')} selected={params.age} options={[
          { value: '', label: t('agent.queue.any') },
          ...ageChoices.map((h) => ({ value: String(h), label: t('agent.queue.olderThan', { age: formatDuration(locale, h * 60) }) })),
        ]} />
        <span class="choice"><input type="checkbox" id="f-breach" name="breach" value="1" checked={params.breach === '1'} /><label for="f-breach">{t('agent.queue.breachedOnly')}</label></span>
        <span class="choice"><input type="checkbox" id="f-mine" name="mine" value="1" checked={params.mine === '1'} /><label for="f-mine">{t('agent.queue.mineOnly')}</label></span>
        <button type="submit">{t('agent.queue.filter')}</button>
      </form>
      {queue.rows.length === 0 ? <p>{t('agent.queue.none')}</p> : (
        <table class="queue stacked">
          <caption class="visually-hidden">{t('agent.queue.title')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('agent.ticket.reference')}</th><th scope="col">{t('support.new.subject')}</th><th scope="col">{t('agent.queue.state')}</th>
              <th scope="col">{t('agent.queue.age')}</th><th scope="col">{t('agent.sla.firstResponse')}</th><th scope="col">{t('agent.sla.resolution')}</th><th scope="col">{t('agent.ticket.assignee')}</th>
            </tr>
          </thead>
          <tbody>
            {queue.rows.map((r) => {
              const late = breaches(r, now)
              return (
                <tr key={r.id} class={late.firstResponse || late.resolution ? 'late' : undefined}>
                  <td data-label={t('agent.ticket.reference')}><a href={`/${locale}/agent/tickets/${r.reference}`}>{r.reference}</a><br /><span class="hint">{r.marketCode}</span></td>
                  <td data-label={t('support.new.subject')}>{r.urgency === 'urgent' ? <strong class="urgent-tag">{t('agent.urgency.urgent')} </strong> : null}{r.subject}<br /><span class="hint">{topicTitle.get(r.topic) ?? r.topic} · {r.requesterName}</span>{r.requesterAwaitingApproval ? <><br /><strong class="unapproved-tag">{t('agent.ticket.awaitingApproval')}</strong></> : null}</td>
                  <td data-label={t('agent.queue.state')}>{t(`agent.states.${r.state}`)}</td>
                  <td data-label={t('agent.queue.age')}>{age(locale, r.createdAt, now)}</td>
                  <td data-label={t('agent.sla.firstResponse')}>{r.firstRespondedAt ? when(locale, r.firstRespondedAt) : <Due ctx={ctx} due={r.firstResponseDue} late={late.firstResponse} />}</td>
                  <td data-label={t('agent.sla.resolution')}>{r.solvedAt ? when(locale, r.solvedAt) : <Due ctx={ctx} due={r.resolutionDue} late={late.resolution} />}</td>
                  <td data-label={t('agent.ticket.assignee')}>{r.assigneeName ?? '—'}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
      )}
      {queue.page > 1 || queue.page * queue.pageSize < queue.total ? (
        <nav aria-label={t('admin.pages')}>
          <ul class="inline-list">
            {queue.page > 1 ? <li><a href={link(queue.page - 1)} rel="prev">{t('admin.previous')}</a></li> : null}
            {queue.page * queue.pageSize < queue.total ? <li><a href={link(queue.page + 1)} rel="next">{t('admin.next')}</a></li> : null}
          </ul>
        </nav>
      ) : null}
    </DeskPage>
  )
}

const identityFields = ['userId', 'firstName', 'lastName', 'email', 'companyName', 'companyAddress'] as const

type IdentityPanel = NonNullable<TicketView['identityPanel']>

/**
 * What the requester gave beside the account's record, field by field, with the identity module's
 * own comparison: said in words and marked by a symbol, not by colour alone. A preview, not recorded.
 */
function IdentityTable({ ctx, claims, preview }: { ctx: PageContext; claims: IdentityPanel['claims']; preview: IdentityPanel['preview'] }) {
  const { t, locale } = ctx
  const differing = preview ? identityFields.filter((f) => !preview.fields[f]) : []
  return (
    <>
      <table class="identity-compare">
        <caption class="visually-hidden">{t(preview ? 'agent.identity.compareCaption' : 'agent.identity.claims')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('agent.identity.field')}</th><th scope="col">{t('agent.identity.given')}</th>
            {preview ? <><th scope="col">{t('agent.identity.onAccount')}</th><th scope="col">{t('agent.identity.result')}</th></> : null}
          </tr>
        </thead>
        <tbody>
          {identityFields.map((f) => (
            <tr key={f} class={preview && !preview.fields[f] ? 'differs' : undefined}>
              <th scope="row">{t(`admin.check.fields.${f}`)}</th>
              <td data-label={t('agent.identity.given')}>{claims[f]}</td>
              {preview ? (
                <>
                  <td data-label={t('agent.identity.onAccount')}>{preview.record[f] || '—'}</td>
                  <td data-label={t('agent.identity.result')}>{preview.fields[f]
                    ? <span class="field-match"><span aria-hidden="true">✓ </span>{t('admin.check.matches')}</span>
                    : <strong class="field-differs"><span aria-hidden="true">✗ </span>{t('admin.check.differs')}</strong>}
                  </td>
                </>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      {preview ? (
        <p class={preview.passed ? 'notice' : 'notice urgent'} id="identity-preview">
          {t(preview.passed ? 'agent.identity.previewPasses' : 'agent.identity.previewFails')}
          {differing.length > 0 ? ` ${t('agent.identity.differing', { fields: formatList(locale, differing.map((f) => t(`admin.check.fields.${f}`))) })}` : ''}
          {' '}{t('agent.identity.previewNote')}
        </p>
      ) : null}
    </>
  )
}

export function AgentTicketPage({ ctx, view, topicTitle, csrfToken, now, notice, error, draft }: {
  ctx: PageContext; view: TicketView; topicTitle: string; csrfToken: string; now: Date; notice?: string | undefined; error?: string | undefined
  /** The text of a reply or note that was refused, shown again in its box. */
  draft?: { form: 'reply' | 'note'; text: string } | undefined
}): VNode {
  const { t, locale } = ctx
  const { ticket, messages, attachments, market, identityPanel, allowedStates } = view
  const base = `/${locale}/agent/tickets/${ticket.reference}`
  const late = breaches(ticket, now)
  const closed = ticket.state === 'closed'
  const Csrf = () => <input type="hidden" name="_csrf" value={csrfToken} />
  return (
    <DeskPage ctx={ctx} title={`${ticket.reference}: ${ticket.subject}`} notice={notice} error={error}>
      <div class="desk-ticket">
        <div class="desk-main">
          <dl class="facts">
            <dt>{t('agent.queue.state')}</dt><dd>{t(`agent.states.${ticket.state}`)}</dd>
            <dt>{t('support.new.topic')}</dt><dd>{topicTitle}</dd>
            <dt>{t('agent.queue.urgency')}</dt><dd>{t(`agent.urgency.${ticket.urgency}`)}</dd>
            <dt>{t('partners.market')}</dt><dd>{market?.names[locale] ?? market?.code ?? '—'}</dd>
            <dt>{t('agent.ticket.requester')}</dt><dd>{ticket.requesterName} · {ticket.requesterEmail}<br />{ticket.companyName}, {ticket.companyAddress}{ticket.requesterUserId === null ? ` (${t('agent.ticket.guest')})` : ''}{view.requesterAwaitingApproval ? <><br /><strong class="unapproved-tag">{t('agent.ticket.awaitingApproval')}</strong></> : null}</dd>
            <dt>{t('agent.ticket.opened')}</dt><dd>{when(locale, ticket.createdAt)}</dd>
            <dt>{t('agent.sla.firstResponse')}</dt><dd>{ticket.firstRespondedAt ? when(locale, ticket.firstRespondedAt) : <Due ctx={ctx} due={ticket.firstResponseDue} late={late.firstResponse} />}</dd>
            <dt>{t('agent.sla.resolution')}</dt><dd>{ticket.solvedAt ? when(locale, ticket.solvedAt) : <Due ctx={ctx} due={ticket.resolutionDue} late={late.resolution} />}</dd>
            <dt>{t('agent.ticket.assignee')}</dt><dd>{view.assigneeName ?? '—'}</dd>
            {ticket.articleKey ? <><dt>{t('agent.ticket.fromArticle')}</dt><dd>{ticket.articleKey}{ticket.branch ? ` › ${ticket.branch}` : ''}</dd></> : null}
          </dl>
          {!closed ? (
            <form class="inline-form" method="post" action={`${base}/assign`}>
              <Csrf />
              <button type="submit" class="secondary">{t('agent.ticket.assignMe')}</button>
            </form>
          ) : null}
          <h2>{t('agent.ticket.conversation')}</h2>
          <ol class="messages">
            {messages.map((m) => (
              <li key={m.id} class={`message ${m.authorType}${m.internal ? ' internal' : ''}`}>
                <p class="hint">
                  {m.internal ? <strong>{t('agent.ticket.internal')} · </strong> : null}
                  {m.authorType === 'requester' ? ticket.requesterName : m.authorType === 'agent' ? (m.authorName ?? t('support.authors.agent')) : t('support.authors.system')} · {when(locale, m.createdAt)}
                </p>
                <MessageBody text={messageText(t, m, locale)} />
                <MessageFiles ctx={ctx} attachments={attachments.filter((a) => a.messageId === m.id)} base={base} />
              </li>
            ))}
          </ol>
          <AttachmentList ctx={ctx} attachments={looseFiles(attachments, messages)} base={base} />
          {closed ? <p>{t('errors.TICKET_CLOSED')}</p> : (
            <>
              <form class="stack-form" method="post" action={`${base}/reply`} enctype="multipart/form-data">
                <Csrf />
                <h2><label for="reply">{t('agent.ticket.reply')}</label></h2>
                <p class="hint" id="reply-hint">{t('agent.ticket.replyHint')}</p>
                <textarea id="reply" name="message" rows={6} maxLength={10000} required aria-describedby="reply-hint">{draft?.form === 'reply' ? draft.text : ''}</textarea>
                <FileInput ctx={ctx} id="reply-attachments" />
                <label for="reply-state">{t('agent.ticket.then')}</label>
                <select id="reply-state" name="state">
                  {(['waiting_on_requester', 'open', 'solved'] as const).filter((s) => s === ticket.state || allowedStates.includes(s)).map((s) => (
                    <option key={s} value={s} selected={s === 'waiting_on_requester'}>{t(`agent.states.${s}`)}</option>
                  ))}
                </select>
                <button type="submit">{t('agent.ticket.send')}</button>
              </form>
              <form class="stack-form" method="post" action={`${base}/note`} enctype="multipart/form-data">
                <Csrf />
                <h2><label for="note">{t('agent.ticket.note')}</label></h2>
                <p class="hint" id="note-hint">{t('agent.ticket.noteHint')}</p>
                <textarea id="note" name="message" rows={3} maxLength={10000} required aria-describedby="note-hint">{draft?.form === 'note' ? draft.text : ''}</textarea>
                <FileInput ctx={ctx} id="note-attachments" />
                <button type="submit" class="secondary">{t('agent.ticket.addNote')}</button>
              </form>
              <form class="inline-form" method="post" action={`${base}/state`}>
                <Csrf />
                <label for="state">{t('agent.ticket.changeState')}</label>
                <select id="state" name="state">
                  {allowedStates.map((s) => <option key={s} value={s}>{t(`agent.states.${s}`)}</option>)}
                </select>
                <button type="submit" class="secondary">{t('agent.ticket.setState')}</button>
              </form>
            </>
          )}
        </div>
        {identityPanel ? (
          <aside class="card desk-identity" aria-labelledby="identity-panel">
            <h2 id="identity-panel">{t('admin.check.title')}</h2>
            <p class="hint">{t('agent.identity.lead')}</p>
            <IdentityTable ctx={ctx} claims={identityPanel.claims} preview={identityPanel.preview} />
            {identityPanel.account ? (
              <>
                <p>
                  {t('agent.identity.account', { userId: identityPanel.account.userId, name: `${identityPanel.account.firstName} ${identityPanel.account.lastName}` })}{' '}
                  · {t(`account.statuses.${identityPanel.account.status}`)}
                  {identityPanel.account.lockedUntil && identityPanel.account.lockedUntil > now ? ` · ${t('admin.users.locked')}` : ''}
                </p>
                <p><a href={`/${locale}/admin/users/${String(identityPanel.account.id)}`}>{t('agent.identity.record')}</a></p>
                {!closed && (identityPanel.account.mayRestore || identityPanel.account.mayReset || identityPanel.account.mayResetFactors) ? (
                  <>
                    {identityPanel.account.mayRestore ? (
                      <form class="inline-form" method="post" action={`${base}/identity`}>
                        <Csrf />
                        <input type="hidden" name="action" value="restore" />
                        <button type="submit">{t('agent.identity.restore')}</button>
                      </form>
                    ) : null}
                    {identityPanel.account.mayReset ? (
                      <form class="inline-form" method="post" action={`${base}/identity`}>
                        <Csrf />
                        <input type="hidden" name="action" value="reset" />
                        <button type="submit" class="secondary">{t('agent.identity.reset')}</button>
                      </form>
                    ) : null}
                    {identityPanel.account.mayResetFactors ? (
                      <form class="inline-form" method="post" action={`${base}/identity`}>
                        <Csrf />
                        <input type="hidden" name="action" value="factors" />
                        <button type="submit" class="secondary">{t('agent.identity.resetFactors')}</button>
                      </form>
                    ) : null}
                    <p class="hint">{t('agent.identity.oneClick')}</p>
                  </>
                ) : !closed ? <p class="hint">{t('agent.identity.nothingToDo')}</p> : null}
              </>
            ) : <p>{t('agent.identity.noAccount', { userId: identityPanel.claims.userId })}</p>}
          </aside>
        ) : null}
      </div>
    </DeskPage>
  )
}

export function DeskReportPage({ ctx, report, charts, articleTitle, branchTitle }: {
  ctx: PageContext; report: Report; charts: ChartData[]; articleTitle: (key: string) => string; branchTitle: (branch: string) => string
}): VNode {
  const { t, locale } = ctx
  return (
    <DeskPage ctx={ctx} title={t('agent.report.title')}>
      <p class="lead">{t('agent.report.lead', { days: report.days })}</p>
      <ReportPeriods ctx={ctx} days={report.days} path={`/${locale}/agent/report`} />
      <ReportCharts ctx={ctx} charts={charts} csvBase={`/${locale}/agent/report/charts/`} days={report.days} />
      <h2 id="from-articles">{t('agent.report.fromArticles')}</h2>
      {report.fromArticles.length === 0 ? <p>{t('agent.report.none')}</p> : (
        <div class="table-scroll" role="region" aria-labelledby="from-articles" tabIndex={0}>
          <table aria-labelledby="from-articles">
            <thead><tr><th scope="col">{t('agent.report.article')}</th><th scope="col">{t('agent.report.branch')}</th><th scope="col">{t('agent.report.tickets')}</th></tr></thead>
            <tbody>{report.fromArticles.map((r) => <tr key={`${r.articleKey}/${r.branch ?? ''}`}><td>{articleTitle(r.articleKey)}</td><td>{r.branch ? branchTitle(r.branch) : '—'}</td><td class="number">{new Intl.NumberFormat(locale).format(r.tickets)}</td></tr>)}</tbody>
          </table>
        </div>
      )}
    </DeskPage>
  )
}
