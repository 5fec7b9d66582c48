import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { cliSession, runSportello } from '../../../test/cli.js'

test('sportello clients add|list|remove and keys rotate', async () => {
  const cli = await cliSession()
  const added = await runSportello(cli, 'clients', 'add', '--name', 'Dealer planner', '--kind', 'web', '--redirect-uri', 'https://planner.example/cb', '--post-logout-uri', 'https://planner.example/')
  assert.equal(added.status, 0, added.stderr)
  const clientId = /client_id:\s+(\S+)/.exec(added.stdout)?.[1] ?? ''
  const secret = /client_secret:\s+(\S+)/.exec(added.stdout)?.[1] ?? ''
  assert.ok(clientId && secret.length >= 40, added.stdout)
  const listed = await runSportello(cli, 'clients', 'list')
  assert.equal(listed.status, 0, listed.stderr)
  assert.match(listed.stdout, new RegExp(`${clientId}\\s+partner\\s+web`))
  assert.doesNotMatch(listed.stdout, new RegExp(secret), 'the secret is never shown again')

  const bad = await runSportello(cli, 'clients', 'add', '--name', 'X', '--kind', 'root')
  assert.equal(bad.status, 2)
  const badUri = await runSportello(cli, 'clients', 'add', '--name', 'X', '--kind', 'web', '--redirect-uri', 'http://evil.example/cb')
  assert.equal(badUri.status, 1)
  assert.match(badUri.stderr, /SSO_REDIRECT_URI_INVALID/)

  const withLogout = await runSportello(cli, 'clients', 'add', '--name', 'Dealer shop', '--kind', 'web', '--redirect-uri', 'https://shop.example/cb', '--backchannel-logout-uri', 'https://shop.example/backchannel-logout')
  assert.equal(withLogout.status, 0, withLogout.stderr)
  assert.match(withLogout.stdout, /back-channel logout: https:\/\/shop\.example\/backchannel-logout/)
  const badLogoutUri = await runSportello(cli, 'clients', 'add', '--name', 'X', '--kind', 'web', '--redirect-uri', 'https://shop.example/cb', '--backchannel-logout-uri', 'http://evil.example/logout')
  assert.equal(badLogoutUri.status, 1)
  assert.match(badLogoutUri.stderr, /SSO_REDIRECT_URI_INVALID/)

  const first = await runSportello(cli, 'keys', 'rotate')
  assert.equal(first.status, 0, first.stderr)
  const second = await runSportello(cli, 'keys', 'rotate')
  const kid1 = /New signing key (\S+)\./.exec(first.stdout)?.[1] ?? ''
  const kid2 = /New signing key (\S+)\./.exec(second.stdout)?.[1] ?? ''
  assert.match(second.stdout, new RegExp(`Published: ${kid2}, ${kid1} `))
  // Without OIDC_KEY_SECRET the CLI generated one into DATA_DIR, where the server will find it.
  assert.ok((await readFile(path.join(cli.env.DATA_DIR ?? '', 'oidc-key-secret'), 'utf8')).trim().length >= 32)

  const removed = await runSportello(cli, 'clients', 'remove', clientId)
  assert.equal(removed.status, 0, removed.stderr)
  assert.equal((await runSportello(cli, 'clients', 'remove', clientId)).status, 1)
  assert.doesNotMatch((await runSportello(cli, 'clients', 'list')).stdout, new RegExp(clientId))
})
