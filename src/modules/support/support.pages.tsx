import type { VNode } from 'preact'
import { formatBusinessHours } from '../../shared/layout/hours.js'
import { Page, type PageContext } from '../../shared/layout/Page.js'
import { FilePicker } from '../../shared/layout/FilePicker.js'
import { PartnerContact, type MarketRow, type PartnerListing } from '../organizations/index.js'
import type { AttachmentInfo, MessageRow, TicketRow } from './support.repo.js'
import { formatList, inSentence, tn, type Translate } from '../../shared/i18n/index.js'
import { MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS } from './attachments.js'
import type { WaitEstimate } from './wait-estimate.js'

/** What the form shows again after an error, and what a help article's link fills in. */
export interface TicketFormValues {
  topic?: string | undefined
  subject?: string | undefined
  description?: string | undefined
  urgency?: string | undefined
  name?: string | undefined
  firstName?: string | undefined
  lastName?: string | undefined
  email?: string | undefined
  companyName?: string | undefined
  companyAddress?: string | undefined
  marketCode?: string | undefined
  article?: string | undefined
  branch?: string | undefined
  identity?: Partial<Record<'userId' | 'firstName' | 'lastName' | 'email' | 'companyName' | 'companyAddress', string>> | undefined
}

function Input({ id, name, label, value, type = 'text', max, required = false, autocomplete, hint, invalid }: {
  id: string; name: string; label: string; value?: string | undefined; type?: 'text' | 'email'; max: number; required?: boolean; autocomplete?: string; hint?: string
  /** The id of the input the form's error is about: that input is marked and points at the message. */
  invalid?: string | undefined
}) {
  const wrong = invalid === id
  const describedBy = [hint ? `${id}-hint` : '', wrong ? 'form-error' : ''].filter(Boolean).join(' ') || undefined
  return (
    <>
      <label for={id}>{label}</label>
      {type === 'email'
        ? <input id={id} name={name} type="email" value={value ?? ''} maxLength={max} required={required} autocomplete={autocomplete} aria-describedby={describedBy} aria-invalid={wrong ? 'true' : undefined} />
        : <input id={id} name={name} type="text" value={value ?? ''} maxLength={max} required={required} autocomplete={autocomplete} aria-describedby={describedBy} aria-invalid={wrong ? 'true' : undefined} />}
      {hint ? <p id={`${id}-hint`} class="hint">{hint}</p> : null}
    </>
  )
}

export function WaitText({ ctx, estimate }: { ctx: PageContext; estimate: WaitEstimate }) {
  const { locale } = ctx
  if (estimate.kind === 'unknown') return <p>{tn(locale, 'support.wait.unknown', estimate.ahead)}</p>
  return <p>{tn(locale, 'support.wait.range', estimate.ahead, { low: estimate.low, high: estimate.high })}</p>
}

/**
 * A message the portal wrote (JSON of a text key and values), or an agent's or requester's own words.
 * `fields` holds identity-check field codes ("companyAddress, email"): the reader sees their labels.
 */
export function messageText(t: Translate, m: Pick<MessageRow, 'authorType' | 'body'>, locale: string): string {
  if (m.authorType !== 'system') return m.body
  try {
    const parsed = JSON.parse(m.body) as { key?: unknown; params?: unknown }
    if (typeof parsed.key === 'string' && parsed.key.startsWith('support.system.')) {
      const params = { ...(parsed.params ?? {}) } as Record<string, string | number>
      if (typeof params.fields === 'string') {
        params.fields = formatList(locale, params.fields.split(',').map((f) => f.trim()).filter(Boolean).map((f) => inSentence(locale, t(`admin.check.fields.${f}`))))
      }
      return t(parsed.key, params)
    }
  } catch {
    // An older plain-text system message: shown as it is.
  }
  return m.body
}

export function MessageBody({ text }: { text: string }) {
  return <div class="message-body">{text.split('\n').map((line, i) => <p key={i}>{line}</p>)}</div>
}

export function formatSize(locale: string, bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(bytes / 1024 / 1024)} MB`
    : `${new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }).format(Math.max(1, bytes / 1024))} KB`
}

export function AttachmentList({ ctx, attachments, base }: { ctx: PageContext; attachments: AttachmentInfo[]; base: string }) {
  if (attachments.length === 0) return null
  return (
    <section aria-labelledby="attachments-title">
      <h2 id="attachments-title">{ctx.t('support.attachments.title')}</h2>
      <ul class="attachments">
        {attachments.map((a) => <li key={a.id}><a href={`${base}/attachments/${String(a.id)}`} download={a.fileName}>{a.fileName}</a> ({formatSize(ctx.locale, a.size)})</li>)}
      </ul>
    </section>
  )
}

/** The files sent with one message, under it. */
export function MessageFiles({ ctx, attachments, base }: { ctx: PageContext; attachments: AttachmentInfo[]; base: string }) {
  if (attachments.length === 0) return null
  return (
    <ul class="attachments" aria-label={ctx.t('support.attachments.title')}>
      {attachments.map((a) => <li key={a.id}><a href={`${base}/attachments/${String(a.id)}`} download={a.fileName}>{a.fileName}</a> ({formatSize(ctx.locale, a.size)})</li>)}
    </ul>
  )
}

/** Files belonging to none of the listed messages (kept apart so that none is lost from view). */
export function looseFiles(attachments: AttachmentInfo[], messages: { id: number }[]): AttachmentInfo[] {
  const ids = new Set(messages.map((m) => m.id))
  return attachments.filter((a) => a.messageId === null || !ids.has(a.messageId))
}

/** A file input for a message, with the same limits as the ticket form. */
export function FileInput({ ctx, id }: { ctx: PageContext; id: string }) {
  const { t } = ctx
  return (
    <>
      <label for={id}>{t('support.attachments.label')}</label>
      <FilePicker ctx={ctx} id={id} name="attachments" multiple accept="image/png,image/jpeg,image/webp,application/pdf" describedBy={`${id}-hint`} />
      <p id={`${id}-hint`} class="hint">{t('support.attachments.hint', { max: MAX_ATTACHMENTS, size: MAX_ATTACHMENT_BYTES / 1024 / 1024 })}</p>
    </>
  )
}

function MarketSelect({ ctx, markets, value }: { ctx: PageContext; markets: MarketRow[]; value: string | undefined }) {
  return (
    <>
      <label for="marketCode">{ctx.t('partners.market')}</label>
      <select id="marketCode" name="marketCode">
        {markets.map((m) => <option key={m.code} value={m.code} selected={m.code === value}>{m.names[ctx.locale] ?? m.code}</option>)}
      </select>
    </>
  )
}

export function TicketFormPage({ ctx, csrfToken, topics, markets, values, signedIn, account, needsMarket = false, partner, estimates, error, invalid, script }: {
  ctx: PageContext; csrfToken: string; topics: { key: string; title: string }[]; markets: MarketRow[]; values: TicketFormValues
  signedIn: boolean; needsMarket?: boolean; partner: PartnerListing | null
  /** The signed-in person's own details when complete: shown instead of asked. */
  account?: Record<'userId' | 'firstName' | 'lastName' | 'email' | 'companyName' | 'companyAddress', string> | null | undefined; estimates: Record<string, WaitEstimate>; error?: string | undefined
  /** The id of the field the error is about. */
  invalid?: string | undefined
  script?: string | undefined
}): VNode {
  const { t, locale } = ctx
  const idv = values.identity ?? {}
  return (
    <Page ctx={ctx} title={t('support.new.title')}>
      <h1>{t('support.new.title')}</h1>
      <p class="lead">{t('support.new.lead')}</p>
      <div class="notice urgent">
        <h2>{t('support.interim.urgentTitle')}</h2>
        {ctx.awaitingApproval ? <p>{t('support.new.urgentAfterApproval')}</p> : partner ? (
          <>
            <p>{t('support.new.urgentPartner', { name: partner.name })}</p>
            <PartnerContact ctx={ctx} partner={partner} />
          </>
        ) : <p>{signedIn ? t('support.new.urgentNoPartner') : t('support.interim.urgentText')} <a href={`/${locale}/partners`}>{t('support.new.findPartner')}</a></p>}
      </div>
      {error ? <p class="error-message" role="alert" id="form-error">{invalid ? <a href={`#${invalid}`}>{error}</a> : error}</p> : null}
      <form class="stack-form" method="post" action={`/${locale}/support/new`} enctype="multipart/form-data" aria-describedby={error ? 'form-error' : undefined} data-deflect="" data-locale={locale}>
        <input type="hidden" name="_csrf" value={csrfToken} />
        <input type="hidden" name="deflection" value="" />
        {values.article ? <input type="hidden" name="article" value={values.article} /> : null}
        {values.branch ? <input type="hidden" name="branch" value={values.branch} /> : null}
        <div class="trap" aria-hidden="true">
          <label for="website">{t('support.new.trap')}</label>
          <input id="website" name="website" type="text" tabIndex={-1} autocomplete="off" />
        </div>
        <label for="topic">{t('support.new.topic')}</label>
        <select id="topic" name="topic" required>
          {topics.map((c) => <option key={c.key} value={c.key} selected={c.key === values.topic}>{c.title}</option>)}
        </select>
        <Input id="subject" name="subject" label={t('support.new.subject')} value={values.subject} max={200} required autocomplete="off" hint={t('support.new.subjectHint')} invalid={invalid} />
        <section id="deflect" class="notice deflect" aria-live="polite" aria-labelledby="deflect-title" hidden>
          <h2 id="deflect-title">{t('support.deflect.title')}</h2>
          <ul />
        </section>
        <label for="description">{t('support.new.description')}</label>
        <textarea id="description" name="description" rows={8} maxLength={10000} required aria-describedby={invalid === 'description' ? 'description-hint form-error' : 'description-hint'} aria-invalid={invalid === 'description' ? 'true' : undefined}>{values.description ?? ''}</textarea>
        <p id="description-hint" class="hint">{t('support.new.descriptionHint')}</p>
        <label for="attachments">{t('support.attachments.label')}</label>
        <FilePicker ctx={ctx} id="attachments" name="attachments" multiple accept="image/png,image/jpeg,image/webp,application/pdf" describedBy="attachments-hint" />
        <p id="attachments-hint" class="hint">{t('support.attachments.hint', { max: MAX_ATTACHMENTS, size: MAX_ATTACHMENT_BYTES / 1024 / 1024 })}</p>
        {ctx.awaitingApproval ? null : (
          <fieldset>
            <legend>{t('support.new.urgency')}</legend>
            <span class="choice"><input type="radio" id="urgency-normal" name="urgency" value="normal" checked={values.urgency !== 'urgent'} /><label for="urgency-normal">{t('support.new.normal')}</label></span>
            <span class="choice"><input type="radio" id="urgency-urgent" name="urgency" value="urgent" checked={values.urgency === 'urgent'} /><label for="urgency-urgent">{t('support.new.urgent')}</label></span>
          </fieldset>
        )}
        {signedIn && account ? (
          // Signed in with a complete profile: the account is the identity, shown once and not asked again.
          <section class="card" aria-labelledby="from-account">
            <h2 id="from-account">{t('support.new.identity')}</h2>
            <p class="hint">{t('support.new.fromAccount')}</p>
            <dl>
              <dt>{t('admin.check.fields.userId')}</dt><dd>{account.userId}</dd>
              <dt>{t('support.new.accountName')}</dt><dd>{`${account.firstName} ${account.lastName}`}</dd>
              <dt>{t('admin.check.fields.email')}</dt><dd>{account.email}</dd>
              <dt>{t('admin.check.fields.companyName')}</dt><dd>{account.companyName}</dd>
              <dt>{t('admin.check.fields.companyAddress')}</dt><dd>{account.companyAddress}</dd>
            </dl>
            {needsMarket ? <MarketSelect ctx={ctx} markets={markets} value={values.marketCode} /> : null}
          </section>
        ) : signedIn ? (
          <>
            <p class="hint">{t('support.new.fromAccount')}</p>
            {needsMarket ? <MarketSelect ctx={ctx} markets={markets} value={values.marketCode} /> : null}
            <fieldset>
              <legend>{t('support.new.identity')}</legend>
              <p class="hint">{t('support.new.identityHint')}</p>
              <Input id="identity-userId" name="identity.userId" label={t('admin.check.fields.userId')} value={idv.userId} max={256} autocomplete="username" invalid={invalid} />
              <Input id="identity-firstName" name="identity.firstName" label={t('admin.check.fields.firstName')} value={idv.firstName} max={100} autocomplete="given-name" invalid={invalid} />
              <Input id="identity-lastName" name="identity.lastName" label={t('admin.check.fields.lastName')} value={idv.lastName} max={100} autocomplete="family-name" invalid={invalid} />
              <Input id="identity-email" name="identity.email" label={t('admin.check.fields.email')} value={idv.email} max={256} invalid={invalid} />
              <Input id="identity-companyName" name="identity.companyName" label={t('admin.check.fields.companyName')} value={idv.companyName} max={200} invalid={invalid} />
              <Input id="identity-companyAddress" name="identity.companyAddress" label={t('admin.check.fields.companyAddress')} value={idv.companyAddress} max={400} invalid={invalid} />
            </fieldset>
          </>
        ) : (
          // A guest gives who they are once: the same details reach the team and, for sign-in and
          // account topics, the market administrator's identity check.
          <fieldset>
            <legend>{t('support.new.aboutYou')}</legend>
            <p class="hint">{t('support.new.aboutYouHint')}</p>
            <Input id="identity-userId" name="identity.userId" label={t('admin.check.fields.userId')} value={idv.userId} max={256} autocomplete="username" hint={t('support.new.userIdHint')} invalid={invalid} />
            <Input id="firstName" name="firstName" label={t('register.firstName')} value={values.firstName ?? idv.firstName} max={100} required autocomplete="given-name" invalid={invalid} />
            <Input id="lastName" name="lastName" label={t('register.lastName')} value={values.lastName ?? idv.lastName} max={100} required autocomplete="family-name" invalid={invalid} />
            <Input id="email" name="email" type="email" label={t('register.email')} value={values.email ?? idv.email} max={256} required autocomplete="email" hint={t('support.new.emailHint')} invalid={invalid} />
            <Input id="companyName" name="companyName" label={t('admin.check.fields.companyName')} value={values.companyName ?? idv.companyName} max={200} required autocomplete="organization" invalid={invalid} />
            <Input id="companyAddress" name="companyAddress" label={t('admin.check.fields.companyAddress')} value={values.companyAddress ?? idv.companyAddress} max={400} required autocomplete="street-address" invalid={invalid} />
            <MarketSelect ctx={ctx} markets={markets} value={values.marketCode} />
          </fieldset>
        )}
        <button type="submit">{t('support.new.submit')}</button>
      </form>
      <section aria-labelledby="waits">
        <h2 id="waits">{t('support.wait.title')}</h2>
        <ul>
          {markets.map((m) => {
            const estimate = estimates[m.code]
            return estimate ? <li key={m.code}><strong>{m.names[locale] ?? m.code}:</strong> <WaitText ctx={ctx} estimate={estimate} /></li> : null
          })}
        </ul>
      </section>
      {script ? <script src={script} defer /> : null}
    </Page>
  )
}

/** The start of an answer, cut between words. */
function excerpt(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  if (flat.length <= max) return flat
  const cut = flat.slice(0, max)
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), max / 2))}…`
}

/** "My requests": the signed-in person's tickets, their state and the team's last answer, each linked. */
export function MyRequestsPage({ ctx, tickets }: { ctx: PageContext; tickets: (TicketRow & { lastAnswer: { body: string; at: Date } | null })[] }): VNode {
  const { t, locale } = ctx
  const when = (d: Date) => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(d)
  return (
    <Page ctx={ctx} title={t('support.mine.title')}>
      <h1>{t('support.mine.title')}</h1>
      <p class="lead">{t('support.mine.lead')}</p>
      {tickets.length === 0 ? <p>{t('support.mine.none')}</p> : (
        <ul class="request-list">
          {tickets.map((ticket) => (
            <li key={ticket.id} class="card">
              <h2><a href={`/${locale}/support/tickets/${ticket.reference}`}>{ticket.subject}</a></h2>
              <p class="hint">{ticket.reference} · <strong>{t(`support.states.${ticket.state}`)}</strong> · {t('support.mine.opened', { date: when(ticket.createdAt) })}</p>
              {ticket.lastAnswer
                ? <p>{t('support.mine.lastAnswer', { date: when(ticket.lastAnswer.at) })} <q>{excerpt(ticket.lastAnswer.body)}</q></p>
                : <p>{t('support.mine.noAnswer')}</p>}
            </li>
          ))}
        </ul>
      )}
      <p><a class="button" href={`/${locale}/support/new`}>{t('support.mine.new')}</a></p>
    </Page>
  )
}

/** Shown when the honeypot was filled: the same words as a success, nothing created. */
export function TicketReceivedPage({ ctx, reference, estimate, partner, market, email, urgent, followUrl }: {
  ctx: PageContext; reference: string | null; estimate: WaitEstimate | null; partner: PartnerListing | null; market: MarketRow | null; email: string; urgent: boolean; followUrl: string | null
}): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('support.received.title')}>
      <h1>{t('support.received.title')}</h1>
      <div class="notice" role="status">
        {reference ? <p>{t('support.received.reference', { reference })}</p> : null}
        <p>{t('support.received.email', { email })}</p>
      </div>
      {estimate && market ? (
        <>
          <h2>{t('support.wait.title')}</h2>
          <WaitText ctx={ctx} estimate={estimate} />
          <p class="hint">{t('support.received.hours', { hours: formatBusinessHours(locale, market.businessHours).join(', ') })}</p>
        </>
      ) : null}
      {urgent ? (
        <div class="notice urgent">
          <h2>{t('support.interim.urgentTitle')}</h2>
          {partner ? <><p>{t('support.new.urgentPartner', { name: partner.name })}</p><PartnerContact ctx={ctx} partner={partner} /></> : <p>{t('support.interim.urgentText')} <a href={`/${locale}/partners`}>{t('support.new.findPartner')}</a></p>}
        </div>
      ) : null}
      {followUrl ? <p><a class="button" href={followUrl}>{t('support.received.follow')}</a></p> : null}
    </Page>
  )
}

export function TicketPage({ ctx, ticket, messages, attachments, csrfToken, error, notice, draft }: {
  ctx: PageContext; ticket: TicketRow; messages: MessageRow[]; attachments: AttachmentInfo[]; csrfToken: string; error?: string | undefined; notice?: string | undefined
  /** The text of an answer that was refused, shown again. */
  draft?: string | undefined
}): VNode {
  const { t, locale } = ctx
  const when = (d: Date) => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(d)
  const base = `/${locale}/support/tickets/${ticket.reference}`
  return (
    <Page ctx={ctx} title={`${ticket.reference}: ${ticket.subject}`}>
      <h1>{ticket.subject}</h1>
      <p class="lead">{ticket.reference} · {t(`support.states.${ticket.state}`)}</p>
      {notice ? <p class="notice" role="status">{notice}</p> : null}
      {error ? <p class="error-message" role="alert" id="form-error">{error}</p> : null}
      <ol class="messages">
        {messages.map((m) => (
          <li key={m.id} class={`message ${m.authorType}`}>
            <p class="hint">{t(`support.authors.${m.authorType}`)} · {when(m.createdAt)}</p>
            <MessageBody text={messageText(t, m, locale)} />
            <MessageFiles ctx={ctx} attachments={attachments.filter((a) => a.messageId === m.id)} base={base} />
          </li>
        ))}
      </ol>
      <AttachmentList ctx={ctx} attachments={looseFiles(attachments, messages)} base={base} />
      {ticket.state === 'closed' ? <p>{t('errors.TICKET_CLOSED')}</p> : (
        <form class="stack-form" method="post" action={`${base}/reply`} enctype="multipart/form-data" aria-describedby={error ? 'form-error' : undefined}>
          <input type="hidden" name="_csrf" value={csrfToken} />
          <label for="message">{t('support.ticket.reply')}</label>
          <textarea id="message" name="message" rows={6} maxLength={10000} required>{draft ?? ''}</textarea>
          <FileInput ctx={ctx} id="reply-attachments" />
          <button type="submit">{t('support.ticket.send')}</button>
        </form>
      )}
    </Page>
  )
}
