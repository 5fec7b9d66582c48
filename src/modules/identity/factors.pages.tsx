import type { VNode } from 'preact'
import { versionedAssetUrl } from '../../shared/http/assets.js'
import { tn } from '../../shared/i18n/index.js'
import { Page, type PageContext } from '../../shared/layout/Page.js'
import type { FactorsService } from './factors.service.js'
import { FormError, realmPrefix, type Realm } from './identity.pages.js'
import { PasskeyForm, PasskeyScripts } from './passkeys.pages.js'

type Overview = Awaited<ReturnType<FactorsService['overview']>>
type Enrolment = Awaited<ReturnType<FactorsService['startTotp']>>

function dateTime(locale: string, date: Date): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date)
}

const secondStepScriptUrl = versionedAssetUrl('second-step.js')

/** The second step of a sign-in: a code from the authenticator app, or a recovery code. */
export function SecondStepPage({ ctx, realm, csrfToken, error, next, passkeyOptions, stepUp = false, address }: {
  ctx: PageContext; realm: Realm; csrfToken: string; error?: string | undefined; next?: string | undefined
  /** The prompt of the account's passkeys, when it has one. */
  passkeyOptions?: object | null | undefined
  /** A connected app asks for a second factor of a person signed in with a password only. */
  stepUp?: boolean
  /**
   * The page's own address, when it answers a form (the password's, a wrong code's): the browser
   * shows it instead (src/public/second-step.js), so a reload or going back opens it again.
   */
  address?: string | undefined
}): VNode {
  const { t, locale } = ctx
  const texts = stepUp ? 'factors.stepUp' : 'factors.step'
  return (
    <Page ctx={ctx} title={t(`${texts}.title`)} headerSearch={false}>
      <h1>{t(`${texts}.title`)}</h1>
      <p class="lead">{t(passkeyOptions ? `${texts}.leadPasskey` : `${texts}.lead`)}</p>
      <FormError message={error} />
      {passkeyOptions ? (
        <div data-passkey-only hidden>
          <PasskeyForm mode="authenticate" id="passkey-step" action={`${realmPrefix(locale, realm)}/login/code/passkey`} csrfToken={csrfToken} options={passkeyOptions} next={next} failed={t('factors.step.passkeyFailed')}>
            <button type="submit">{t('factors.step.passkey')}</button>
          </PasskeyForm>
          <h2>{t('factors.step.codeTitle')}</h2>
        </div>
      ) : null}
      <form class="stack-form" method="post" action={`${realmPrefix(locale, realm)}/login/code`} aria-describedby={error ? 'form-error' : undefined} data-step-address={address}>
        <input type="hidden" name="_csrf" value={csrfToken} />
        {next ? <input type="hidden" name="next" value={next} /> : null}
        <label for="code">{t('factors.step.code')}</label>
        <input id="code" name="code" type="text" autocomplete="one-time-code" required maxLength={40} aria-describedby="code-hint" />
        <p id="code-hint" class="hint">{t('factors.step.hint')}</p>
        <button type="submit">{t(`${texts}.submit`)}</button>
      </form>
      <ul class="form-links">
        {stepUp ? null : <li><a href={`${realmPrefix(locale, realm)}/login`}>{t('factors.step.restart')}</a></li>}
        <li><a href={`/${locale}/support/new?topic=account-status`}>{t('factors.step.lost')}</a></li>
      </ul>
      {passkeyOptions ? <PasskeyScripts /> : null}
      {address ? <script src={secondStepScriptUrl} defer /> : null}
    </Page>
  )
}

/** /{l}/account/second-factor: the person's factors, adding one, recovery codes. */
export function FactorsPage({ ctx, data, csrfToken, notice, error, next }: {
  ctx: PageContext; data: Overview; csrfToken: string; notice?: string | undefined; error?: string | undefined; next?: string | undefined
}): VNode {
  const { t, locale } = ctx
  const base = `/${locale}/account/second-factor`
  return (
    <Page ctx={ctx} title={t('factors.title')} headerSearch={false}>
      <h1>{t('factors.title')}</h1>
      <p class="lead">{t('factors.lead')}</p>
      {notice ? <p class="notice" role="status">{notice}</p> : null}
      <FormError message={error} />
      {data.requiredBy ? <p class="notice">{t(data.requiredBy === 'role' ? 'factors.required' : 'factors.requiredByMarket')}</p> : null}
      {data.graceLeft !== null ? (
        <p class="notice" role="status">{data.graceOver ? t('factors.graceOver') : data.graceLeft > 0 ? tn(locale, 'factors.graceLeft', data.graceLeft) : t('factors.graceLast')}</p>
      ) : null}
      {next && data.graceLeft !== null && !data.graceOver ? <p><a href={next}>{t('factors.later')}</a></p> : null}

      <section aria-labelledby="factors-list" class="card">
        <h2 id="factors-list">{t('factors.yours')}</h2>
        {data.factors.length === 0 ? <p>{t('factors.none')}</p> : (
          <ul class="plain-list">
            {data.factors.map((f) => (
              <li key={f.id}>
                <h3>{f.name}</h3>
                <p>{t(`factors.kind.${f.kind}`)} · {t('factors.added', { date: dateTime(locale, f.createdAt) })} · {f.lastUsedAt ? t('factors.lastUsed', { date: dateTime(locale, f.lastUsedAt) }) : t('factors.neverUsed')}</p>
                <details>
                  <summary>{t('factors.rename')}<span class="visually-hidden"> {f.name}</span></summary>
                  <form class="stack-form" method="post" action={`${base}/${f.id}/name`}>
                    <input type="hidden" name="_csrf" value={csrfToken} />
                    <label for={`name-${f.id}`}>{t('factors.name')}</label>
                    <input id={`name-${f.id}`} name="name" type="text" required maxLength={60} value={f.name} />
                    <button type="submit">{t('factors.saveName')}</button>
                  </form>
                </details>
                <details>
                  <summary>{t('factors.remove')}<span class="visually-hidden"> {f.name}</span></summary>
                  <form class="stack-form" method="post" action={`${base}/${f.id}/remove`}>
                    <input type="hidden" name="_csrf" value={csrfToken} />
                    <label for={`password-${f.id}`}>{t('factors.password')}</label>
                    <input id={`password-${f.id}`} name="password" type="password" autocomplete="current-password" required maxLength={128} />
                    <button type="submit">{t('factors.removeConfirm')}</button>
                  </form>
                </details>
              </li>
            ))}
          </ul>
        )}
        <div class="button-row">
          <form method="post" action={`${base}/totp`}>
            <input type="hidden" name="_csrf" value={csrfToken} />
            <button type="submit">{t('factors.addTotp')}</button>
          </form>
          <form method="post" action={`${base}/passkey`} data-passkey-only hidden>
            <input type="hidden" name="_csrf" value={csrfToken} />
            <button type="submit">{t('factors.addPasskey')}</button>
          </form>
        </div>
      </section>

      {data.factors.length > 0 ? (
        <section aria-labelledby="recovery-title" class="card">
          <h2 id="recovery-title">{t('factors.recovery.title')}</h2>
          <p>{tn(locale, 'factors.recovery.left', data.recoveryLeft)}</p>
          <form class="stack-form" method="post" action={`${base}/recovery`}>
            <input type="hidden" name="_csrf" value={csrfToken} />
            <label for="recovery-password">{t('factors.password')}</label>
            <input id="recovery-password" name="password" type="password" autocomplete="current-password" required maxLength={128} />
            <button type="submit">{t('factors.recovery.renew')}</button>
          </form>
        </section>
      ) : null}
      <p><a href={`/${locale}/account`}>{t('factors.back')}</a></p>
      <PasskeyScripts />
    </Page>
  )
}

/** Adding an authenticator app: the QR code, the secret to type, and the first code to confirm it. */
export function EnrolTotpPage({ ctx, enrolment, csrfToken, error }: { ctx: PageContext; enrolment: Enrolment; csrfToken: string; error?: string | undefined }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('factors.enrol.title')} headerSearch={false}>
      <h1>{t('factors.enrol.title')}</h1>
      <FormError message={error} />
      <ol>
        <li>
          <p>{t('factors.enrol.scan')}</p>
          <img src={enrolment.qr} width={200} height={200} alt={t('factors.enrol.qrAlt')} />
        </li>
        <li>
          <p>{t('factors.enrol.type')}</p>
          <p><code class="secret">{enrolment.secret.match(/.{1,4}/g)?.join(' ')}</code></p>
        </li>
        <li>
          <form class="stack-form" method="post" action={`/${locale}/account/second-factor/totp/${enrolment.factorId}`} aria-describedby={error ? 'form-error' : undefined}>
            <input type="hidden" name="_csrf" value={csrfToken} />
            <label for="factor-name">{t('factors.name')}</label>
            <input id="factor-name" name="name" type="text" required maxLength={60} value={t('factors.defaultName')} aria-describedby="factor-name-hint" />
            <p id="factor-name-hint" class="hint">{t('factors.nameHint')}</p>
            <label for="code">{t('factors.enrol.code')}</label>
            <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required pattern="\s*\d{3}\s?\d{3}\s*" maxLength={8} />
            <button type="submit">{t('factors.enrol.confirm')}</button>
          </form>
        </li>
      </ol>
      <p><a href={`/${locale}/account/second-factor`}>{t('factors.enrol.cancel')}</a></p>
    </Page>
  )
}

/** The ten recovery codes, shown once. */
export function RecoveryCodesPage({ ctx, codes }: { ctx: PageContext; codes: string[] }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('factors.recovery.title')} headerSearch={false}>
      <h1>{t('factors.recovery.title')}</h1>
      <p class="notice" role="status">{t('factors.recovery.once')}</p>
      <ul class="recovery-codes">
        {codes.map((c) => <li key={c}><code>{c}</code></li>)}
      </ul>
      <p><a class="button" href={`/${locale}/account/second-factor`}>{t('factors.recovery.saved')}</a></p>
    </Page>
  )
}
