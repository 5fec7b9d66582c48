import { renderToString } from 'preact-render-to-string'
import { t } from '../i18n/index.js'

/**
 * Every email Sportello sends. Texts live in the catalogues under
 * mail.<template>.subject / .body / .action; `data` fills their placeholders,
 * and data.url is the action link when the template has one. Fields named in `dates` hold
 * ISO times and are written as dates of the recipient's language when the email is rendered.
 */
export const mailTemplates = {
  'password-reset': { action: true },
  'password-changed': { action: false },
  'account-locked': { action: true },
  'verify-email': { action: true },
  'email-in-use': { action: true },
  'invitation': { action: true },
  'email-changed': { action: true },
  'lifecycle-block_warned': { action: true, dates: ['date'] },
  'lifecycle-blocked': { action: true },
  'lifecycle-delete_warned': { action: true, dates: ['date'] },
  'lifecycle-deleted': { action: false },
  'account-approved': { action: true },
  'account-refused': { action: false },
  'access-restored': { action: true },
  'access-restored-shop': { action: true },
  'ticket-received': { action: true },
  'ticket-reply': { action: true },
} as const satisfies Record<string, { action: boolean; dates?: readonly string[] }>

export type MailTemplate = keyof typeof mailTemplates

export interface RenderedMail {
  subject: string
  text: string
  html: string
}

export function isMailTemplate(name: string): name is MailTemplate {
  return name in mailTemplates
}

function localDates(template: MailTemplate, locale: string, data: Record<string, string | number>): Record<string, string | number> {
  const spec = mailTemplates[template]
  const dates = Object.fromEntries(('dates' in spec ? spec.dates : []).flatMap((field) => {
    const value = data[field]
    const when = typeof value === 'string' ? new Date(value) : undefined
    return when && !Number.isNaN(when.getTime()) ? [[field, new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' }).format(when)]] : []
  }))
  return { ...data, ...dates }
}

export function renderMail(template: MailTemplate, locale: string, rawData: Record<string, string | number>): RenderedMail {
  const data = localDates(template, locale, rawData)
  const tr = (key: string) => t(locale, key, data)
  const paragraphs = tr(`mail.${template}.body`).split('\n\n')
  const url = typeof data.url === 'string' ? data.url : undefined
  const action = mailTemplates[template].action && url ? { label: tr(`mail.${template}.action`), url } : undefined
  const greeting = tr('mail.greeting')
  const signature = tr('mail.signature')
  const footer = tr('mail.footer')
  const text = [greeting, ...paragraphs, ...(action ? [`${action.label}:\n${action.url}`] : []), signature, `--\n${footer}`].join('\n\n')
  const html = `<!doctype html>${renderToString(
    <html lang={locale}>
      <head><meta charset="utf-8" /><title>{tr(`mail.${template}.subject`)}</title></head>
      <body style="font-family: system-ui, sans-serif; color: #1b1f24; line-height: 1.5">
        <p>{greeting}</p>
        {paragraphs.map((p, i) => <p key={i}>{p}</p>)}
        {action ? (
          <p><a href={action.url} style="display: inline-block; padding: 10px 16px; background: #0b4f8a; color: #ffffff; text-decoration: none; border-radius: 4px">{action.label}</a></p>
        ) : null}
        <p>{signature}</p>
        <p style="color: #4a5260; font-size: 13px">{footer}</p>
      </body>
    </html>,
  )}`
  return { subject: tr(`mail.${template}.subject`), text, html }
}
