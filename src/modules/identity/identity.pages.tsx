import type { VNode } from 'preact'
import { PasskeyForm, PasskeyScripts } from './passkeys.pages.js'
import { Page, type PageContext } from '../../shared/layout/Page.js'

export type Realm = 'partner' | 'shop'

export function realmPrefix(locale: string, realm: Realm): string {
  return realm === 'shop' ? `/${locale}/shop` : `/${locale}`
}

/** A labelled text or email input with an optional hint. */
export function Field({ id, label, value, type = 'text', autocomplete, required = true, maxLength = 256, hint }: {
  id: string; label: string; value?: string | undefined; type?: 'text' | 'email'; autocomplete?: string; required?: boolean; maxLength?: number; hint?: string
}) {
  return (
    <>
      <label for={id}>{label}</label>
      {type === 'email'
        ? <input id={id} name={id} type="email" value={value ?? ''} autocomplete={autocomplete} required={required} maxLength={maxLength} aria-describedby={hint ? `${id}-hint` : undefined} />
        : <input id={id} name={id} type="text" value={value ?? ''} autocomplete={autocomplete} required={required} maxLength={maxLength} aria-describedby={hint ? `${id}-hint` : undefined} />}
      {hint ? <p id={`${id}-hint`} class="hint">{hint}</p> : null}
    </>
  )
}

export function FormError({ message }: { message: string | undefined }) {
  return message ? <p class="error-message" role="alert" id="form-error">{message}</p> : null
}

export function LoginPage({ ctx, realm, csrfToken, error, identifier = '', next }: {
  ctx: PageContext; realm: Realm; csrfToken: string; error?: string; identifier?: string; next?: string
}): VNode {
  const { t, locale } = ctx
  const prefix = realmPrefix(locale, realm)
  const title = t(realm === 'shop' ? 'auth.login.shopTitle' : 'auth.login.title')
  return (
    <Page ctx={ctx} title={title} headerSearch={false}>
      <h1>{title}</h1>
      <p class="lead">{t(realm === 'shop' ? 'auth.login.shopLead' : 'auth.login.lead')}</p>
      <FormError message={error} />
      <form class="stack-form" method="post" action={`${prefix}/login`} aria-describedby={error ? 'form-error' : undefined}>
        <input type="hidden" name="_csrf" value={csrfToken} />
        {next ? <input type="hidden" name="next" value={next} /> : null}
        <label for="identifier">{t('auth.login.identifier')}</label>
        <input id="identifier" name="identifier" type="text" autocomplete="username" required maxLength={256} value={identifier} />
        <label for="password">{t('auth.login.password')}</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required maxLength={128} />
        <button type="submit">{t('auth.login.submit')}</button>
      </form>
      <div data-passkey-only hidden>
        <PasskeyForm mode="authenticate" id="passkey-sign-in" action={`${prefix}/login/passkey`} optionsUrl={`${prefix}/login/passkey/options`} csrfToken={csrfToken} next={next} failed={t('auth.login.passkeyFailed')}>
          <button type="submit" class="secondary">{t('auth.login.passkey')}</button>
        </PasskeyForm>
      </div>
      <ul class="form-links">
        <li><a href={`${prefix}/password/forgot`}>{t('auth.login.forgot')}</a></li>
        <li><a href={`${prefix}/register`}>{t(realm === 'shop' ? 'auth.login.registerShop' : 'auth.login.register')}</a></li>
        <li><a href={realm === 'shop' ? `/${locale}/login` : `/${locale}/shop/login`}>{t(realm === 'shop' ? 'auth.login.toPartner' : 'auth.login.toShop')}</a></li>
        <li><a href={`/${locale}/help`}>{t('auth.login.help')}</a></li>
      </ul>
      <IdentityAndAccess ctx={ctx} realm={realm} />
      <PasskeyScripts />
    </Page>
  )
}

/**
 * The sign-in page's "Identity and access management" section, as the help center describes it:
 * how to reset the password, what to do when warned or blocked, who the market administrator is.
 */
function IdentityAndAccess({ ctx, realm }: { ctx: PageContext; realm: Realm }) {
  const { t, locale } = ctx
  const prefix = realmPrefix(locale, realm)
  const ask = askForAccessHelp(locale, undefined)
  return (
    <section class="card iam" aria-labelledby="iam-title">
      <h2 id="iam-title">{t('auth.iam.title')}</h2>
      <h3>{t('auth.iam.resetTitle')}</h3>
      <p>{t(realm === 'shop' ? 'auth.iam.resetShop' : 'auth.iam.reset')} <a href={`${prefix}/password/forgot`}>{t('auth.iam.resetLink')}</a></p>
      <h3>{t('auth.iam.warnedTitle')}</h3>
      <p>{t('auth.iam.warned')}</p>
      <p>{t('auth.iam.blocked')} <a href={`/${locale}/help/keys/account-blocked`}>{t('auth.iam.blockedLink')}</a></p>
      <h3>{t('auth.iam.adminTitle')}</h3>
      <p>{t('auth.iam.admin', { brand: ctx.brandName })}</p>
      <ul class="inline-list">
        <li><a href={ask}>{t('nav.askForHelp')}</a></li>
        <li><a href={`/${locale}/help/keys/${realm === 'shop' ? 'parts-shop-credentials' : 'account-page'}`}>{t(realm === 'shop' ? 'auth.iam.shopLink' : 'auth.iam.accountLink')}</a></li>
      </ul>
    </section>
  )
}

/** "Ask for help" about account status, carrying what the person typed to sign in so that it is not asked again. */
export function askForAccessHelp(locale: string, login: string | undefined): string {
  const typed = login?.trim().slice(0, 256)
  return `/${locale}/support/new?topic=account-status${typed ? `&login=${encodeURIComponent(typed)}` : ''}`
}

export function BlockedPage({ ctx, identifier }: { ctx: PageContext; identifier?: string | undefined }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('auth.blocked.title')} headerSearch={false}>
      <h1>{t('auth.blocked.title')}</h1>
      <p class="error-message" role="alert">{t('errors.ACCOUNT_BLOCKED')}</p>
      <p>{t('auth.blocked.identity')}</p>
      <p><a class="button" href={askForAccessHelp(locale, identifier)}>{t('nav.askForHelp')}</a></p>
    </Page>
  )
}

export function ForgotPage({ ctx, realm, csrfToken, sent, error }: { ctx: PageContext; realm: Realm; csrfToken: string; sent: boolean; error?: string }): VNode {
  const { t, locale } = ctx
  const prefix = realmPrefix(locale, realm)
  return (
    <Page ctx={ctx} title={t('auth.forgot.title')} headerSearch={false}>
      <h1>{t('auth.forgot.title')}</h1>
      {sent ? (
        <div class="notice" role="status">
          <p>{t('auth.forgot.sent')}</p>
          <p>{t('auth.forgot.sentHint')}</p>
        </div>
      ) : <p class="lead">{t('auth.forgot.lead')}</p>}
      <FormError message={error} />
      <form class="stack-form" method="post" action={`${prefix}/password/forgot`}>
        <input type="hidden" name="_csrf" value={csrfToken} />
        <label for="identifier">{t('auth.login.identifier')}</label>
        <input id="identifier" name="identifier" type="text" autocomplete="username" required maxLength={256} />
        <button type="submit">{t('auth.forgot.submit')}</button>
      </form>
      <p><a href={`${prefix}/login`}>{t('auth.forgot.back')}</a></p>
    </Page>
  )
}

/** The new password twice, with its rules, and the submit button: the reset page and the account page (registration: a first password, not a "new" one). */
export function NewPasswordFields({ ctx, submit = true, first = false }: { ctx: PageContext; submit?: boolean; first?: boolean }) {
  const { t } = ctx
  return (
    <>
      <label for="password">{t(first ? 'register.password' : 'auth.reset.password')}</label>
      <input id="password" name="password" type="password" autocomplete="new-password" required minLength={12} maxLength={128} aria-describedby="password-rules" />
      <p id="password-rules" class="hint">{t('auth.reset.rules')}</p>
      <label for="confirm">{t(first ? 'register.confirm' : 'auth.reset.confirm')}</label>
      <input id="confirm" name="confirm" type="password" autocomplete="new-password" required minLength={12} maxLength={128} />
      {submit ? <button type="submit">{t('auth.reset.submit')}</button> : null}
    </>
  )
}

export function ResetPage({ ctx, token, csrfToken, error }: { ctx: PageContext; token: string; csrfToken: string; error?: string }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('auth.reset.title')} headerSearch={false}>
      <h1>{t('auth.reset.title')}</h1>
      <p class="lead">{t('auth.reset.lead')}</p>
      <FormError message={error} />
      <form class="stack-form" method="post" action={`/${locale}/password/reset/${token}`}>
        <input type="hidden" name="_csrf" value={csrfToken} />
        <NewPasswordFields ctx={ctx} />
      </form>
    </Page>
  )
}

export function MessagePage({ ctx, title, message, link }: { ctx: PageContext; title: string; message: string; link: { href: string; label: string } }): VNode {
  return (
    <Page ctx={ctx} title={title} headerSearch={false}>
      <h1>{title}</h1>
      <p class="notice" role="status">{message}</p>
      <p><a class="button" href={link.href}>{link.label}</a></p>
    </Page>
  )
}

export function SignOutPage({ ctx, csrfToken }: { ctx: PageContext; csrfToken: string }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('auth.logout.title')} headerSearch={false}>
      <h1>{t('auth.logout.title')}</h1>
      <form method="post" action={`/${locale}/logout`}>
        <input type="hidden" name="_csrf" value={csrfToken} />
        <button type="submit">{t('auth.logout.submit')}</button>
      </form>
    </Page>
  )
}

export function InvitationPage({ ctx, token, csrfToken, user, error }: {
  ctx: PageContext; token: string; csrfToken: string; user: { userId: string; firstName: string; realm: string }; error?: string | undefined
}): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('invite.title')} headerSearch={false}>
      <h1>{t('invite.title')}</h1>
      <p class="lead">{t('invite.lead', { name: user.firstName, userId: user.userId })}</p>
      <p>{t(user.realm === 'shop' ? 'invite.realmShop' : 'invite.realmPartner')}</p>
      <FormError message={error} />
      <form class="stack-form" method="post" action={`/${locale}/invite/${token}`}>
        <input type="hidden" name="_csrf" value={csrfToken} />
        <input type="text" name="username" value={user.userId} autocomplete="username" readOnly hidden />
        <NewPasswordFields ctx={ctx} />
      </form>
      <p>{t('invite.next')}</p>
    </Page>
  )
}
