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

/**
 * An app asked for a second factor and the account has none: the app gets an error
 * (unmet_authentication_requirements), the person reads why and chooses: add a factor, or go back.
 */
export function SecondFactorUnavailablePage({ ctx, href, appName }: { ctx: PageContext; href: string; appName: string }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('sso.unavailable.title')} headerSearch={false}>
      <h1>{t('sso.unavailable.title')}</h1>
      <p class="error-message" role="alert">{t('errors.SECOND_FACTOR_UNAVAILABLE')}</p>
      <p><a class="button" href={`/${locale}/account/second-factor`}>{t('sso.unavailable.enrol')}</a></p>
      <p><a href={href} id="sso-back">{t('sso.unavailable.back', { app: appName })}</a></p>
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

export interface ClientListing {
  clientId: string
  realm: string
  name: string
  kind: string
  firstParty: boolean
  redirectUris: string[]
}

/** Platform console: the connected apps, a form to add one, and the new secret once. */
export function ClientsPage({ ctx, clients, csrfToken, created, error }: {
  ctx: PageContext; clients: ClientListing[]; csrfToken: string; created?: { clientId: string; secret: string | null } | undefined; error?: string | undefined
}): VNode {
  const { t, locale } = ctx
  const base = `/${locale}/admin/platform/clients`
  return (
    <Page ctx={ctx} title={t('sso.admin.title')} headerSearch={false}>
      <h1>{t('sso.admin.title')}</h1>
      <p><a href={`/${locale}/admin/platform`}>{t('admin.platform.title')}</a></p>
      {error ? <p class="error-message" role="alert" id="form-error">{error}</p> : null}
      {created ? (
        <section class="notice" role="status" aria-labelledby="created-title">
          <h2 id="created-title">{t('sso.admin.created')}</h2>
          <p>{t('sso.admin.clientId')}: <code id="created-client-id">{created.clientId}</code></p>
          {created.secret ? <p>{t('sso.admin.secret')}: <code id="created-secret">{created.secret}</code></p> : null}
          {created.secret ? <p>{t('sso.admin.secretOnce')}</p> : null}
        </section>
      ) : null}
      <table class="stacked">
        <caption>{t('sso.admin.list')}</caption>
        <thead>
          <tr><th scope="col">{t('sso.admin.name')}</th><th scope="col">{t('sso.admin.clientId')}</th><th scope="col">{t('sso.admin.realm')}</th><th scope="col">{t('sso.admin.kind')}</th><th scope="col">{t('sso.admin.redirectUris')}</th><th scope="col"><span class="visually-hidden">{t('sso.admin.remove')}</span></th></tr>
        </thead>
        <tbody>
          {clients.map((c) => (
            <tr key={c.clientId}>
              <td data-label={t('sso.admin.name')}>{c.name}{c.firstParty ? null : ` (${t('sso.admin.thirdParty')})`}</td>
              <td data-label={t('sso.admin.clientId')}><code>{c.clientId}</code></td>
              <td data-label={t('sso.admin.realm')}>{t(`account.realms.${c.realm}`)}</td>
              <td data-label={t('sso.admin.kind')}>{t(`sso.admin.kind.${c.kind}`)}</td>
              <td data-label={t('sso.admin.redirectUris')} class="uris">{c.redirectUris.join(' ')}</td>
              <td>
                <form method="post" action={`${base}/${encodeURIComponent(c.clientId)}/remove`}>
                  <input type="hidden" name="_csrf" value={csrfToken} />
                  <button type="submit" class="secondary" aria-label={`${t('sso.admin.remove')}: ${c.name}`}>{t('sso.admin.remove')}</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <section aria-labelledby="add-title" class="card">
        <h2 id="add-title">{t('sso.admin.add')}</h2>
        <form class="stack-form" method="post" action={base}>
          <input type="hidden" name="_csrf" value={csrfToken} />
          <label for="client-name">{t('sso.admin.name')}</label>
          <input id="client-name" name="name" type="text" required maxLength={100} />
          <label for="client-realm">{t('sso.admin.realm')}</label>
          <select id="client-realm" name="realm"><option value="partner">{t('account.realms.partner')}</option><option value="shop">{t('account.realms.shop')}</option></select>
          <label for="client-kind">{t('sso.admin.kind')}</label>
          <select id="client-kind" name="kind">
            {['web', 'public', 'machine'].map((k) => <option key={k} value={k}>{t(`sso.admin.kind.${k}`)}</option>)}
          </select>
          <label for="client-redirects">{t('sso.admin.redirectUris')}</label>
          <textarea id="client-redirects" name="redirectUris" rows={3} maxLength={5000} aria-describedby="client-redirects-hint" />
          <p id="client-redirects-hint" class="hint">{t('sso.admin.urisHint')}</p>
          <label for="client-logout">{t('sso.admin.postLogoutUris')}</label>
          <textarea id="client-logout" name="postLogoutRedirectUris" rows={2} maxLength={5000} />
          <span class="choice"><input type="checkbox" id="client-third" name="thirdParty" value="true" /><label for="client-third">{t('sso.admin.thirdPartyAsk')}</label></span>
          <button type="submit">{t('sso.admin.add')}</button>
        </form>
      </section>
    </Page>
  )
}
