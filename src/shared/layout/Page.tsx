import type { ComponentChildren, VNode } from 'preact'
import { locales, localeName, type Translate } from '../i18n/index.js'

/** What every page needs to know about the request it renders for. */
export interface PageContext {
  locale: string
  t: Translate
  brandName: string
  /** Path of this page in each locale that has it; the switcher falls back to the help home. */
  alternates: Record<string, string>
  /** Stylesheet URL with its content hash, so it can be cached for a year. */
  stylesheet: string
  signedIn: boolean
  /** Signed in, but the company has not approved the account yet (no partner contacts, no urgent requests). */
  awaitingApproval?: boolean | undefined
  /** The signed-in person's name, for the header. */
  userName?: string | undefined
  /** The realm the person signed in to: a Parts Shop account has its own account page. */
  realm?: string | undefined
  /** The consoles the signed-in person works in, linked from the header. */
  consoles?: { queue: boolean; admin: boolean } | undefined
}

export interface PageProps {
  ctx: PageContext
  title: string
  description?: string
  /** Shows the help search box in the header (hidden on the search page itself, which has its own). */
  headerSearch?: boolean
  /** Moves on to this address as soon as the page is shown (a fresh navigation, not a redirect). */
  refreshTo?: string | undefined
  children: ComponentChildren
}

export function languagePath(ctx: PageContext, locale: string): string {
  return ctx.alternates[locale] ?? `/${locale}/help`
}

function LanguageSwitcher({ ctx }: { ctx: PageContext }) {
  return (
    <nav class="languages" aria-label={ctx.t('layout.languages')}>
      <ul>
        {locales.map((locale) => (
          <li key={locale}>
            {locale === ctx.locale ? (
              <a href={languagePath(ctx, locale)} lang={locale} hrefLang={locale} aria-current="page">
                {localeName(locale)}
              </a>
            ) : (
              <a href={languagePath(ctx, locale)} lang={locale} hrefLang={locale}>
                {localeName(locale)}
              </a>
            )}
          </li>
        ))}
      </ul>
    </nav>
  )
}

export function Page({ ctx, title, description, headerSearch = true, refreshTo, children }: PageProps): VNode {
  const { t, locale } = ctx
  return (
    <html lang={locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · ${ctx.brandName}`}</title>
        {description ? <meta name="description" content={description} /> : null}
        {refreshTo ? <meta httpEquiv="refresh" content={`0;url=${refreshTo}`} /> : null}
        <link rel="stylesheet" href={ctx.stylesheet} />
        <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />
        {Object.entries(ctx.alternates).map(([lang, href]) => (
          <link key={lang} rel="alternate" hrefLang={lang} href={href} />
        ))}
        {ctx.alternates.en ? <link rel="alternate" hrefLang="x-default" href={ctx.alternates.en} /> : null}
      </head>
      <body>
        <a class="skip-link" href="#main">
          {t('layout.skipToContent')}
        </a>
        <header class="site-header">
          <div class="wrap header-row">
            <a class="brand" href={`/${locale}/help`}>
              <span class="brand-name">{ctx.brandName}</span> <span class="brand-product">{t('layout.product')}</span>
            </a>
            <div class="header-tools">
              {ctx.signedIn ? (
                <nav class="account-nav" aria-label={t('nav.accountNavigation')}>
                  <ul>
                    <li class="signed-in">{t('nav.signedInAs', { name: ctx.userName ?? '' })}</li>
                    <li><a href={ctx.realm === 'shop' ? `/${locale}/shop/account` : `/${locale}/account`}>{t('nav.account')}</a></li>
                    <li><a href={`/${locale}/logout`}>{t('nav.signOut')}</a></li>
                  </ul>
                </nav>
              ) : null}
              <LanguageSwitcher ctx={ctx} />
            </div>
          </div>
          <div class="wrap header-row header-second">
            <nav class="primary" aria-label={t('layout.mainNavigation')}>
              <ul>
                <li><a href={`/${locale}/help`}>{t('nav.help')}</a></li>
                <li><a href={`/${locale}/support/new`}>{t('nav.askForHelp')}</a></li>
                {ctx.signedIn ? (
                  <>
                    <li><a href={`/${locale}/support/tickets`}>{t('nav.myRequests')}</a></li>
                    {ctx.consoles?.queue ? <li><a href={`/${locale}/agent/tickets`}>{t('nav.queue')}</a></li> : null}
                    {ctx.consoles?.admin ? <li><a href={`/${locale}/admin`}>{t('nav.administration')}</a></li> : null}
                  </>
                ) : (
                  <li><a href={`/${locale}/login`}>{t('nav.signIn')}</a></li>
                )}
              </ul>
            </nav>
            {headerSearch ? (
              <form class="search-form compact" role="search" method="get" action={`/${locale}/help/search`}>
                <label for="header-q" class="visually-hidden">{t('help.search.label')}</label>
                <input id="header-q" type="search" name="q" maxLength={200} placeholder={t('help.search.placeholder')} />
                <button type="submit">{t('help.search.submit')}</button>
              </form>
            ) : null}
          </div>
        </header>
        <main id="main" class="wrap" tabIndex={-1}>
          {children}
        </main>
        <footer class="site-footer">
          <div class="wrap">
            <p>{t('layout.footer', { brand: ctx.brandName })}</p>
            <ul class="footer-links">
              <li><a href={`/${locale}/help`}>{t('nav.help')}</a></li>
              <li><a href={`/${locale}/support/new`}>{t('nav.askForHelp')}</a></li>
            </ul>
          </div>
        </footer>
      </body>
    </html>
  )
}
