import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ParsedMail } from 'mailparser'
import { setClock, withClock } from '../../shared/clock.js'
import { actorOf, company, market, system, user, type UserRow } from '../../../test/factories.js'
import { helpContent } from '../../../test/desk-factories.js'
import { useTestApp } from '../../../test/helpers.js'
import { useMailbox } from '../../../test/mailbox.js'

/**
 * What a person reads in the lifecycle's emails and the article they point to: the warning says
 * what to do when the password is forgotten, a Parts Shop account hears of the Parts Shop and its
 * own rule, and a restored account is told, in its language, that access is back and what next.
 */
const mailbox = useMailbox()
const testApp = useTestApp({ env: () => ({ SMTP_URL: mailbox().url }) })
const app = () => testApp().app
const publicUrl = () => testApp().config.publicUrl
const DAY = 24 * 60 * 60 * 1000
/** Day 0: years before the administrators' own activity, so no sweep reaches them. */
const T0 = new Date('2019-01-05T09:00:00Z')
const day = (n: number) => new Date(T0.getTime() + n * DAY)

async function inactiveSince(at: Date, input: { realm?: string; locale: string; company?: Awaited<ReturnType<typeof company>> }): Promise<UserRow> {
  const restore = setClock(at)
  try {
    return await user(app(), { realm: input.realm ?? 'partner', firstName: 'Lia', lastName: 'Life', locale: input.locale, lastActivityAt: at, company: input.company ?? null })
  } finally {
    restore()
  }
}

async function lastMailTo(row: UserRow): Promise<ParsedMail> {
  await app().mailer.drain()
  const mail = mailbox().to(row.email ?? '').at(-1)
  assert.ok(mail, `an email to ${row.userId}`)
  return mail
}

/** What to do with a forgotten password, as each language's warning says it. */
const forgotten: Record<string, RegExp[]> = {
  it: [/Non ricordi la password/, /«Password dimenticata\?»/, /rivolgiti all'amministratore di mercato oppure chiedi aiuto indicando ID utente, nome e cognome, email, ragione sociale e indirizzo dell'azienda/],
  en: [/Forgot (?:your|the Parts Shop) password\?/, /“Forgot your password\?”/, /ask your market administrator, or ask for help with your user ID, first and last name, email address, company name and company address/],
  de: [/Passwort vergessen\?/, /„Passwort vergessen\?“/, /wenden Sie sich an Ihren Marktadministrator oder fordern Sie Hilfe an, und nennen Sie dabei Benutzer-ID, Vor- und Nachnamen, E-Mail-Adresse, Firmenname und Firmenadresse/],
}
/** The Parts Shop's own rule, as each language names it. */
const shopRule: Record<string, RegExp> = {
  it: /il Parts Shop ha un ID utente, una password e una regola propri per gli account inutilizzati/i,
  en: /the Parts Shop has its own user ID, password and rule for unused accounts/i,
  de: /der Parts Shop hat eine eigene Benutzer-ID, ein eigenes Passwort und eine eigene Regel für ungenutzte Konten/i,
}

describe('the lifecycle emails, as the person reads them', () => {
  test('the warning before the block says what to do if the password is forgotten, in it, en and de, for partner and Parts Shop accounts', async () => {
    // One after another: each moves the shared clock and puts it back.
    const accounts: { locale: string; realm: string; row: UserRow }[] = []
    for (const locale of ['it', 'en', 'de']) for (const realm of ['partner', 'shop']) accounts.push({ locale, realm, row: await inactiveSince(T0, { realm, locale }) })
    await app().services.lifecycle.sweep(system, { now: day(150) }, { publicUrl: publicUrl() })
    for (const { locale, realm, row } of accounts) {
      const mail = await lastMailTo(row)
      const text = String(mail.text)
      for (const expected of forgotten[locale] ?? []) assert.match(text, expected, `${locale} ${realm}: ${String(expected)}`)
      assert.ok(text.includes(`${publicUrl()}/${locale}${realm === 'shop' ? '/shop' : ''}/login\n`), `${locale} ${realm}: the realm's own sign-in page`)
      if (realm === 'shop') {
        assert.match(String(mail.subject), /Parts Shop|Parts-Shop/, `${locale}: the subject names the Parts Shop account`)
        assert.match(text, shopRule[locale] ?? /never/, `${locale}: the shop's own rule`)
      } else {
        assert.doesNotMatch(text, /Parts Shop/, `${locale}: a partner warning does not speak of the shop`)
      }
    }
  })

  test('a Parts Shop account reminded by an administrator hears of the Parts Shop and its rule, with the shop\'s sign-in link', async () => {
    const italy = await market(app())
    const garage = await company(app(), { market: italy })
    const now = day(145 + 200)
    const shop = await inactiveSince(day(200), { realm: 'shop', locale: 'it', company: garage })
    const partner = await inactiveSince(day(200), { realm: 'partner', locale: 'de', company: garage })
    const admin = await actorOf(app(), await user(app(), { roles: [{ role: 'market_admin', marketId: italy.id }] }))
    const reminded = await withClock(now, () => app().services.lifecycle.remind(admin, { marketId: italy.id, companyId: null }, 30, { publicUrl: publicUrl() }))
    assert.equal(reminded.queued, 2)

    const shopMail = await lastMailTo(shop)
    assert.equal(shopMail.subject, 'Accedi al Parts Shop per mantenere il tuo account Parts Shop')
    const shopText = String(shopMail.text)
    assert.match(shopText, shopRule.it ?? /never/)
    assert.match(shopText, /Gli accessi al portale partner e alle sue applicazioni non contano per il Parts Shop/)
    assert.doesNotMatch(shopText, /sul portale partner .* non viene usato/, 'not the partner account\'s text')
    assert.ok(shopText.includes(`${publicUrl()}/it/shop/login\n`))
    for (const expected of forgotten.it ?? []) assert.match(shopText, expected)

    const partnerMail = await lastMailTo(partner)
    assert.equal(partnerMail.subject, 'Melden Sie sich an, um Ihr Partnerkonto zu behalten')
    for (const expected of forgotten.de ?? []) assert.match(String(partnerMail.text), expected)
  })

  test('restoring access emails the person in their language that access is back and what to do next', async () => {
    const italy = await market(app())
    const garage = await company(app(), { market: italy })
    const klaus = await user(app(), { firstName: 'Klaus', lastName: 'Becker', locale: 'de', status: 'blocked', company: garage })
    const mario = await user(app(), { realm: 'shop', firstName: 'Mario', lastName: 'Rossi', locale: 'it', status: 'blocked', company: garage })
    const ann = await user(app(), { firstName: 'Ann', lastName: 'Lee', locale: 'en', status: 'blocked', company: garage })
    for (const row of [klaus, mario, ann]) await app().services.administration.restoreAccess(system, row.id, { publicUrl: publicUrl() })

    const de = await lastMailTo(klaus)
    assert.equal(de.subject, 'Ihr Zugang ist wieder aktiv')
    const deText = String(de.text)
    assert.match(deText, /^Guten Tag Klaus Becker,/)
    assert.match(deText, new RegExp(`Ihr Marktadministrator hat Ihr Konto ${klaus.userId.replace(/\./g, '\\.')} wiederhergestellt`))
    assert.match(deText, /So geht es weiter: Melden Sie sich mit Ihrer Benutzer-ID/)
    assert.match(deText, /„Passwort vergessen\?“/)
    assert.ok(deText.includes(`${publicUrl()}/de/login\n`), 'a link to the sign-in page in German')

    const it = await lastMailTo(mario)
    assert.equal(it.subject, 'Il tuo accesso al Parts Shop è di nuovo attivo')
    const itText = String(it.text)
    assert.match(itText, /^Buongiorno Mario Rossi,/)
    assert.match(itText, /Cosa fare adesso: accedi con l'ID utente .* e la password del Parts Shop, che sono diversi da quelli dell'account partner/)
    assert.ok(itText.includes(`${publicUrl()}/it/shop/login\n`), 'the Parts Shop\'s sign-in page')

    const en = await lastMailTo(ann)
    assert.equal(en.subject, 'Your access has been restored')
    assert.match(String(en.text), /What to do next: sign in with your user ID/)
    assert.match(String(en.text), /If you are an organization administrator, confirm your company's aftersales partner/)
  })

  test('the "account will be blocked soon" article says what to do if the password is forgotten, in every language', async () => {
    await helpContent(app(), ['account-status'])
    const expected: Record<string, RegExp[]> = {
      it: [/Password dimenticata\?/, /amministratore di mercato/, /ID utente/, /nome e cognome/, /indirizzo email|email/, /ragione sociale e indirizzo|nome e indirizzo dell'azienda|indirizzo dell'azienda/],
      en: [/Forgot your password\?/, /market administrator/, /your user ID/, /your first and last name/, /your email address/, /your company name and address/],
      de: [/Passwort vergessen\?/, /Marktadministrator/, /Benutzer-ID/, /Vor- und Nachname/, /E-Mail-Adresse/, /Firmenname und .*adresse|Name und Adresse Ihres Unternehmens|Firmenname/],
    }
    for (const [locale, patterns] of Object.entries(expected)) {
      const found = await app().inject({ url: `/${locale}/help/keys/blocked-soon-email` })
      assert.equal(found.statusCode, 302, `${locale}: the article by its key`)
      const page = await app().inject({ url: String(found.headers.location) })
      assert.equal(page.statusCode, 200)
      const text = page.body.replace(/<[^>]+>/g, ' ').replace(/&#x27;|&#39;/g, "'").replace(/\s+/g, ' ')
      for (const pattern of patterns) assert.match(text, pattern, `${locale}: ${String(pattern)}`)
    }
  })
})
