import type { VNode } from 'preact'
import { Page, type PageContext } from '../../shared/layout/Page.js'
import { Field, NewPasswordFields, realmPrefix, type Realm } from './identity.pages.js'

export interface RegisterValues {
  userId?: string
  firstName?: string
  lastName?: string
  email?: string
  companyKind?: string
  companyNumber?: string
  companyName?: string
  street?: string
  postalCode?: string
  city?: string
  market?: string
}


export function RegisterPage({ ctx, realm, csrfToken, markets, values, error }: {
  ctx: PageContext; realm: Realm; csrfToken: string; markets: { code: string; name: string }[]; values: RegisterValues; error?: string | undefined
}): VNode {
  const { t, locale } = ctx
  const prefix = realmPrefix(locale, realm)
  const title = t(realm === 'shop' ? 'register.shopTitle' : 'register.title')
  const kind = values.companyKind === 'new' ? 'new' : 'existing'
  return (
    <Page ctx={ctx} title={title} headerSearch={false}>
      <h1>{title}</h1>
      <p class="lead">{t(realm === 'shop' ? 'register.shopLead' : 'register.lead')}</p>
      {error ? <p class="error-message" role="alert">{error}</p> : null}
      <form class="stack-form" method="post" action={`${prefix}/register`}>
        <input type="hidden" name="_csrf" value={csrfToken} />
        <Field id="userId" label={t('register.userId')} value={values.userId} autocomplete="username" maxLength={64} hint={t('register.userIdHint')} />
        <Field id="firstName" label={t('register.firstName')} value={values.firstName} autocomplete="given-name" maxLength={100} />
        <Field id="lastName" label={t('register.lastName')} value={values.lastName} autocomplete="family-name" maxLength={100} />
        <Field id="email" label={t('register.email')} value={values.email} type="email" autocomplete="email" hint={t('register.emailHint')} />
        <NewPasswordFields ctx={ctx} submit={false} first />
        <fieldset>
          <legend>{t('register.company')}</legend>
          <span class="choice"><input type="radio" id="kind-existing" name="companyKind" value="existing" checked={kind === 'existing'} /><label for="kind-existing">{t('register.companyExisting')}</label></span>
          <Field id="companyNumber" label={t('register.companyNumber')} value={values.companyNumber} required={false} maxLength={40} hint={t('register.companyNumberHint')} />
          <span class="choice"><input type="radio" id="kind-new" name="companyKind" value="new" checked={kind === 'new'} /><label for="kind-new">{t('register.companyNew')}</label></span>
          <Field id="companyName" label={t('register.companyName')} value={values.companyName} required={false} maxLength={200} />
          <Field id="street" label={t('register.street')} value={values.street} required={false} maxLength={200} autocomplete="street-address" />
          <Field id="postalCode" label={t('register.postalCode')} value={values.postalCode} required={false} maxLength={20} autocomplete="postal-code" />
          <Field id="city" label={t('register.city')} value={values.city} required={false} maxLength={100} />
          <label for="market">{t('partners.market')}</label>
          <select id="market" name="market">
            {markets.map((m) => <option key={m.code} value={m.code} selected={m.code === values.market}>{m.name}</option>)}
          </select>
        </fieldset>
        <button type="submit">{t('register.submit')}</button>
      </form>
      <p><a href={`${prefix}/login`}>{t('register.haveAccount')}</a></p>
    </Page>
  )
}

export function CheckEmailPage({ ctx, realm, csrfToken, userId, error }: { ctx: PageContext; realm: Realm; csrfToken: string; userId?: string; error?: string | undefined }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('register.checkTitle')} headerSearch={false}>
      <h1>{t('register.checkTitle')}</h1>
      {error ? <p class="error-message" role="alert">{error}</p> : <p class="notice" role="status">{t('register.checkText')}</p>}
      <form class="stack-form" method="post" action={`${realmPrefix(locale, realm)}/verify`}>
        <input type="hidden" name="_csrf" value={csrfToken} />
        <Field id="userId" label={t('register.userId')} value={userId} autocomplete="username" maxLength={64} />
        <Field id="code" label={t('register.code')} autocomplete="one-time-code" maxLength={6} />
        <button type="submit">{t('register.verify')}</button>
      </form>
      <h2>{t('register.resendTitle')}</h2>
      <form class="stack-form" method="post" action={`${realmPrefix(locale, realm)}/verify/resend`}>
        <input type="hidden" name="_csrf" value={csrfToken} />
        <label for="resend-userId">{t('register.userId')}</label>
        <input id="resend-userId" name="userId" type="text" value={userId ?? ''} autocomplete="username" required maxLength={64} />
        <button type="submit">{t('register.resend')}</button>
      </form>
    </Page>
  )
}

export function VerifiedPage({ ctx, approver, realm }: { ctx: PageContext; approver: 'org_admin' | 'market_admin' | null; realm: Realm }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('register.verifiedTitle')} headerSearch={false}>
      <h1>{t('register.verifiedTitle')}</h1>
      <p class="notice" role="status">{approver ? t(`register.waiting.${approver}`) : t('register.verifiedText')}</p>
      <p><a class="button" href={`${realmPrefix(locale, realm)}/login`}>{t('auth.login.submit')}</a></p>
    </Page>
  )
}
