import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { after, before, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { createWorkshopApp } from '../../examples/workshop-app/app.js'
import { systemActor } from '../../src/shared/actor.js'
import { company, enrolFactor, secondFactorCode, TEST_PASSWORD, user } from '../factories.js'
import { deskMarket, passSignInSteps, platformAdmin } from '../desk-factories.js'
import { buildTestApp, type TestApp } from '../helpers.js'
import { useMailbox } from '../mailbox.js'
import { assertAccessible, launchChromium, serveAxe } from './browser.js'

const mailbox = useMailbox()

/** A free port now: the portal's PUBLIC_URL (the issuer) must be known before the app is built. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const address = server.address()
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  return typeof address === 'object' && address ? address.port : 0
}

let portal: TestApp
let portalUrl = ''
let workshopUrl = ''
let browser: Browser
let workshop: Server
const cleanups: (() => Promise<void> | void)[] = []

before(async () => {
  const port = await freePort()
  portalUrl = `http://127.0.0.1:${String(port)}`
  portal = await buildTestApp({ after: (fn: () => Promise<void> | void) => { cleanups.push(fn) } }, { env: () => ({ PUBLIC_URL: portalUrl, SMTP_URL: mailbox().url }) })
  serveAxe(portal.app.server)
  await portal.app.listen({ port, host: '127.0.0.1' })
  const workshopPort = await freePort()
  workshopUrl = `http://localhost:${String(workshopPort)}`
  await portal.app.services.sso.addClient(systemActor('test'), {
    clientId: 'workshop-e2e', realm: 'partner', name: 'Demo Motors Workshop', kind: 'public', firstParty: true,
    redirectUris: [`${workshopUrl}/callback`], postLogoutRedirectUris: [`${workshopUrl}/`], backchannelLogoutUri: `${workshopUrl}/backchannel-logout`,
  })
  workshop = await createWorkshopApp({ issuer: portalUrl, clientId: 'workshop-e2e', baseUrl: workshopUrl, insecure: true })
  await new Promise<void>((resolve) => { workshop.listen(workshopPort, '127.0.0.1', resolve) })
  cleanups.push(() => new Promise<void>((resolve) => { workshop.close(() => { resolve() }) }))
  browser = await launchChromium()
  cleanups.push(() => browser.close())
})

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function codeMailedTo(address: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    await portal.app.mailer.drain()
    const code = /\b(\d{6})\b/.exec(mailbox().to(address).at(-1)?.text ?? '')?.[1]
    if (code) return code
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no code mailed to ${address}`)
}

test('the workshop app signs a new user in through Sportello (email verified on the way), shows the claims, and signs out everywhere', async () => {
  const italy = await deskMarket(portal)
  const rossi = await company(portal, { market: italy, name: 'Autofficina Rossi S.r.l.' })
  const sara = await user(portal, { firstName: 'Sara', lastName: 'Conti', email: null, emailVerified: false, locale: 'it', company: rossi })
  const context = await browser.newContext({ locale: 'it-IT' })
  const page = await context.newPage()

  await page.goto(workshopUrl)
  await assertAccessible(page, 'workshop app, signed out')
  await page.click('#sign-in')
  await page.waitForURL(/\/it\/login\?next=/)
  await assertAccessible(page, 'portal sign-in from the app')
  await page.fill('#identifier', sara.userId)
  await page.fill('#password', TEST_PASSWORD)
  await page.click('form.stack-form button[type=submit]')

  // First sign-in: the portal asks for an email address and its code, then goes back to the app.
  await page.waitForURL(/\/it\/account\/email\?next=/)
  await assertAccessible(page, 'email verification before the app')
  await page.fill('#email', 'sara.conti@autofficina-rossi.example')
  await page.click('form[action="/it/account/email"] button[type=submit]')
  await page.waitForSelector('#code')
  await page.fill('#code', await codeMailedTo('sara.conti@autofficina-rossi.example'))
  await page.click('form[action="/it/account/email/code"] button[type=submit]')

  await page.waitForURL(`${workshopUrl}/`)
  assert.equal(await page.textContent('#user-id'), sara.userId, 'the app names the person by their partner user ID')
  assert.equal(await page.textContent('[data-claim=preferred_username]'), sara.userId)
  assert.equal(await page.textContent('[data-claim=email]'), 'sara.conti@autofficina-rossi.example')
  assert.equal(await page.textContent('[data-claim=email_verified]'), 'true')
  assert.equal(await page.textContent('[data-claim=market]'), italy.code)
  assert.match(await page.textContent('[data-claim=company]') ?? '', /Autofficina Rossi/)
  assert.doesNotMatch(await page.textContent('[data-claim=sub]') ?? '', new RegExp(sara.userId.replaceAll('.', '\\.')), 'the subject is not the user ID')
  await assertAccessible(page, 'workshop app with claims')

  // Sign out everywhere: the portal asks once, then both the portal and the app are signed out.
  await page.click('#sign-out')
  await page.waitForURL(/\/oidc\/session\/end/)
  await assertAccessible(page, 'portal sign-out confirmation')
  await page.click('button[name=logout]')
  await page.waitForURL(`${workshopUrl}/`, { timeout: 5000 }).catch(async (error: unknown) => { throw new Error(`after sign-out at ${page.url()}: ${(await page.content()).slice(0, 1500)}`, { cause: error }) })
  assert.ok(await page.isVisible('#sign-in'))
  await page.goto(`${portalUrl}/it/account`)
  await page.waitForURL(/\/it\/login/)

  // Signing in to the app again asks for the password again (the portal session ended).
  await page.goto(workshopUrl)
  await page.click('#sign-in')
  await page.waitForURL(/\/it\/login\?next=/)
  await context.close()
})

test('signing out on the portal ends the workshop app\'s own session (back-channel logout)', async () => {
  const italy = await deskMarket(portal)
  const luca = await user(portal, { firstName: 'Luca', lastName: 'Neri', locale: 'it', company: await company(portal, { market: italy }) })
  const context = await browser.newContext({ locale: 'it-IT' })
  const page = await context.newPage()
  await page.goto(workshopUrl)
  await page.click('#sign-in')
  await page.waitForURL(/\/it\/login\?next=/)
  await page.fill('#identifier', luca.userId)
  await page.fill('#password', TEST_PASSWORD)
  await page.click('form.stack-form button[type=submit]')
  await page.waitForURL(`${workshopUrl}/`)
  assert.equal(await page.textContent('#user-id'), luca.userId)

  // Signed out on the portal, not in the app: the portal tells the app, which ends its own session.
  await page.goto(`${portalUrl}/it/logout`)
  await page.click('main form button[type=submit]')
  await page.waitForURL(/\/it\/help/)
  const delivery = await portal.app.services.sso.deliverBackchannelLogouts(portalUrl)
  assert.ok(delivery.delivered >= 1 && delivery.failed === 0, `the app accepted its logout token: ${JSON.stringify(delivery)}`)
  await page.goto(workshopUrl)
  assert.ok(await page.isVisible('#sign-in'), 'the workshop app\'s session is gone')
  assert.equal(await page.locator('#user-id').count(), 0)
  await context.close()
})

test('an app that asks for a second factor: the page for an account without one, then the step-up page, each accessible in it, en and de; the code sends the person back to the app', async () => {
  const italy = await deskMarket(portal)
  const nina = await user(portal, { firstName: 'Nina', lastName: 'Gallo', locale: 'it', company: await company(portal, { market: italy }) })
  const context = await browser.newContext({ locale: 'it-IT' })
  const page = await context.newPage()
  const askForMfa = (locale?: string) => {
    const verifier = randomBytes(32).toString('base64url')
    const challenge = createHash('sha256').update(verifier).digest('base64url')
    const query = new URLSearchParams({
      client_id: 'workshop-e2e', response_type: 'code', scope: 'openid', redirect_uri: `${workshopUrl}/callback`, state: randomBytes(8).toString('hex'),
      code_challenge: challenge, code_challenge_method: 'S256', acr_values: 'urn:sportello:acr:mfa',
      ...(locale ? { ui_locales: locale } : {}),
    })
    return `${portalUrl}/oidc/auth?${query.toString()}`
  }
  const inEveryLanguage = async (label: string, heading: Record<'it' | 'en' | 'de', RegExp>) => {
    const here = new URL(page.url())
    for (const locale of ['it', 'en', 'de'] as const) {
      await page.goto(`${portalUrl}${here.pathname.replace(/^\/(it|en|de)\//, `/${locale}/`)}${here.search}`)
      assert.match(await page.textContent('h1') ?? '', heading[locale], `${label} in ${locale}`)
      await assertAccessible(page, `${label} (${locale})`)
    }
  }

  await page.goto(`${portalUrl}/it/login`)
  await page.fill('#identifier', nina.userId)
  await page.fill('#password', TEST_PASSWORD)
  await page.click('form.stack-form button[type=submit]')
  await passSignInSteps(page, nina)

  // No factor yet: the person is told what to do, and the app would get an error, never a token. The page
  // answers one interaction only, so each language is its own request, chosen by the app's ui_locales.
  const needed = { it: /Serve un secondo fattore/, en: /Second factor needed/, de: /Zweiter Faktor erforderlich/ }
  for (const locale of ['it', 'en', 'de'] as const) {
    await page.goto(askForMfa(locale))
    assert.match(await page.textContent('h1') ?? '', needed[locale], `second factor needed in ${locale}`)
    assert.equal(await page.getAttribute('html', 'lang'), locale)
    await assertAccessible(page, `second factor needed (${locale})`)
  }

  // With an authenticator added later, the password-only session takes the second step.
  await enrolFactor(portal, nina)
  await page.goto(askForMfa())
  await page.waitForURL(/\/login\/step-up\?next=/)
  await inEveryLanguage('step-up', { it: /Questa applicazione chiede un secondo fattore/, en: /This app asks for a second factor/, de: /Diese Anwendung verlangt einen zweiten Faktor/ })
  await page.fill('input[name=code]', secondFactorCode(nina))
  // What the workshop app then does with the code is its own business: the test reads the redirect itself.
  const callbackRequest = page.waitForRequest((request) => request.url().startsWith(`${workshopUrl}/callback?`))
  await page.locator('input[name=code]').press('Enter')
  const callback = new URL((await callbackRequest).url())
  assert.ok(callback.searchParams.get('code'), 'the app gets a code after the second step')
  assert.equal(callback.searchParams.get('error'), null)
  await context.close()
})

test('an unknown app gets the portal\'s error page, accessible and in the user\'s language', async () => {
  const context = await browser.newContext({ locale: 'de-DE' })
  const page = await context.newPage()
  const response = await page.goto(`${portalUrl}/oidc/auth?client_id=unknown&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(`${workshopUrl}/callback`)}`)
  assert.equal(response?.status(), 400)
  assert.match(await page.textContent('h1') ?? '', /Anmeldung bei der Anwendung nicht möglich/)
  await assertAccessible(page, 'OIDC error page')
  await context.close()
})

test('a platform administrator registers a third-party app; its users see an accessible consent page and sign-out pages', async () => {
  const platform = await platformAdmin(portal)
  const context = await browser.newContext({ locale: 'en-GB' })
  const page = await context.newPage()
  await page.goto(`${portalUrl}/en/login?next=/en/admin/platform/clients`)
  await page.fill('#identifier', platform.userId)
  await page.fill('#password', TEST_PASSWORD)
  await page.click('form.stack-form button[type=submit]')
  await passSignInSteps(page, platform)
  await page.waitForURL(/\/en\/admin\/platform\/clients$/)
  await assertAccessible(page, 'connected apps console')
  await page.fill('#client-name', 'Tyre Partner Portal')
  await page.selectOption('#client-kind', 'public')
  await page.fill('#client-redirects', `${workshopUrl}/callback`)
  await page.check('#client-third')
  await page.click('form[action="/en/admin/platform/clients"] button[type=submit]')
  const clientId = (await page.textContent('#created-client-id')) ?? ''
  assert.ok(clientId)
  assert.equal(await page.isVisible('#created-secret'), false, 'a public app has no secret')
  await assertAccessible(page, 'app registered')

  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
  await page.goto(`${portalUrl}/oidc/auth?${new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid email company', redirect_uri: `${workshopUrl}/callback`, code_challenge: challenge, code_challenge_method: 'S256', state: 'e2e-state' }).toString()}`)
  await page.waitForSelector('button[value=allow]')
  assert.match(await page.textContent('h1') ?? '', /Tyre Partner Portal asks for access/)
  await assertAccessible(page, 'consent page')
  await page.click('button[value=deny]')
  await page.waitForURL(`${workshopUrl}/`)

  await page.goto(`${portalUrl}/oidc/session/end`)
  await assertAccessible(page, 'sign-out confirmation without an app')
  await page.click('button[name=logout]')
  await page.waitForSelector('text=You are signed out')
  await assertAccessible(page, 'signed out page')
  await context.close()
})
