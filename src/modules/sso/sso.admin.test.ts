import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEMO_PASSWORD } from '../../seed/users.js'
import { testBrowser, useTestApp } from '../../../test/helpers.js'

const testApp = useTestApp({ demo: true })

async function signedIn(userId: string) {
  const b = testBrowser(() => testApp().app)
  assert.equal((await b.post('/en/login', { identifier: userId, password: DEMO_PASSWORD }, { fromPage: '/en/login' })).statusCode, 303)
  return b
}

test('platform administrators register an app in the console and see its secret once; others may not', async () => {
  const guest = await testBrowser(() => testApp().app).get('/en/admin/platform/clients')
  assert.equal(guest.statusCode, 303)
  const platform = await signedIn('platform')
  const page = await platform.get('/en/admin/platform/clients')
  assert.equal(page.statusCode, 200)
  assert.match(page.body, /workshop-app/, 'the demo app is listed')
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

  const marketAdmin = await signedIn('admin.it')
  assert.equal((await marketAdmin.get('/en/admin/platform/clients')).statusCode, 403)
  assert.equal((await marketAdmin.post('/en/admin/platform/clients', { name: 'X', realm: 'partner', kind: 'machine' }, { fromPage: '/en/account' })).statusCode, 403)
})
