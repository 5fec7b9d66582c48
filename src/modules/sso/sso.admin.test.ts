import assert from 'node:assert/strict'
import { test } from 'node:test'
import { deskMarket, marketAdmin, platformAdmin, signedIn, ssoClient } from '../../../test/desk-factories.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'

const testApp = useTestApp()
const app = () => testApp().app

test('platform administrators register an app in the console and see its secret once; others may not', async () => {
  const guest = await testBrowser(() => testApp().app).get('/en/admin/platform/clients')
  assert.equal(guest.statusCode, 303)
  const existing = await ssoClient(testApp(), { name: 'Workshop planner', kind: 'public' })
  const platform = await signedIn(app, await platformAdmin(testApp()))
  const page = await platform.get('/en/admin/platform/clients')
  assert.equal(page.statusCode, 200)
  assert.match(page.body, new RegExp(existing.client.clientId), 'a registered app is listed')
  assert.match(page.body, /Workshop planner/)
  const created = await platform.post('/en/admin/platform/clients', { name: 'Parts <catalogue>', realm: 'partner', kind: 'web', redirectUris: 'https://parts.example/cb', postLogoutRedirectUris: '' }, { fromPage: '/en/admin/platform/clients' })
  assert.equal(created.statusCode, 201)
  const secret = /id="created-secret">([^<]+)</.exec(created.body)?.[1]
  assert.ok(secret && secret.length >= 40)
  assert.match(created.body, /Parts &lt;catalogue>/)
  assert.doesNotMatch((await platform.get('/en/admin/platform/clients')).body, new RegExp(secret), 'the secret is shown only once')
  const bad = await platform.post('/en/admin/platform/clients', { name: 'Bad', realm: 'partner', kind: 'web', redirectUris: 'javascript:alert(1)' }, { fromPage: '/en/admin/platform/clients' })
  assert.equal(bad.statusCode, 400)
  assert.match(bad.body, /Invalid return address/)
  const clientId = /id="created-client-id">([^<]+)</.exec(created.body)?.[1] ?? ''
  assert.equal((await platform.post(`/en/admin/platform/clients/${clientId}/remove`, {}, { fromPage: '/en/admin/platform/clients' })).statusCode, 303)
  assert.doesNotMatch((await platform.get('/en/admin/platform/clients')).body, /Parts &lt;catalogue>/)

  const marketAdministrator = await signedIn(app, await marketAdmin(testApp(), await deskMarket(testApp())))
  assert.equal((await marketAdministrator.get('/en/admin/platform/clients')).statusCode, 403)
  assert.equal((await marketAdministrator.post('/en/admin/platform/clients', { name: 'X', realm: 'partner', kind: 'machine' }, { fromPage: '/en/account' })).statusCode, 403)
})
