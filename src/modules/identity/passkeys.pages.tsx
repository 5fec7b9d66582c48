import type { ComponentChildren, VNode } from 'preact'
import { Page, type PageContext } from '../../shared/layout/Page.js'
import { FormError } from './identity.pages.js'
import { passkeyAssets } from './passkeys.js'

/** The browser side of passkeys: the library's bundle, then the few lines that drive the forms. */
export function PasskeyScripts(): VNode {
  return (
    <>
      <script src={passkeyAssets.bundle.url} defer />
      <script src={passkeyAssets.script} defer />
    </>
  )
}

/**
 * A form that asks the browser for a passkey before it is sent (src/public/passkeys.js): the prompt's
 * options are in the form or fetched from `optionsUrl`; the answer goes in the hidden `response`.
 * Hidden until the script finds passkeys supported.
 */
export function PasskeyForm({ mode, action, csrfToken, options, optionsUrl, next, failed, id, children }: {
  mode: 'register' | 'authenticate'; action: string; csrfToken: string; options?: object | undefined; optionsUrl?: string | undefined
  next?: string | undefined; failed: string; id: string; children: ComponentChildren
}): VNode {
  return (
    <form class="stack-form" method="post" action={action} data-passkey={mode} data-options={options ? JSON.stringify(options) : undefined} data-options-url={optionsUrl} id={id}>
      <input type="hidden" name="_csrf" value={csrfToken} />
      {next ? <input type="hidden" name="next" value={next} /> : null}
      <input type="hidden" name="response" value="" />
      <p class="error-message" role="alert" tabIndex={-1} hidden data-passkey-error>{failed}</p>
      {children}
    </form>
  )
}

/** Adding a passkey: a name, then the browser's prompt. */
export function EnrolPasskeyPage({ ctx, options, csrfToken, error }: { ctx: PageContext; options: object; csrfToken: string; error?: string | undefined }): VNode {
  const { t, locale } = ctx
  return (
    <Page ctx={ctx} title={t('factors.passkey.title')} headerSearch={false}>
      <h1>{t('factors.passkey.title')}</h1>
      <p class="lead">{t('factors.passkey.lead')}</p>
      <FormError message={error} />
      <noscript><p class="notice">{t('factors.passkey.noScript')}</p></noscript>
      <div data-passkey-only hidden>
        <PasskeyForm mode="register" id="passkey-enrol" action={`/${locale}/account/second-factor/passkey/finish`} csrfToken={csrfToken} options={options} failed={t('factors.passkey.failed')}>
          <label for="passkey-name">{t('factors.name')}</label>
          <input id="passkey-name" name="name" type="text" required maxLength={60} value={t('factors.passkey.defaultName')} aria-describedby="passkey-name-hint" />
          <p id="passkey-name-hint" class="hint">{t('factors.passkey.nameHint')}</p>
          <button type="submit">{t('factors.passkey.create')}</button>
        </PasskeyForm>
      </div>
      <p><a href={`/${locale}/account/second-factor`}>{t('factors.enrol.cancel')}</a></p>
      <PasskeyScripts />
    </Page>
  )
}
