import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createServices } from '../../composition.js'
import { AppError } from '../../shared/errors.js'
import { cliSession, runSportello, type CliSession } from '../../../test/cli.js'
import { company, market } from '../../../test/factories.js'

/** What a token opens, asked of the service the SCIM routes use: its scope, or the refusal. */
async function scopeOf({ database }: CliSession, token: string): Promise<{ companyId: number | null; marketId: number | null } | string> {
  try {
    const actor = await createServices(database).scim.authenticate(`Bearer ${token}`)
    return actor.kind === 'client' ? { companyId: actor.companyId, marketId: actor.marketId } : actor.kind
  } catch (error) {
    if (error instanceof AppError) return String(error.code)
    throw error
  }
}

test('sportello scim token|revoke: a token for a machine client, scoped to one company or one market, shown once; a new one replaces it', async () => {
  const cli = await cliSession()
  const italy = await market(cli)
  const dealer = await company(cli, { market: italy })
  const machine = await runSportello(cli, 'clients', 'add', '--name', 'Dealer DMS', '--kind', 'machine')
  assert.equal(machine.status, 0, machine.stderr)
  const clientId = /client_id:\s+(\S+)/.exec(machine.stdout)?.[1] ?? ''
  const web = await runSportello(cli, 'clients', 'add', '--name', 'Planner', '--kind', 'web', '--redirect-uri', 'https://planner.example/cb')
  const webId = /client_id:\s+(\S+)/.exec(web.stdout)?.[1] ?? ''
  assert.ok(clientId && webId, machine.stdout + web.stdout)

  const issued = await runSportello(cli, 'scim', 'token', clientId, '--company', dealer.companyNumber.toLowerCase())
  assert.equal(issued.status, 0, issued.stderr)
  assert.match(issued.stdout, new RegExp(`scoped to company ${dealer.companyNumber.toLowerCase()}`))
  assert.match(issued.stdout, /SCIM base URL: http:\/\/\S+\/scim\/v2/)
  const token = /^(scim_[\w-]{40,})$/m.exec(issued.stdout)?.[1] ?? ''
  assert.ok(token, issued.stdout)
  assert.deepEqual(await scopeOf(cli, token), { companyId: dealer.id, marketId: null })

  // A new token (here for the market) replaces the old one at once.
  const replaced = await runSportello(cli, 'scim', 'token', clientId, '--market', italy.code.toLowerCase())
  assert.equal(replaced.status, 0, replaced.stderr)
  assert.match(replaced.stdout, new RegExp(`scoped to market ${italy.code}`))
  const marketToken = /^(scim_[\w-]{40,})$/m.exec(replaced.stdout)?.[1] ?? ''
  assert.notEqual(marketToken, token)
  assert.equal(await scopeOf(cli, token), 'PROVISIONING_TOKEN_INVALID')
  assert.deepEqual(await scopeOf(cli, marketToken), { companyId: null, marketId: italy.id })

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
    const refused = await runSportello(cli, 'scim', 'token', ...args)
    assert.equal(refused.status, 1, `${args.join(' ')}: ${refused.stdout}`)
    assert.match(refused.stderr, new RegExp(code))
    assert.doesNotMatch(refused.stdout, /scim_/)
  }
  assert.deepEqual(await scopeOf(cli, marketToken), { companyId: null, marketId: italy.id })
  assert.equal((await runSportello(cli, 'scim', 'token')).status, 2)

  const revoked = await runSportello(cli, 'scim', 'revoke', clientId)
  assert.equal(revoked.status, 0, revoked.stderr)
  assert.match(revoked.stdout, new RegExp(`Withdrew the provisioning token of ${clientId}`))
  assert.equal(await scopeOf(cli, marketToken), 'PROVISIONING_TOKEN_INVALID')
  const again = await runSportello(cli, 'scim', 'revoke', clientId)
  assert.equal(again.status, 1)
  assert.match(again.stderr, /SSO_CLIENT_NOT_FOUND/)
})
