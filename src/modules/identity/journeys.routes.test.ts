import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { TEST_PASSWORD, company, failInserts, mailsTo, reload, signInResponse, system, user } from '../../../test/factories.js'
import { agent, deskMarket, marketAdmin, partnerCompany, rolesOf, signedIn, workshop } from '../../../test/desk-factories.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'

const testApp = useTestApp()
const app = () => testApp().app
const browser = () => testBrowser(app)
const ctx = () => ({ publicUrl: testApp().config.publicUrl })

/** The text of a page's one error or notice paragraph. */
function textOf(html: string, selector: 'error-message' | 'reminder'): string {
  const found = selector === 'error-message'
    ? /<p class="error-message"[^>]*>([^<]*)<\/p>/.exec(html)?.[1]
    : /<section class="notice urgent reminder"[^>]*>([\s\S]*?)<\/section>/.exec(html)?.[1]
  return (found ?? '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()
}

async function partnerReviewOf(companyId: number): Promise<Date | null> {
  return (await app().services.organizations.company(system, companyId))?.partnerReviewRequestedAt ?? null
}

describe('the sign-in pages', () => {
  test('explain identity and access management and link to registration, partner and Parts Shop, in every language', async () => {
    const texts: Record<string, RegExp[]> = {
      it: [/Gestione identità e accessi/, /amministratore di mercato/, /Registrati come partner/],
      en: [/Identity and access management/, /market administrator/, /Register for a partner account/],
      de: [/Identitäts- und Zugriffsverwaltung/, /Marktadministrator/, /Als Partner registrieren/],
    }
    for (const [locale, expected] of Object.entries(texts)) {
      const partnerPage = await browser().get(`/${locale}/login`)
      assert.equal(partnerPage.statusCode, 200)
      for (const text of expected) assert.match(partnerPage.body, text, `${locale}: ${String(text)}`)
      assert.match(partnerPage.body, new RegExp(`href="/${locale}/register"`))
      assert.match(partnerPage.body, new RegExp(`href="/${locale}/password/forgot"`))
      assert.match(partnerPage.body, new RegExp(`href="/${locale}/help/keys/account-blocked"`))
      const shopPage = await browser().get(`/${locale}/shop/login`)
      assert.match(shopPage.body, new RegExp(`href="/${locale}/shop/register"`), `${locale}: the shop's own registration`)
      assert.match(shopPage.body, new RegExp(`href="/${locale}/shop/password/forgot"`))
      for (const body of [partnerPage.body, shopPage.body]) assert.doesNotMatch(body, /\{\w+\}|…<|auth\.iam\./, `${locale}: no placeholder or key`)
    }
  })

  test('a refused sign-in carries the typed user ID to "Ask for help", which does not ask for it again', async () => {
    const market = await deskMarket(testApp())
    const blocked = await user(app(), { company: await workshop(testApp(), market), status: 'blocked', locale: 'it' })
    const b = browser()
    const refused = await b.post('/it/login', { identifier: blocked.userId, password: TEST_PASSWORD })
    assert.equal(refused.statusCode, 403)
    const link = /href="(\/it\/support\/new\?topic=account-status&amp;login=[^"]+)"/.exec(refused.body)?.[1]
    assert.ok(link, 'the blocked page\'s "Ask for help" carries the user ID')
    const form = await b.get(link.replaceAll('&amp;', '&'))
    assert.equal(form.statusCode, 200)
    assert.match(form.body, new RegExp(`id="identity-userId" name="identity.userId" type="text" value="${blocked.userId}"`))
    assert.equal((form.body.match(/name="(?:identity\.)?email"/g) ?? []).length, 1, 'the email address is asked once')
    assert.equal((form.body.match(/name="(?:identity\.)?companyName"/g) ?? []).length, 1, 'the company is asked once')
  })
})

describe('where people land after signing in', () => {
  test('after an administrator\'s reset with a new email address, the email step comes first and says why', async () => {
    const market = await deskMarket(testApp())
    const lost = await user(app(), { company: await workshop(testApp(), market), locale: 'it', status: 'blocked' })
    await app().services.administration.issueAdminReset(system, lost.id, { newEmail: 'nuova.casella@officina.example' }, ctx())
    assert.equal((await reload(testApp(), lost)).emailVerifiedAt, null)
    const b = browser()
    const signedInNow = await b.post('/it/login', { identifier: lost.userId, password: TEST_PASSWORD })
    assert.equal(signedInNow.statusCode, 303)
    assert.equal(signedInNow.headers.location, '/it/account/email', 'never dropped on the help center')
    const page = await b.get('/it/account/email')
    assert.match(page.body, /Solo dopo la conferma puoi continuare a lavorare/)
    assert.match(page.body, /value="nuova.casella@officina.example"/)
  })

  test('administrators and support agents land on their workspace with their consoles in the header; others on the help center', async () => {
    const market = await deskMarket(testApp())
    const admin = await marketAdmin(testApp(), market)
    const deskAgent = await agent(testApp(), market)
    const plain = await user(app(), { company: await workshop(testApp(), market) })
    const pending = await user(app(), { company: await workshop(testApp(), market), status: 'pending_approval' })

    const adminBrowser = browser()
    assert.equal((await signInResponse(adminBrowser, admin)).headers.location, '/en/workspace', 'after the password and the code')
    const adminWorkspace = await adminBrowser.get('/en/workspace')
    assert.equal(adminWorkspace.statusCode, 200)
    assert.match(adminWorkspace.body, /<nav class="primary"[\s\S]*href="\/en\/admin">Administration<\/a>[\s\S]*<\/nav>/)
    assert.match(adminWorkspace.body, /1 account is waiting for your approval/)
    assert.ok(pending)

    const agentBrowser = browser()
    assert.equal((await signInResponse(agentBrowser, deskAgent, { locale: 'de' })).headers.location, '/de/workspace')
    const agentWorkspace = await agentBrowser.get('/de/workspace')
    assert.match(agentWorkspace.body, /href="\/de\/agent\/tickets">Warteschlange<\/a>/)
    assert.match(agentWorkspace.body, /0 Supportanfragen in Ihren Märkten sind noch nicht gelöst/)
    assert.doesNotMatch(agentWorkspace.body, /href="\/de\/admin"/, 'an agent has no administration console')

    const plainBrowser = browser()
    assert.equal((await plainBrowser.post('/it/login', { identifier: plain.userId, password: TEST_PASSWORD })).headers.location, '/it/help')
    const help = await plainBrowser.get('/it/help')
    assert.doesNotMatch(help.body, /href="\/it\/admin"|href="\/it\/agent\/tickets"/)
    assert.match(help.body, /href="\/it\/support\/tickets">Le mie richieste<\/a>/)

    const withNext = browser()
    assert.equal((await signInResponse(withNext, admin, { next: '/en/admin/audit' })).headers.location, '/en/admin/audit', 'a page asked for comes first')
  })
})

describe('access restored', () => {
  test('the person is emailed in their language that access is back, in the same transaction', async () => {
    const market = await deskMarket(testApp())
    const blocked = await user(app(), { company: await workshop(testApp(), market), status: 'blocked', locale: 'de' })
    await app().services.administration.restoreAccess(system, blocked.id, ctx())
    const [mail] = await mailsTo(testApp(), blocked.email ?? '', 'access-restored')
    assert.ok(mail, 'an access-restored email is queued')
    assert.equal(mail.locale, 'de')
    assert.equal(mail.data.userId, blocked.userId)

    const other = await user(app(), { company: await workshop(testApp(), market), status: 'blocked', locale: 'it' })
    const heal = await failInserts(testApp(), 'outbox', "new.template = 'access-restored'")
    await assert.rejects(app().services.administration.restoreAccess(system, other.id, ctx()))
    await heal()
    assert.equal((await reload(testApp(), other)).status, 'blocked', 'no email, no restore')
  })

  test('an organization administrator who is back is reminded to confirm the partner on the account and admin pages, until done', async () => {
    const market = await deskMarket(testApp())
    const dealer = await partnerCompany(testApp(), market, { name: 'Concessionaria Emilia S.p.A.' })
    const garage = await workshop(testApp(), market, { partner: dealer, name: 'Officina Verdi' })
    const orgAdmin = await user(app(), { company: garage, status: 'blocked', locale: 'en', roles: [{ role: 'org_admin', companyId: garage.id }] })
    const colleague = await user(app(), { company: garage, status: 'blocked' })
    await app().services.administration.restoreAccess(system, colleague.id, ctx())
    assert.equal(await partnerReviewOf(garage.id), null, 'a colleague\'s reinstatement asks nothing of the administrators')

    await app().services.administration.restoreAccess(system, orgAdmin.id, ctx())
    const b = await signedIn(app, orgAdmin, 'en')
    for (const path of ['/en/account', '/en/admin', '/en/workspace']) {
      assert.match(textOf((await b.get(path)).body, 'reminder'), /check that its aftersales partner is still Concessionaria Emilia S\.p\.A\./, path)
    }
    const companyPage = await b.get(`/en/admin/companies/${String(garage.id)}`)
    assert.match(companyPage.body, /Keep Concessionaria Emilia S\.p\.A\./)
    const kept = await b.post(`/en/admin/companies/${String(garage.id)}/partner`, { partnerId: String(dealer.id) }, { fromPage: `/en/admin/companies/${String(garage.id)}` })
    assert.equal(kept.statusCode, 303)
    assert.equal(await partnerReviewOf(garage.id), null)
    assert.equal(textOf((await b.get('/en/account')).body, 'reminder'), '', 'done: no more reminder')
  })
})

describe('a new independent workshop', () => {
  test('is approved from its pending page; its founder becomes organization administrator and is asked to choose the partner', async () => {
    const market = await deskMarket(testApp())
    const dealer = await partnerCompany(testApp(), market, { name: 'Autohaus Nord GmbH', city: 'Hamburg' })
    const admin = await marketAdmin(testApp(), market, { locale: 'de' })
    const garage = await company(testApp(), { market, name: 'Werkstatt Neu', status: 'pending_approval' })
    const founder = await user(app(), { company: garage, status: 'pending_approval', firstName: 'Nina', lastName: 'Neu', locale: 'de' })

    const adminBrowser = await signedIn(app, admin, 'de')
    const pendingPage = await adminBrowser.get(`/de/admin/companies/${String(garage.id)}`)
    assert.match(pendingPage.body, /Neue Werkstatt wartet auf Freigabe/)
    assert.match(pendingPage.body, new RegExp(`Registriert von Nina Neu \\(Benutzer-ID ${founder.userId}`))
    const approved = await adminBrowser.post(`/de/admin/users/${String(founder.id)}/approve`, { company: String(garage.id) }, { fromPage: `/de/admin/companies/${String(garage.id)}` })
    assert.equal(approved.statusCode, 303)
    assert.equal(approved.headers.location, `/de/admin/companies/${String(garage.id)}?done=approved`)
    assert.deepEqual((await rolesOf(testApp(), founder)).map((r) => r.role).sort(), ['org_admin', 'user'])

    const founderBrowser = browser()
    // An organization administrator now: asked to add a second factor, with the sign-ins left to do it, then on to the workspace.
    assert.equal((await founderBrowser.post('/de/login', { identifier: founder.userId, password: TEST_PASSWORD })).headers.location, '/de/account/second-factor?next=%2Fde%2Fworkspace')
    assert.match((await founderBrowser.get('/de/account/second-factor?next=%2Fde%2Fworkspace')).body, /Sie können sich noch 2-mal ohne zweiten Faktor anmelden/)
    assert.match(textOf((await founderBrowser.get('/de/workspace')).body, 'reminder'), /Werkstatt Neu hat noch keinen Aftersales-Partner/)
    const choices = await founderBrowser.get(`/de/admin/companies/${String(garage.id)}?partnerQ=hamburg`)
    assert.match(choices.body, /Autohaus Nord GmbH/)
    const chosen = await founderBrowser.post(`/de/admin/companies/${String(garage.id)}/partner`, { partnerId: String(dealer.id) }, { fromPage: `/de/admin/companies/${String(garage.id)}?partnerQ=hamburg` })
    assert.equal(chosen.statusCode, 303)
    assert.equal(textOf((await founderBrowser.get('/de/account')).body, 'reminder'), '')
  })

  test('refused from its pending page, it goes back there and the registration is gone', async () => {
    const market = await deskMarket(testApp())
    const admin = await marketAdmin(testApp(), market)
    const garage = await company(testApp(), { market, name: 'Garage Maybe', status: 'pending_approval' })
    const founder = await user(app(), { company: garage, status: 'pending_approval' })
    const b = await signedIn(app, admin, 'en')
    const refused = await b.post(`/en/admin/users/${String(founder.id)}/refuse`, { company: String(garage.id) }, { fromPage: `/en/admin/companies/${String(garage.id)}` })
    assert.equal(refused.statusCode, 303)
    assert.equal(refused.headers.location, `/en/admin/companies/${String(garage.id)}?done=refused`)
    assert.equal((await reload(testApp(), founder)).status, 'deleted')
  })
})

test('the journeys\' new addresses and fields answer hostile values with a 4xx or a page, never a 5xx or reflected markup', async () => {
  const market = await deskMarket(testApp())
  const admin = await marketAdmin(testApp(), market)
  const garage = await company(testApp(), { market, status: 'pending_approval' })
  const founder = await user(app(), { company: garage, status: 'pending_approval' })
  const b = await signedIn(app, admin, 'en')
  const values = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', 'x'.repeat(5000), '\u0000\u202e', '-1', '../../etc/passwd']
  for (const value of values) {
    for (const url of [`/en/support/new?topic=account-status&login=${encodeURIComponent(value)}`, `/${encodeURIComponent(value)}`, `/en/help/keys/${encodeURIComponent(value)}`, '/en/workspace', '/en/support/tickets']) {
      const res = await b.get(url)
      assert.ok(res.statusCode < 500, `${url}: ${String(res.statusCode)}`)
      assert.doesNotMatch(res.body, /<script>alert|<img src=x/, url)
    }
    const approve = await b.post(`/en/admin/users/${String(founder.id)}/approve`, { company: value }, { fromPage: `/en/admin/companies/${String(garage.id)}` })
    assert.ok(approve.statusCode >= 400 && approve.statusCode < 500, `approve with company=${value.slice(0, 20)}: ${String(approve.statusCode)}`)
  }
  assert.equal((await reload(testApp(), founder)).status, 'pending_approval', 'nothing was approved')
})
