import type { VNode } from 'preact'
import { formatDate } from '../../shared/i18n/index.js'
import { Page, type PageContext } from '../../shared/layout/Page.js'
import type { AccountService } from './account.service.js'
import { Field, FormError, NewPasswordFields } from './identity.pages.js'
import { deviceName } from './device-name.js'
import { PartnerReminders, type PartnerReminder } from '../organizations/index.js'
import { localeName, locales } from '../../shared/i18n/index.js'

type Overview = Awaited<ReturnType<AccountService['overview']>>

function dateTime(locale: string, date: Date): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date)
}

export function AccountPage({ ctx, data, reminders = [], csrfToken, notice, error }: {
  ctx: PageContext; data: Overview; reminders?: PartnerReminder[]; csrfToken: string; notice?: string | undefined; error?: string | undefined
}): VNode {
  const { t, locale } = ctx
  const { user, company, lifecycle } = data
  const shop = user.realm === 'shop'
  const prefix = shop ? `/${locale}/shop` : `/${locale}`
  const title = t(shop ? 'account.shop.title' : 'account.title')
  return (
    <Page ctx={ctx} title={title} headerSearch={false}>
      <h1>{title}</h1>
      {shop ? <p class="lead">{t('account.shop.lead')}</p> : null}
      {notice ? <p class="notice" role="status">{notice}</p> : null}
      {error ? <p class="error-message" role="alert" id="form-error">{error}</p> : null}
      <PartnerReminders ctx={ctx} reminders={reminders} />
      {data.administers ? <p><a class="button" href={`/${locale}/admin`}>{t('account.administration')}</a></p> : null}
      {data.supportAgent ? <p><a class="button" href={`/${locale}/agent/tickets`}>{t('account.agentConsole')}</a></p> : null}

      <section aria-labelledby="profile-title" class="card">
        <h2 id="profile-title">{t('account.profile')}</h2>
        <dl>
          <dt>{t('account.userId')}</dt><dd>{user.userId}</dd>
          <dt>{t('account.name')}</dt><dd>{user.firstName} {user.lastName}</dd>
          <dt>{t('account.email')}</dt>
          <dd>{user.email ?? '—'} {user.email ? (user.emailVerifiedAt ? `(${t('account.verified')})` : `(${t('account.notVerified')})`) : null} <a href={`/${locale}/account/email`}>{t('account.changeEmail')}</a></dd>
          <dt>{t('account.company')}</dt><dd>{company ? `${company.name}, ${company.street}, ${company.postalCode} ${company.city}` : '—'}</dd>
          <dt>{t('account.status')}</dt><dd>{t(`account.statuses.${user.status}`)}</dd>
        </dl>
        {data.approver ? <p class="notice">{t(`account.approval.${data.approver.kind}`)}</p> : null}
        <details>
          <summary>{t('account.editProfile')}</summary>
          <form class="stack-form" method="post" action={`${prefix}/account/profile`}>
            <input type="hidden" name="_csrf" value={csrfToken} />
            <Field id="firstName" label={t('register.firstName')} value={user.firstName} autocomplete="given-name" maxLength={100} />
            <Field id="lastName" label={t('register.lastName')} value={user.lastName} autocomplete="family-name" maxLength={100} />
            <label for="profile-locale">{t('account.language')}</label>
            <select id="profile-locale" name="locale">
              {locales.map((l) => <option key={l} value={l} lang={l} selected={l === user.locale}>{localeName(l)}</option>)}
            </select>
            <button type="submit">{t('account.saveProfile')}</button>
          </form>
        </details>
      </section>

      <section aria-labelledby="second-factor-title" class="card">
        <h2 id="second-factor-title">{t('account.secondFactor')}</h2>
        <p>{t('account.secondFactorLead')}</p>
        <p><a href={`/${locale}/account/second-factor`}>{t('account.secondFactorLink')}</a></p>
      </section>

      <section aria-labelledby="activity-title" class="card">
        <h2 id="activity-title">{t('account.activity')}</h2>
        <p>{t(shop ? 'account.shop.lastActivity' : 'account.lastActivity', { date: formatDate(locale, lifecycle.lastActivity) })}</p>
        {lifecycle.warnAt && lifecycle.blockAt ? (
          <p>{t('account.lifecycle', { warn: formatDate(locale, lifecycle.warnAt), block: formatDate(locale, lifecycle.blockAt) })}</p>
        ) : null}
      </section>

      <section aria-labelledby="apps-title" class="card">
        <h2 id="apps-title">{t('account.apps')}</h2>
        <ul>
          {data.realms.map((r) => (
            <li key={`${r.realm}/${r.userId}`}>
              <strong>{t(`account.realms.${r.realm}`)}</strong> ({r.userId}): {r.apps.join(', ')}
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="sessions-title" class="card">
        <h2 id="sessions-title">{t('account.sessions')}</h2>
        <table>
          <caption class="visually-hidden">{t('account.sessions')}</caption>
          <thead><tr><th scope="col">{t('account.device')}</th><th scope="col">{t('account.lastSeen')}</th><th scope="col"><span class="visually-hidden">{t('account.actions')}</span></th></tr></thead>
          <tbody>
            {data.sessions.map((s) => (
              <tr key={s.ref}>
                <td>{deviceName(t, s.userAgent)}{s.ip ? ` · ${s.ip}` : ''}{s.current ? ` · ${t('account.thisDevice')}` : ''}</td>
                <td>{dateTime(locale, s.lastSeenAt)}</td>
                <td>
                  {s.current ? null : (
                    <form method="post" action={`${prefix}/account/sessions/revoke`}>
                      <input type="hidden" name="_csrf" value={csrfToken} />
                      <input type="hidden" name="session" value={s.ref} />
                      <button type="submit">{t('account.revoke')}</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form method="post" action={`${prefix}/account/sessions/revoke-others`}>
          <input type="hidden" name="_csrf" value={csrfToken} />
          <button type="submit">{t('account.revokeOthers')}</button>
        </form>
      </section>

      <section aria-labelledby="signins-title" class="card">
        <h2 id="signins-title">{t('account.recentSignIns')}</h2>
        <ul>
          {data.attempts.map((a) => (
            <li key={a.id}>{dateTime(locale, a.at)} · {a.ip ?? '—'} · {t(a.success ? 'account.signInOk' : 'account.signInFailed')}</li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="password-title" class="card">
        <h2 id="password-title">{t('account.changePassword')}</h2>
        <form class="stack-form" method="post" action={`${prefix}/account/password`}>
          <input type="hidden" name="_csrf" value={csrfToken} />
          <label for="current">{t('account.currentPassword')}</label>
          <input id="current" name="current" type="password" autocomplete="current-password" required maxLength={128} />
          <NewPasswordFields ctx={ctx} />
        </form>
      </section>

      <section aria-labelledby="repair-title" class="card">
        <h2 id="repair-title">{t('account.repair.title')}</h2>
        <ul>
          <li>{t('account.repair.password')} <a href={`${prefix}/password/forgot`}>{t('auth.login.forgot')}</a></li>
          <li>{t('account.repair.email')} <a href={`/${locale}/account/email`}>{t(user.emailVerifiedAt ? 'email.changeTitle' : 'email.confirmTitle')}</a></li>
          {shop
            ? <li>{t('account.shop.repairPartner')} <a href={`/${locale}/login`}>{t('auth.login.toPartner')}</a></li>
            : <li>{t('account.repair.shop')} <a href={`/${locale}/shop/login`}>{t('auth.login.toShop')}</a></li>}
          <li>{t(shop ? 'account.shop.repairNoAccess' : 'account.repair.noAccess')}</li>
          <li>{t('account.repair.blocked')} <a href={`/${locale}/support/new?topic=account-status`}>{t('nav.askForHelp')}</a></li>
        </ul>
      </section>
    </Page>
  )
}

type EmailStatus = Awaited<ReturnType<AccountService['emailStatus']>>

/**
 * Giving and proving an email address: the page every other page sends an account without a
 * verified address to, and where a verified address is changed.
 */
export function EmailPage({ ctx, status, csrfToken, error, next }: { ctx: PageContext; status: EmailStatus; csrfToken: string; error?: string | undefined; next?: string | undefined }): VNode {
  const { t, locale } = ctx
  const { user, verified, pending } = status
  const title = t(verified ? 'email.changeTitle' : 'email.confirmTitle')
  return (
    <Page ctx={ctx} title={title} headerSearch={false}>
      <h1>{title}</h1>
      <p class="lead">{verified ? t('email.changeLead', { email: user.email ?? '' }) : t('email.confirmLead')}</p>
      {verified ? null : <p class="notice urgent" id="email-why">{t('email.why')}</p>}
      <FormError message={error} />
      {pending ? (
        <section aria-labelledby="code-title" class="card">
          <h2 id="code-title">{t('email.codeTitle')}</h2>
          <p role="status">{t('email.sent', { email: pending })}</p>
          <form class="stack-form" method="post" action={`/${locale}/account/email/code`}>
            <input type="hidden" name="_csrf" value={csrfToken} />
            {next ? <input type="hidden" name="next" value={next} /> : null}
            <label for="code">{t('register.code')}</label>
            <input id="code" name="code" type="text" inputMode="numeric" autocomplete="one-time-code" required maxLength={6} pattern="[0-9]{6}" />
            <button type="submit">{t('register.verify')}</button>
          </form>
        </section>
      ) : null}
      <section aria-labelledby="address-title" class="card">
        <h2 id="address-title">{t(pending ? 'email.otherAddress' : 'email.addressTitle')}</h2>
        <form class="stack-form" method="post" action={`/${locale}/account/email`}>
          <input type="hidden" name="_csrf" value={csrfToken} />
          {next ? <input type="hidden" name="next" value={next} /> : null}
          <Field id="email" type="email" label={t('register.email')} value={verified ? '' : pending ?? user.email ?? ''} autocomplete="email" hint={t('register.emailHint')} />
          {verified ? (
            <>
              <label for="password">{t('account.currentPassword')}</label>
              <input id="password" name="password" type="password" autocomplete="current-password" required maxLength={128} />
            </>
          ) : null}
          <button type="submit">{t(pending ? 'email.sendAgain' : 'email.send')}</button>
        </form>
      </section>
      <ul class="form-links">
        {verified ? <li><a href={user.realm === 'shop' ? `/${locale}/shop/account` : `/${locale}/account`}>{t('email.back')}</a></li> : null}
        <li><a href={`/${locale}/help`}>{t('auth.login.help')}</a></li>
        <li><a href={`/${locale}/logout`}>{t('auth.logout.submit')}</a></li>
      </ul>
    </Page>
  )
}
