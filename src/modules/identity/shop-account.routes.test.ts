import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { TEST_PASSWORD, actorOf, company, market, reload, signInResponse, user, type UserRow } from '../../../test/factories.js'
import { platformAdmin } from '../../../test/desk-factories.js'
import { testBrowser, useTestApp, type Browser } from '../../../test/helpers.js'
import { useMailbox } from '../../../test/mailbox.js'

const mailbox = useMailbox()
const testApp = useTestApp({ env: () => ({ SMTP_URL: mailbox().url }) })
const app = () => testApp().app
const NEW_PASSWORD = 'copper lantern orchard 42'

/** The visible text of a page, tags dropped, spaces collapsed. */
const textOf = (html: string) => html.replace(/<(script|style)[\s\S]*?<\/\1>/g, ' ').replace(/<[^>]+>/g, ' ').replace(/&#x27;|&#39;/g, "'").replace(/\s+/g, ' ')

/** One person with both accounts, as the demo's Mario Rossi: a partner account and a Parts Shop account. */
async function twinAccounts(locale = 'it'): Promise<{ partner: UserRow; shop: UserRow }> {
  const garage = await company(testApp(), { market: await market(testApp()), name: 'Autofficina Rossi S.r.l.', street: 'Via Emilia 120', postalCode: '40133', city: 'Bologna' })
  const partner = await user(testApp(), { realm: 'partner', firstName: 'Mario', lastName: 'Rossi', locale, company: garage })
  const shop = await user(testApp(), { realm: 'shop', firstName: 'Mario', lastName: 'Rossi', locale, company: garage, email: partner.email })
  return { partner, shop }
}

async function signedInTo(account: UserRow, locale = 'it'): Promise<Browser> {
  const b = testBrowser(app)
  await signInResponse(b, account, { locale })
  return b
}

describe('the Parts Shop account page', () => {
  test('a shop session has its own page, linked from the header, under the shop\'s own rule for unused accounts', async () => {
    const platform = await platformAdmin(testApp())
    // The shop's own rule, shorter than the partner realm's: the page must show the shop's days.
    await app().services.lifecycle.updatePolicy(await actorOf(app(), platform), 'shop', { warnBlockDays: 60, blockDays: 90, warnDeleteDays: 300, deleteDays: 365 }, {})
    const { shop } = await twinAccounts('it')
    const b = await signedInTo(shop)

    const help = await b.get('/it/help')
    assert.match(help.body, /<a href="\/it\/shop\/account">Il mio account<\/a>/, 'the header links the shop account page')
    assert.doesNotMatch(help.body, /href="\/it\/account"/, 'not the partner account page')

    const page = await b.get('/it/shop/account')
    assert.equal(page.statusCode, 200)
    assert.equal(page.headers['cache-control'], 'no-store')
    const text = textOf(page.body)
    assert.match(text, /Il tuo account Parts Shop/)
    assert.match(text, /Il Parts Shop ha un ID utente, una password e una regola per gli account inutilizzati propri/)
    assert.match(text, new RegExp(`ID utente ${shop.userId.replace(/\./g, '\\.')}`))
    assert.match(text, /Conta solo l'accesso al Parts Shop, non quello al portale partner/)
    const lastActivity = shop.lastActivityAt ?? shop.createdAt
    const on = (days: number) => new Intl.DateTimeFormat('it', { dateStyle: 'long' }).format(new Date(lastActivity.getTime() + days * 86_400_000))
    assert.match(text, new RegExp(`riceverai un avviso il ${on(60)} e sarà bloccato il ${on(90)}`), 'the shop\'s 60 and 90 days, not the partner realm\'s 150 and 180')
    for (const action of ['/it/shop/account/profile', '/it/shop/account/password', '/it/shop/account/sessions/revoke-others']) {
      assert.match(page.body, new RegExp(`action="${action}"`), action)
    }
    assert.match(page.body, /href="\/it\/shop\/password\/forgot"/, 'the shop\'s own password reset')
    assert.match(text, /Il tuo account partner ha un ID utente e una password propri: Accesso con l'account partner/)
    assert.doesNotMatch(text, /partner aftersales/, 'no aftersales-partner reminder: that is a partner-account duty')

    // Links in emails and articles name /{l}/account: a shop session is taken to its own page.
    const partnerPage = await b.get('/it/account')
    assert.equal(partnerPage.statusCode, 303)
    assert.equal(partnerPage.headers.location, '/it/shop/account')
  })

  test('the shop password is changed on the shop page: other shop sessions end, the partner password stays, the email links the shop\'s reset', async () => {
    const { partner, shop } = await twinAccounts('de')
    const b = await signedInTo(shop, 'de')
    const other = await signedInTo(shop, 'de')

    const wrong = await b.post('/de/shop/account/password', { current: 'not the password', password: NEW_PASSWORD, confirm: NEW_PASSWORD }, { fromPage: '/de/shop/account' })
    assert.equal(wrong.statusCode, 422)
    assert.match(textOf(wrong.body), /Ihr Parts-Shop-Konto/, 'the error is shown on the shop page')
    assert.match(textOf(wrong.body), /Ihr aktuelles Passwort ist nicht richtig\./)

    const changed = await b.post('/de/shop/account/password', { current: TEST_PASSWORD, password: NEW_PASSWORD, confirm: NEW_PASSWORD }, { fromPage: '/de/shop/account' })
    assert.equal(changed.statusCode, 303)
    assert.equal(changed.headers.location, '/de/shop/account?done=password')
    assert.match(textOf((await b.get('/de/shop/account?done=password')).body), /Ihr Passwort ist geändert\./)
    assert.equal((await other.get('/de/shop/account')).headers.location, '/de/shop/login?next=/de/shop/account', 'the other shop session ended')

    assert.notEqual((await reload(testApp(), shop)).passwordHash, shop.passwordHash)
    assert.equal((await reload(testApp(), partner)).passwordHash, partner.passwordHash, 'the partner account keeps its password')
    await signInResponse(testBrowser(app), partner, { locale: 'de' })

    await app().mailer.drain()
    const mail = mailbox().to(shop.email ?? '').at(-1)
    assert.ok(mail, 'the owner is told')
    assert.equal(mail.subject, 'Ihr Passwort wurde geändert')
    assert.ok(String(mail.text).includes(`${testApp().config.publicUrl}/de/shop/password/forgot\n`), 'the email links the Parts Shop\'s password reset')
  })

  test('name, language and sessions are managed there too; a profile saved in another language comes back in it', async () => {
    const { shop } = await twinAccounts('it')
    const b = await signedInTo(shop)
    await signedInTo(shop)
    const saved = await b.post('/it/shop/account/profile', { firstName: 'Mario', lastName: 'Rossi Ricambi', locale: 'en' }, { fromPage: '/it/shop/account' })
    assert.equal(saved.statusCode, 303)
    assert.equal(saved.headers.location, '/en/shop/account?done=profile')
    assert.equal((await reload(testApp(), shop)).lastName, 'Rossi Ricambi')
    assert.match(textOf((await b.get('/en/shop/account?done=profile')).body), /Your profile is saved\./)

    const others = await b.post('/en/shop/account/sessions/revoke-others', {}, { fromPage: '/en/shop/account' })
    assert.equal(others.headers.location, '/en/shop/account?done=sessions')
    const page = textOf((await b.get('/en/shop/account')).body)
    assert.equal(page.match(/this device/g)?.length, 1, 'one session left, this one')
  })

  test('a partner session does not manage the shop account, and a guest is sent to the shop\'s sign-in and back', async () => {
    const { partner, shop } = await twinAccounts('en')
    const b = await signedInTo(partner, 'en')
    const page = await b.get('/en/shop/account')
    assert.equal(page.statusCode, 303)
    assert.equal(page.headers.location, '/en/shop/login?next=/en/shop/account')
    const posted = await b.post('/en/shop/account/password', { current: TEST_PASSWORD, password: NEW_PASSWORD, confirm: NEW_PASSWORD }, { fromPage: '/en/account' })
    assert.equal(posted.statusCode, 303)
    assert.equal(posted.headers.location, '/en/shop/login?next=/en/shop/account')
    assert.equal((await reload(testApp(), partner)).passwordHash, partner.passwordHash, 'nothing changed')
    assert.equal((await reload(testApp(), shop)).passwordHash, shop.passwordHash, 'nothing changed')
    assert.equal((await b.get('/en/account')).statusCode, 200, 'the partner page stays the partner account\'s')

    const guest = testBrowser(app)
    assert.equal((await guest.get('/en/shop/account')).headers.location, '/en/shop/login?next=/en/shop/account')
    const signedIn = await signInResponse(guest, shop, { locale: 'en', next: '/en/shop/account' })
    assert.equal(signedIn.headers.location, '/en/shop/account')
  })
})
