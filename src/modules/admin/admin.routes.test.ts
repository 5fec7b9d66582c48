import assert from 'node:assert/strict'
import { parse } from 'csv-parse/sync'
import { describe, test } from 'node:test'
import { actorOf, company, market, partner, signIn, system, user, type CompanyRow, type MarketRow, type UserRow } from '../../../test/factories.js'
import { cookieHeader, csrfFrom, testBrowser, useFixture, useTestApp, type Browser } from '../../../test/helpers.js'
import { useMailbox } from '../../../test/mailbox.js'

const mailbox = useMailbox()
const testApp = useTestApp({ env: () => ({ SMTP_URL: mailbox().url }) })
const ctx = () => ({ publicUrl: testApp().config.publicUrl })

async function account(userId: string, realm = 'partner') {
  const found = await testApp().app.services.auth.findAccount(system, realm, userId)
  assert.ok(found, userId)
  return found
}

async function signedIn(who: UserRow): Promise<Browser> {
  return signIn(testBrowser(() => testApp().app), who)
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Two markets with a workshop each, partners to choose from, and one account per role: a member
 * and an organization administrator of the Italian workshop, the Italian market administrator, a
 * German agent, a German and a British member, and a platform administrator.
 */
let italy: MarketRow, germany: MarketRow, britain: MarketRow
let officina: CompanyRow, werkstatt: CompanyRow, bologna: CompanyRow, milano: CompanyRow, cologne: CompanyRow
let member: UserRow, orgAdmin: UserRow, marketAdmin: UserRow, agentDe: UserRow, klaus: UserRow, james: UserRow, platform: UserRow
useFixture(testApp, async (app) => {
  ;[italy, germany, britain] = [await market(app), await market(app), await market(app)]
  officina = await company(app, { market: italy, name: 'Officina Blu S.r.l.', street: 'Via Emilia 120', postalCode: '40133', city: 'Bologna' })
  werkstatt = await company(app, { market: germany, name: 'Werkstatt Weiss GmbH', street: 'Hauptstraße 45', postalCode: '50667', city: 'Köln' })
  bologna = await partner(app, { market: italy, name: 'Concessionaria Felsinea', city: 'Bologna' })
  milano = await partner(app, { market: italy, name: 'Service Lombardo', city: 'Milano' })
  cologne = await partner(app, { market: germany, name: 'Autohaus am Rhein', city: 'Köln' })
  member = await user(app, { userId: 'mario.membro', company: officina, locale: 'it' })
  orgAdmin = await user(app, { userId: 'giulia.capo', company: officina, locale: 'it', roles: [{ role: 'org_admin', companyId: officina.id }] })
  marketAdmin = await user(app, { userId: 'luca.mercato', locale: 'it', roles: [{ role: 'market_admin', marketId: italy.id }] })
  agentDe = await user(app, { userId: 'anna.agentin', locale: 'de', roles: [{ role: 'support_agent', marketId: germany.id }] })
  klaus = await user(app, { userId: 'klaus.weiss', company: werkstatt, locale: 'de' })
  james = await user(app, { userId: 'james.garage', company: await company(app, { market: britain }), locale: 'en' })
  platform = await user(app, { userId: 'paula.piattaforma', roles: [{ role: 'platform_admin' }] })
})

/** A multipart form post with one CSV file, the way the import form sends it. */
async function uploadCsv(b: Browser, url: string, csv: string | Buffer, fields: Record<string, string> = {}) {
  const page = await b.get(url)
  const boundary = '----sportello-test-boundary'
  const parts = Object.entries({ _csrf: csrfFrom(page.body), ...fields }).map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
  const payload = Buffer.concat([
    Buffer.from(parts.join('')),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="users.csv"\r\nContent-Type: text/csv\r\n\r\n`),
    Buffer.isBuffer(csv) ? csv : Buffer.from(csv), Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
  return testApp().app.inject({ method: 'POST', url, payload, headers: { cookie: cookieHeader(b.jar), 'content-type': `multipart/form-data; boundary=${boundary}` } })
}

describe('who may do what', () => {
  test('guests are sent to sign in, users without a scope get 403 in their language', async () => {
    const guest = await testBrowser(() => testApp().app).get('/en/admin/users')
    assert.equal(guest.statusCode, 303)
    assert.equal(guest.headers.location, '/en/login?next=%2Fen%2Fadmin%2Fusers')
    const page = await (await signedIn(member)).get('/it/admin/users')
    assert.equal(page.statusCode, 403)
    assert.match(page.body, /Non sei autorizzato a fare questa operazione/)
  })

  test('role × action × scope: each administrator acts inside their scope only, and nothing changes outside it', async () => {
    const { app } = testApp()
    const details = (c: CompanyRow) => ({ name: c.name, street: c.street, postalCode: c.postalCode, city: c.city, contactPhone: '', contactEmail: '' })
    const claims = { userId: 'x', firstName: 'x', lastName: 'x', email: 'x', companyName: 'x', companyAddress: 'x' }
    type Actor = Awaited<ReturnType<typeof actorOf>>
    const actions: Record<string, (a: Actor) => Promise<unknown>> = {
      'view IT user': (a) => app.services.administration.userRecord(a, member.id),
      'view DE user': (a) => app.services.administration.userRecord(a, klaus.id),
      'check identity of IT user': (a) => app.services.administration.checkIdentity(a, member.id, claims, ctx()),
      'edit IT company': (a) => app.services.organizations.updateCompanyDetails(a, officina.id, details(officina), {}),
      'edit DE company': (a) => app.services.organizations.updateCompanyDetails(a, werkstatt.id, details(werkstatt), {}),
      'IT report': (a) => app.services.admin.marketReport(a, italy.id),
      'lifecycle policy': (a) => app.services.lifecycle.updatePolicy(a, 'partner', { warnBlockDays: 150, blockDays: 180, warnDeleteDays: 335, deleteDays: 365 }, {}),
    }
    const allowed: [UserRow, string[]][] = [
      [member, []],
      [agentDe, []],
      [orgAdmin, ['view IT user', 'edit IT company']],
      [marketAdmin, ['view IT user', 'check identity of IT user', 'edit IT company', 'IT report']],
      [platform, Object.keys(actions)],
    ]
    for (const [who, permitted] of allowed) {
      const a = await actorOf(app, who)
      for (const [name, run] of Object.entries(actions)) {
        if (permitted.includes(name)) await run(a)
        else await assert.rejects(run(a), { code: 'FORBIDDEN_SCOPE' }, `${who.userId} must not ${name}`)
      }
    }
    const timeline = await app.services.administration.timeline(system, member.id)
    assert.equal(timeline.filter((e) => e.action === 'identity.checked').length, 2, 'only the allowed checks were recorded')
  })
})

describe('organization administrator', () => {
  test('sees only the company\'s users, edits its details and chooses a partner of its market', async () => {
    const b = await signedIn(orgAdmin)
    const list = await b.get('/it/admin/users')
    assert.equal(list.statusCode, 200)
    assert.match(list.body, new RegExp(escape(member.userId)))
    assert.doesNotMatch(list.body, new RegExp(`${escape(klaus.userId)}|${escape(james.userId)}`))
    assert.equal((await b.get(`/it/admin/users/${String(klaus.id)}`)).statusCode, 403)

    const id = officina.id
    const page = await b.get(`/it/admin/companies/${String(id)}?partnerQ=milano`)
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /Service Lombardo/)
    assert.doesNotMatch(page.body, /Autohaus am Rhein/)
    const chosen = await b.post(`/it/admin/companies/${String(id)}/partner`, { partnerId: String(milano.id) }, { fromPage: `/it/admin/companies/${String(id)}` })
    assert.equal(chosen.statusCode, 303)
    assert.match((await b.get(`/it/admin/companies/${String(id)}`)).body, /Il partner aftersales della tua azienda è Service Lombardo/)
    const foreign = await b.post(`/it/admin/companies/${String(id)}/partner`, { partnerId: String(cologne.id) }, { fromPage: `/it/admin/companies/${String(id)}` })
    assert.equal(foreign.statusCode, 422)
    assert.equal((await testApp().app.services.organizations.company(system, id))?.aftersalesPartnerId, milano.id, 'a partner of another market is not chosen')

    const saved = await b.post(`/it/admin/companies/${String(id)}`, { name: 'Officina Blu S.r.l.', street: 'Via Emilia 122', postalCode: '40133', city: 'Bologna', contactPhone: '+39 051 111', contactEmail: '' })
    assert.equal(saved.statusCode, 303)
    assert.equal((await testApp().app.services.organizations.findCompanyByNumber(system, officina.companyNumber))?.street, 'Via Emilia 122')
    const bad = await b.post(`/it/admin/companies/${String(id)}`, { name: '', street: '', postalCode: '', city: 'Bologna' })
    assert.equal(bad.statusCode, 400)

    const invited = await b.post(`/it/admin/companies/${String(id)}/invite`, { userId: 'nuovo.collega', firstName: 'Nina', lastName: 'Nuovi', email: 'nina@officina-blu.example', locale: 'it', role: 'user' }, { fromPage: `/it/admin/companies/${String(id)}` })
    assert.equal(invited.statusCode, 303)
    assert.equal((await account('nuovo.collega')).companyId, officina.id)
    await testApp().app.mailer.drain()
    assert.equal(mailbox().to('nina@officina-blu.example').at(-1)?.subject, 'Il tuo account sul portale partner Demo Motors')
  })

  test('approves a registration once (a second click changes nothing), refuses another, and both people are told', async () => {
    const { app } = testApp()
    const register = async (userId: string, email: string) => {
      const b = testBrowser(() => app)
      await b.post('/it/register', { userId, firstName: 'Rita', lastName: 'Registro', email, password: 'pebble orchard mango sail', confirm: 'pebble orchard mango sail', companyKind: 'existing', companyNumber: officina.companyNumber })
      await app.mailer.drain()
      const link = mailbox().linkIn(mailbox().to(email).at(-1), `${testApp().config.publicUrl}/it/verify/`)
      await b.get(new URL(link).pathname)
      return (await account(userId)).id
    }
    const waiting = await register('rita.reg', 'rita@officina-blu.example')
    const stranger = await register('not.ours', 'stranger@elsewhere.example')
    const b = await signedIn(orgAdmin)
    const page = await b.get(`/it/admin/users/${String(waiting)}`)
    assert.match(page.body, /In attesa di approvazione/)
    assert.equal((await b.post(`/it/admin/users/${String(waiting)}/approve`, {}, { fromPage: `/it/admin/users/${String(waiting)}` })).statusCode, 303)
    assert.equal((await b.post(`/it/admin/users/${String(waiting)}/approve`, {}, { fromPage: `/it/admin/users/${String(waiting)}` })).statusCode, 409)
    assert.equal((await account('rita.reg')).status, 'active')
    assert.equal((await b.post(`/it/admin/users/${String(stranger)}/refuse`, {}, { fromPage: `/it/admin/users/${String(stranger)}` })).statusCode, 303)
    assert.equal(await app.services.auth.findAccount(system, 'partner', 'not.ours'), undefined)
    await app.mailer.drain()
    assert.equal(mailbox().to('rita@officina-blu.example').at(-1)?.subject, 'Il tuo account partner è approvato')
    assert.equal(mailbox().to('stranger@elsewhere.example').at(-1)?.subject, 'La tua registrazione al portale partner non è stata approvata')
  })
})

describe('market administrator', () => {
  test('restores a blocked user only after a passed identity check, then sends a reset link', async () => {
    const { app } = testApp()
    const blocked = await user(app, { userId: 'fermo.it', firstName: 'Franco', lastName: 'Fermo', email: 'franco@officina-blu.example', locale: 'it', company: officina, status: 'blocked' })
    const b = await signedIn(marketAdmin)
    const url = `/it/admin/users/${String(blocked.id)}`
    const found = await b.get('/it/admin/users?q=fermo')
    assert.match(found.body, new RegExp(`href="${url}"`))
    const early = await b.post(`${url}/restore`, {}, { fromPage: url })
    assert.equal(early.statusCode, 422)
    assert.match(early.body, /Prima verifica l&#39;identità|Prima verifica l'identità/)
    const claims = { userId: 'fermo.it', firstName: 'Franco', lastName: 'Fermo', email: 'franco@officina-blu.example', companyName: 'Officina Blu', companyAddress: '' }
    const failed = await b.post(`${url}/check`, claims, { fromPage: url })
    assert.match(failed.body, /Identità non confermata/)
    assert.equal((await b.post(`${url}/restore`, {}, { fromPage: url })).statusCode, 422, 'a failed check restores nothing')
    const passed = await b.post(`${url}/check`, { ...claims, companyName: 'Officina Blu S.r.l.' }, { fromPage: url })
    assert.match(passed.body, /Identità confermata/)
    assert.equal((await b.post(`${url}/restore`, {}, { fromPage: url })).statusCode, 303)
    assert.equal((await account('fermo.it')).status, 'active')
    assert.equal((await b.post(`${url}/reset`, { newEmail: '' }, { fromPage: url })).statusCode, 303)
    await app.mailer.drain()
    const subjects = mailbox().to('franco@officina-blu.example').map((m) => m.subject)
    assert.ok(subjects.includes('Il tuo accesso è di nuovo attivo'), `told that access is back: ${subjects.join(', ')}`)
    assert.ok(subjects.includes('Scegli una nuova password'), `the reset link: ${subjects.join(', ')}`)
    const record = await b.get(url)
    // The timeline reads as sentences naming who acted, never as codes.
    assert.match(record.body, /amministratore di mercato, ha ripristinato l(&#39;|')accesso di Franco Fermo \(fermo\.it\)\./)
    assert.doesNotMatch(record.body, /account\.restored|identity\.checked|<code>/)
    assert.match(record.body, /Scegli una nuova password/, 'the emails sent are listed')
  })

  test('the audit log shows the market\'s events only and exports CSV', async () => {
    await signedIn(member)
    await signedIn(klaus)
    const b = await signedIn(marketAdmin)
    const page = await b.get('/it/admin/audit?action=sign_in')
    assert.equal(page.statusCode, 200)
    const signedInSentence = (u: { firstName: string; lastName: string }) => new RegExp(`<td>${escape(`${u.firstName} ${u.lastName}`)} ha effettuato l(&#39;|')accesso\\.</td>`)
    assert.match(page.body, signedInSentence(member))
    assert.doesNotMatch(page.body, signedInSentence(klaus))
    assert.doesNotMatch(page.body, /<code>|<td>(user|system|guest)<\/td>/)
    const csv = await b.get('/it/admin/audit.csv?action=account.')
    assert.equal(csv.statusCode, 200)
    assert.match(String(csv.headers['content-type']), /^text\/csv/)
    // The export reads like the log: Italian headers, sentences and names, no action codes or raw JSON.
    assert.match(csv.body, /^Quando,Che cosa è successo,Chi,Riguarda,Indirizzo IP,Ora \(UTC\),ID della richiesta \(log del server\)\n/)
    const rows = parse<Record<string, string>>(csv.body, { columns: true })
    assert.ok(rows.length > 0, 'the market\'s account events are exported')
    for (const row of rows) {
      assert.match(row['Che cosa è successo'] ?? '', /\.$/, 'each event is a sentence')
      assert.doesNotMatch(Object.values(row).join(' '), /\baccount\.[a-z_]+\b|\{"|\b(user|system|guest)#/, 'no codes or raw data')
      assert.match(row['Ora (UTC)'] ?? '', /^\d{4}-\d\d-\d\dT/)
    }
    assert.ok(rows.some((row) => /ha ripristinato l'accesso di Franco Fermo \(fermo\.it\)\./.test(row['Che cosa è successo'] ?? '')), 'a restore reads as a sentence naming the account')
    assert.ok(rows.some((row) => (row.Chi ?? '').includes('amministratore di mercato')), 'who acted, by name and role')
    assert.equal((await b.get('/it/admin/audit?from=not-a-date')).statusCode, 400)
  })

  test('imports a CSV all or nothing, with a report of each bad row', async () => {
    const b = await signedIn(marketAdmin)
    const url = `/it/admin/markets/${italy.code}/import`
    const header = 'user_id,first_name,last_name,email,company_number,realm,role,last_activity'
    const [it, de, partnerIt] = [officina.companyNumber, werkstatt.companyNumber, bologna.companyNumber]
    const bad = [
      header,
      `imp.one,Ugo,Uno,ugo@import.example,${it},partner,user,2026-01-10`,
      `imp.two,"=HYPERLINK(""http://evil.example"")",Due,due@import.example,${it},partner,user,`,
      `imp.three,Tea,Tre,ugo@import.example,${it},partner,user,`,
      `imp.four,Quinto,Quattro,q@import.example,${de},partner,user,`,
      'imp.five,Cinzia,Cinque,c@import.example,XX-0,partner,admin,',
    ].join('\n')
    const refused = await uploadCsv(b, url, bad)
    assert.equal(refused.statusCode, 422)
    assert.match(refused.body, /Riga 3, first_name: inizia come una formula/)
    assert.match(refused.body, /Riga 4, email: compare due volte nel file/)
    assert.match(refused.body, /Riga 5, company_number: questa azienda è fuori dai mercati che amministri/)
    assert.match(refused.body, /Riga 6, role: valore non valido/)
    assert.equal(await testApp().app.services.auth.findAccount(system, 'partner', 'imp.one'), undefined, 'nothing imported')

    assert.equal((await uploadCsv(b, url, 'user,name\nx,y\n')).statusCode, 422)
    const broken = await uploadCsv(b, url, `${header}\nimp.x,"unclosed,quote,,${it},partner,user,\n`)
    assert.equal(broken.statusCode, 422)
    assert.match(broken.body, /non è un CSV valido/)
    assert.equal((await uploadCsv(b, url, Buffer.alloc(6 * 1024 * 1024, 'a'))).statusCode, 413)

    const good = `${header}\nimp.one,Ugo,Uno,ugo@import.example,${it},partner,user,2026-01-10\nimp.two;;;\n`.replace('imp.two;;;\n', `imp.two,Dora,Due,,${partnerIt},partner,org_admin,\n`)
    const imported = await uploadCsv(b, url, good, { invite: 'true' })
    assert.equal(imported.statusCode, 200)
    assert.match(imported.body, /2 account importati\. 1 invito inviato\./)
    const one = await account('imp.one')
    assert.equal(one.status, 'active')
    assert.equal(one.emailVerifiedAt, null)
    assert.equal(one.lastActivityAt?.toISOString(), '2026-01-10T00:00:00.000Z')
    assert.equal(one.companyId, officina.id)
    assert.equal((await account('imp.two')).companyId, bologna.id)
    assert.equal((await uploadCsv(b, url, good)).statusCode, 422, 'importing the same file twice is refused: the user IDs exist')
  })

  test('the market report counts accounts by status as a page with a chart and as CSV', async () => {
    const b = await signedIn(marketAdmin)
    const page = await b.get(`/it/admin/markets/${italy.code}/report`)
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /<svg class="chart" role="img"/)
    const csv = await b.get(`/it/admin/markets/${italy.code}/report.csv`)
    assert.match(csv.body, /^(\uFEFF)?Voce,Account\n/, 'the columns in the viewer\'s language')
    assert.doesNotMatch(csv.body, /accounts_|block_warned|_this_week/, 'no codes')
    const active = Number(/\nAccount per stato: attivo,(\d+)/.exec(csv.body)?.[1])
    await user(testApp(), { company: officina })
    await user(testApp(), { company: werkstatt })
    const after = await b.get(`/it/admin/markets/${italy.code}/report.csv`)
    assert.equal(Number(/\nAccount per stato: attivo,(\d+)/.exec(after.body)?.[1]), active + 1, 'a new active account of the market counts, one of another market does not')
    assert.equal((await b.get(`/it/admin/markets/${germany.code}/report`)).statusCode, 403)
  })
})

describe('platform administrator', () => {
  test('changes a realm policy (steps in order only) and names a market administrator', async () => {
    const b = await signedIn(platform)
    const page = await b.get('/en/admin/platform')
    assert.equal(page.statusCode, 200)
    const wrong = await b.post('/en/admin/platform/realms/shop', { warnBlockDays: '200', blockDays: '180', warnDeleteDays: '335', deleteDays: '365' }, { fromPage: '/en/admin/platform' })
    assert.equal(wrong.statusCode, 422)
    assert.match(wrong.body, /Each step must come after the previous one/)
    assert.equal((await b.post('/en/admin/platform/realms/shop', { warnBlockDays: '60', blockDays: '90', warnDeleteDays: '300', deleteDays: '330' }, { fromPage: '/en/admin/platform' })).statusCode, 303)
    assert.equal((await testApp().app.services.lifecycle.policies(system)).find((p) => p.key === 'shop')?.blockDays, 90)
    assert.equal((await (await signedIn(james)).get(`/en/admin/markets/${britain.code}/report`)).statusCode, 403)
    assert.equal((await b.post('/en/admin/platform/market-admins', { userId: james.userId, market: britain.code, grant: 'true' }, { fromPage: '/en/admin/platform' })).statusCode, 303)
    assert.equal((await (await signedIn(james)).get(`/en/admin/markets/${britain.code}/report`)).statusCode, 200)
    assert.equal((await (await signedIn(marketAdmin)).get('/en/admin/platform')).statusCode, 403)
  })
})

test('a market administrator adds a company of the market; a duplicate number or another market is refused', async () => {
  const b = await signedIn(marketAdmin)
  const number = `${italy.code}-30001`
  const form = { market: italy.code, companyNumber: number.toLowerCase(), name: 'Officina Verdi', street: 'Via Roma 1', postalCode: '10121', city: 'Torino' }
  const created = await b.post('/it/admin/companies', form)
  assert.equal(created.statusCode, 303)
  const saved = await testApp().app.services.organizations.findCompanyByNumber(system, number)
  assert.equal(saved?.name, 'Officina Verdi', 'the number is kept in capitals')
  assert.equal(saved.marketId, italy.id)
  assert.equal((await b.post('/it/admin/companies', form)).statusCode, 409)
  assert.equal((await b.post('/it/admin/companies', { ...form, market: germany.code, companyNumber: `${germany.code}-30001` })).statusCode, 403)
  assert.equal(await testApp().app.services.organizations.findCompanyByNumber(system, `${germany.code}-30001`), undefined)
  const platformBrowser = await signedIn(platform)
  assert.equal((await platformBrowser.post(`/en/admin/platform/markets/${germany.code}`, { supportEmail: 'hilfe@werkstatt.example', supportPhone: '+49 30 0000' }, { fromPage: '/en/admin/platform' })).statusCode, 303)
  assert.equal((await testApp().app.services.organizations.market(system, germany.code))?.supportEmail, 'hilfe@werkstatt.example')
  assert.equal((await b.post(`/en/admin/platform/markets/${italy.code}`, { supportEmail: 'x@y.example', supportPhone: '123' }, { fromPage: '/en/admin/companies' })).statusCode, 403)
  assert.notEqual((await testApp().app.services.organizations.market(system, italy.code))?.supportEmail, 'x@y.example')
})
