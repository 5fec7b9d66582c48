import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createServices } from '../../composition.js'
import { AppError } from '../../shared/errors.js'
import { cliEnvironment, sportello, withCliDatabase } from '../../../test/cli.js'
import { company, market } from '../../../test/factories.js'

/** What a token opens, asked of the service the SCIM routes use: its scope, or the refusal. */
async function scopeOf(env: Record<string, string>, token: string): Promise<{ companyId: number | null; marketId: number | null } | string> {
  return withCliDatabase(env, async ({ database }) => {
    try {
      const actor = await createServices(database).scim.authenticate(`Bearer ${token}`)
      return actor.kind === 'client' ? { companyId: actor.companyId, marketId: actor.marketId } : actor.kind
    } catch (error) {
      if (error instanceof AppError) return String(error.code)
      throw error
    }
  })
}

test('sportello scim token|revoke: a token for a machine client, scoped to one company or one market, shown once; a new one replaces it', async () => {
  const env = await cliEnvironment()
  const { italy, dealer } = await withCliDatabase(env, async ({ database }) => {
    const italy = await market({ database })
    return { italy, dealer: await company({ database }, { market: italy }) }
  })
  const machine = sportello(env, 'clients', 'add', '--name', 'Dealer DMS', '--kind', 'machine')
  assert.equal(machine.status, 0, machine.stderr)
  const clientId = /client_id:\s+(\S+)/.exec(machine.stdout)?.[1] ?? ''
  const web = sportello(env, 'clients', 'add', '--name', 'Planner', '--kind', 'web', '--redirect-uri', 'https://planner.example/cb')
  const webId = /client_id:\s+(\S+)/.exec(web.stdout)?.[1] ?? ''
  assert.ok(clientId && webId, machine.stdout + web.stdout)

  const issued = sportello(env, 'scim', 'token', clientId, '--company', dealer.companyNumber.toLowerCase())
  assert.equal(issued.status, 0, issued.stderr)
  assert.match(issued.stdout, new RegExp(`scoped to company ${dealer.companyNumber.toLowerCase()}`))
  assert.match(issued.stdout, /SCIM base URL: http:\/\/\S+\/scim\/v2/)
  const token = /^(scim_[\w-]{40,})$/m.exec(issued.stdout)?.[1] ?? ''
  assert.ok(token, issued.stdout)
  assert.deepEqual(await scopeOf(env, token), { companyId: dealer.id, marketId: null })

  // A new token (here for the market) replaces the old one at once.
  const replaced = sportello(env, 'scim', 'token', clientId, '--market', italy.code.toLowerCase())
  assert.equal(replaced.status, 0, replaced.stderr)
  assert.match(replaced.stdout, new RegExp(`scoped to market ${italy.code}`))
  const marketToken = /^(scim_[\w-]{40,})$/m.exec(replaced.stdout)?.[1] ?? ''
  assert.notEqual(marketToken, token)
  assert.equal(await scopeOf(env, token), 'PROVISIONING_TOKEN_INVALID')
  assert.deepEqual(await scopeOf(env, marketToken), { companyId: null, marketId: italy.id })

  // Refused, and nothing changes: no scope or both, an app that signs people in, an unknown client,
  // an unknown company or market; without a client the usage is shown.
  for (const [args, code] of [
    [[clientId], 'INVALID_INPUT'],
    [[clientId, '--company', dealer.companyNumber, '--market', italy.code], 'INVALID_INPUT'],
    [[webId, '--company', dealer.companyNumber], 'INVALID_INPUT'],
    [['no-such-client', '--company', dealer.companyNumber], 'SSO_CLIENT_NOT_FOUND'],
    [[clientId, '--company', 'NO-SUCH-COMPANY'], 'COMPANY_NOT_FOUND'],
    [[clientId, '--market', 'ZZ'], 'NOT_FOUND'],
  ] as const) {
    const refused = sportello(env, 'scim', 'token', ...args)
    assert.equal(refused.status, 1, `${args.join(' ')}: ${refused.stdout}`)
    assert.match(refused.stderr, new RegExp(code))
    assert.doesNotMatch(refused.stdout, /scim_/)
  }
  assert.deepEqual(await scopeOf(env, marketToken), { companyId: null, marketId: italy.id })
  assert.equal(sportello(env, 'scim', 'token').status, 2)

  const revoked = sportello(env, 'scim', 'revoke', clientId)
  assert.equal(revoked.status, 0, revoked.stderr)
  assert.match(revoked.stdout, new RegExp(`Withdrew the provisioning token of ${clientId}`))
  assert.equal(await scopeOf(env, marketToken), 'PROVISIONING_TOKEN_INVALID')
  const again = sportello(env, 'scim', 'revoke', clientId)
  assert.equal(again.status, 1)
  assert.match(again.stderr, /SSO_CLIENT_NOT_FOUND/)
})
