import { renderToString } from 'preact-render-to-string'
import { formatDuration, t } from '../i18n/index.js'

/**
 * Every email Sportello sends. Texts live in the catalogues under
 * mail.<template>.subject / .body / .action; `data` fills their placeholders,
 * and data.url is the action link when the template has one. Fields named in `dates` hold
 * ISO times and are written as dates of the recipient's language when the email is rendered;
 * fields named in `durations` hold a number of the given unit and are written in words
 * ("24 ore", not "1440 minuti"). When data.realm names a realm with texts of its own
 * (mail.<template>.<realm>.subject, e.g. the Parts Shop's lifecycle emails), those are used.
 */
export const mailTemplates = {
  'password-reset': { action: true, durations: { minutes: 'minutes' } },
  'password-changed': { action: true },
  'account-locked': { action: true, durations: { minutes: 'minutes' } },
  'verify-email': { action: true },
  'email-in-use': { action: true },
  'invitation': { action: true, durations: { days: 'days' } },
  'email-changed': { action: true },
  'lifecycle-block_warned': { action: true, dates: ['date'] },
  'lifecycle-blocked': { action: true },
  'lifecycle-delete_warned': { action: true, dates: ['date'] },
  'lifecycle-deleted': { action: false },
  'inactivity-reminder': { action: true, dates: ['date'] },
  'account-approved': { action: true },
  'account-refused': { action: false },
  'access-restored': { action: true },
  'access-restored-shop': { action: true },
  'factors-reset': { action: true },
  'ticket-received': { action: true },
  'ticket-reply': { action: true },
} as const satisfies Record<string, { action: boolean; dates?: readonly string[]; durations?: Readonly<Record<string, 'minutes' | 'days'>> }>

export type MailTemplate = keyof typeof mailTemplates

export interface RenderedMail {
  subject: string
  text: string
  html: string
}

export function isMailTemplate(name: string): name is MailTemplate {
  return name in mailTemplates
}

/** The day format of an email: in the time zone its data names (the person's market), else UTC. */
function dayFormat(locale: string, timeZone: unknown): Intl.DateTimeFormat {
  if (typeof timeZone === 'string') {
    try {
      return new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone })
    } catch {
      // An unknown zone: the day in UTC, never a failed email.
    }
  }
  return new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' })
}

function localDates(template: MailTemplate, locale: string, data: Record<string, string | number>): Record<string, string | number> {
  const spec = mailTemplates[template]
  const format = dayFormat(locale, data.timeZone)
  const dates = Object.fromEntries(('dates' in spec ? spec.dates : []).flatMap((field) => {
    const value = data[field]
    const when = typeof value === 'string' ? new Date(value) : undefined
    return when && !Number.isNaN(when.getTime()) ? [[field, format.format(when)]] : []
  }))
  const durations = Object.fromEntries(Object.entries('durations' in spec ? spec.durations : {}).flatMap(([field, unit]) => {
    const value = Number(data[field])
    return Number.isFinite(value) && value > 0 ? [[field, formatDuration(locale, unit === 'days' ? value * 1440 : value)]] : []
  }))
  return { ...data, ...dates, ...durations }
}

/** The key prefix of a template's texts: the realm's own texts when it has them. */
function textsOf(template: MailTemplate, locale: string, realm: unknown): string {
  const own = typeof realm === 'string' && /^[a-z]+$/.test(realm) ? `mail.${template}.${realm}` : undefined
  return own && t(locale, `${own}.subject`) !== `${own}.subject` ? own : `mail.${template}`
}

export function renderMail(template: MailTemplate, locale: string, rawData: Record<string, string | number>): RenderedMail {
  const data = localDates(template, locale, rawData)
  const tr = (key: string) => t(locale, key, data)
  const texts = textsOf(template, locale, data.realm)
  const paragraphs = tr(`${texts}.body`).split('\n\n')
  const url = typeof data.url === 'string' ? data.url : undefined
  const action = mailTemplates[template].action && url ? { label: tr(`${texts}.action`), url } : undefined
  const greeting = tr('mail.greeting')
  const signature = tr('mail.signature')
  const footer = tr('mail.footer')
  const text = [greeting, ...paragraphs, ...(action ? [`${action.label}:\n${action.url}`] : []), signature, `--\n${footer}`].join('\n\n')
  const html = `<!doctype html>${renderToString(
    <html lang={locale}>
      <head><meta charset="utf-8" /><title>{tr(`${texts}.subject`)}</title></head>
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
  return { subject: tr(`${texts}.subject`), text, html }
}
