import type { VNode } from 'preact'
import { Page, type PageContext } from '../../shared/layout/Page.js'

/**
 * After sign-in or consent, the way back to the app. A page and not a redirect: browsers apply the
 * sign-in form's CSP form-action to every redirect that follows its submission, and the app is
 * another origin. The refresh starts a fresh navigation; the link is there for anyone it does not move.
 */
export function ContinuePage({ ctx, href, appName }: { ctx: PageContext; href: string; appName: string }): VNode {
  const { t } = ctx
  return (
    <Page ctx={ctx} title={t('sso.continue.title')} headerSearch={false} refreshTo={href}>
      <h1>{t('sso.continue.title')}</h1>
      <p class="notice" role="status">{t('sso.continue.lead', { app: appName })}</p>
      <p><a class="button" href={href} id="sso-continue">{t('sso.continue.link', { app: appName })}</a></p>
    </Page>
  )
}

export function ConsentPage({ ctx, action, csrfToken, appName, scopes }: {
  ctx: PageContext; action: string; csrfToken: string; appName: string; scopes: string[]
}): VNode {
  const { t } = ctx
  return (
    <Page ctx={ctx} title={t('sso.consent.title', { app: appName })} headerSearch={false}>
      <h1>{t('sso.consent.title', { app: appName })}</h1>
      <p class="lead">{t('sso.consent.lead', { app: appName })}</p>
      <ul>
        {scopes.map((scope) => <li key={scope}>{t(`sso.scope.${scope}`)}</li>)}
      </ul>
      <form class="stack-form" method="post" action={action}>
        <input type="hidden" name="_csrf" value={csrfToken} />
        <button type="submit" name="decision" value="allow">{t('sso.consent.allow')}</button>
        <button type="submit" name="decision" value="deny" class="secondary">{t('sso.consent.deny')}</button>
      </form>
    </Page>
  )
}

/** The provider's own errors (unknown app, wrong redirect address…) when it cannot send the user back to the app. */
export function SsoErrorPage({ ctx, error }: { ctx: PageContext; error: string }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('sso.error.title')} headerSearch={false}>
      <h1>{t('sso.error.title')}</h1>
      <p class="error-message" role="alert">{t('sso.error.lead')}</p>
      <p>{t('sso.error.code', { code: error })}</p>
      <p><a href={`/${locale}/help`}>{t('errors.backToHelp')}</a></p>
    </Page>
  )
}

export function LogoutPage({ ctx, action, xsrf, appName }: { ctx: PageContext; action: string; xsrf: string; appName: string | undefined }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('sso.logout.title')} headerSearch={false}>
      <h1>{t('sso.logout.title')}</h1>
      <p class="lead">{appName ? t('sso.logout.leadApp', { app: appName }) : t('sso.logout.lead')}</p>
      <form class="stack-form" method="post" action={action}>
        <input type="hidden" name="xsrf" value={xsrf} />
        <button type="submit" name="logout" value="yes">{t('sso.logout.submit')}</button>
      </form>
      <p><a href={`/${locale}/help`}>{t('sso.logout.stay')}</a></p>
    </Page>
  )
}

export function LoggedOutPage({ ctx }: { ctx: PageContext }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('sso.loggedOut.title')} headerSearch={false}>
      <h1>{t('sso.loggedOut.title')}</h1>
      <p class="notice" role="status">{t('sso.loggedOut.lead')}</p>
      <p><a class="button" href={`/${locale}/login`}>{t('auth.login.submit')}</a></p>
    </Page>
  )
}
