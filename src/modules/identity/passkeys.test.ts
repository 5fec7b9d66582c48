import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { actorOf, company, mailsTo, market, reload, system, TEST_PASSWORD, user } from '../../../test/factories.js'
import { useTestApp } from '../../../test/helpers.js'
import { softPasskey, type SoftPasskey } from '../../../test/soft-authenticator.js'

const testApp = useTestApp()
const services = () => testApp().app.services
const ctx = () => ({ publicUrl: testApp().app.site.publicUrl, ip: '192.0.2.7' })

/** Adds a passkey the way the account page does (prompt, then the authenticator's answer). */
async function enrolPasskey(row: { id: number }, name = 'Laptop'): Promise<{ key: SoftPasskey; recoveryCodes: string[] | null; answer: string }> {
  const actor = await actorOf(testApp(), row)
  const key = softPasskey(ctx().publicUrl)
  const options = await services().factors.startPasskey(actor, ctx())
  const answer = JSON.stringify(key.register(options))
  const { recoveryCodes } = await services().factors.finishPasskey(actor, { name, response: answer }, ctx())
  return { key, recoveryCodes, answer }
}

async function passwordless(key: SoftPasskey, input: { counter: number; userVerified?: boolean; realm?: string }) {
  const prompt = await services().auth.passkeySignInOptions(input.realm ?? 'partner', ctx())
  const response = JSON.stringify(key.authenticate(prompt, input))
  return { response, result: () => services().auth.signInWithPasskey(system, { realm: input.realm ?? 'partner', response, locale: 'en' }, ctx()) }
}

describe('passkeys (service level)', () => {
  test('a passkey is added once per prompt: the first factor brings recovery codes, the same answer again is refused', async () => {
    const giulia = await user(testApp())
    const { recoveryCodes, answer } = await enrolPasskey(giulia)
    assert.equal(recoveryCodes?.length, 10)
    const actor = await actorOf(testApp(), giulia)
    await assert.rejects(services().factors.finishPasskey(actor, { name: 'Again', response: answer }, ctx()), { code: 'PASSKEY_NOT_ADDED' })
    await assert.rejects(services().factors.finishPasskey(actor, { name: 'Junk', response: '{"id":"x"}' }, ctx()), { code: 'PASSKEY_NOT_ADDED' })
    await assert.rejects(services().factors.finishPasskey(actor, { name: 'Junk', response: 'not json' }, ctx()), { code: 'PASSKEY_NOT_ADDED' })
    const overview = await services().factors.overview(actor)
    assert.deepEqual(overview.factors.map((f) => [f.kind, f.name]), [['passkey', 'Laptop']])

    // A prompt issued to someone else cannot add a passkey to this account.
    const other = await user(testApp())
    const key = softPasskey(ctx().publicUrl)
    const theirs = await services().factors.startPasskey(await actorOf(testApp(), other), ctx())
    await assert.rejects(services().factors.finishPasskey(actor, { name: 'Stolen', response: JSON.stringify(key.register(theirs)) }, ctx()), { code: 'PASSKEY_NOT_ADDED' })
  })

  test('a passwordless sign-in answers its challenge once, and a counter that does not move forward is refused', async () => {
    const marco = await user(testApp())
    const { key } = await enrolPasskey(marco)
    const first = await passwordless(key, { counter: 5 })
    const signedIn = await first.result()
    assert.equal(signedIn.user.id, marco.id)
    assert.deepEqual(signedIn.amr, ['hwk', 'user'])
    await assert.rejects(first.result(), { code: 'PASSKEY_SIGN_IN_FAILED' }, 'the same answer again (a used challenge) is refused')

    await assert.rejects((await passwordless(key, { counter: 5 })).result(), { code: 'PASSKEY_SIGN_IN_FAILED' }, 'the same counter is refused')
    await assert.rejects((await passwordless(key, { counter: 3 })).result(), { code: 'PASSKEY_SIGN_IN_FAILED' }, 'a lower counter (a cloned authenticator) is refused')
    assert.equal((await (await passwordless(key, { counter: 6 })).result()).user.id, marco.id)

    await assert.rejects((await passwordless(key, { counter: 7, userVerified: false })).result(), { code: 'PASSKEY_SIGN_IN_FAILED' }, 'without a password the authenticator must verify its user')
    await assert.rejects((await passwordless(key, { counter: 8, realm: 'shop' })).result(), { code: 'PASSKEY_SIGN_IN_FAILED' }, 'a passkey signs in to its own realm only')
    await assert.rejects((await passwordless(softPasskey(ctx().publicUrl), { counter: 1 })).result(), { code: 'PASSKEY_SIGN_IN_FAILED' }, 'an unknown passkey gets the same answer')
  })

  test('as the second step: only a passkey of that account, on a challenge of that step; user verification is not needed after the password', async () => {
    const anna = await user(testApp())
    const bruno = await user(testApp())
    const { key } = await enrolPasskey(anna)
    const { key: brunoKey } = await enrolPasskey(bruno)
    const signIn = () => services().auth.signIn(system, { realm: 'partner', identifier: anna.userId, password: TEST_PASSWORD, locale: 'en' }, ctx())
    const step = await signIn()
    assert.equal(step.step, 'second_factor')
    // The password's answer carries the step's prompt (its page is that answer); the step's page
    // opened again (GET /login/code) gets a prompt of its own.
    const prompt = step.passkeyOptions
    assert.ok(prompt)
    assert.deepEqual(prompt.allowCredentials?.map((c) => c.id), [key.id])
    const complete = (answer: object) => services().auth.signInWithPasskey(system, { realm: 'partner', response: JSON.stringify(answer), locale: 'en', step: step.challenge }, ctx())

    await assert.rejects(complete(brunoKey.authenticate(prompt, { counter: 1 })), { code: 'PASSKEY_SIGN_IN_FAILED' }, "someone else's passkey")
    const passwordlessPrompt = await services().auth.passkeySignInOptions('partner', ctx())
    await assert.rejects(complete(key.authenticate(passwordlessPrompt, { counter: 1 })), { code: 'PASSKEY_SIGN_IN_FAILED' }, 'a challenge issued for something else')
    const again = await services().auth.secondStepPasskeyOptions(step.challenge, ctx())
    assert.ok(again)
    const done = await complete(key.authenticate(again, { counter: 1, userVerified: false }))
    assert.deepEqual(done.amr, ['pwd', 'hwk'])
    await assert.rejects(complete(key.authenticate(again, { counter: 2 })), { code: 'SECOND_STEP_EXPIRED' }, 'the step is used once')
    assert.equal(await services().auth.secondStepPasskeyOptions(step.challenge, ctx()), null)
  })

  test('failed passkey answers count toward the lockout like wrong passwords; a locked account is refused the same way', async () => {
    const m = await market(testApp())
    const rosa = await user(testApp(), { company: await company(testApp(), { market: m }) })
    const { key } = await enrolPasskey(rosa)
    const used = await passwordless(key, { counter: 1 })
    await used.result()
    for (let i = 0; i < 10; i++) await assert.rejects(used.result(), { code: 'PASSKEY_SIGN_IN_FAILED' })
    const locked = await reload(testApp(), rosa)
    assert.ok(locked.lockedUntil && locked.lockedUntil > new Date(), 'the tenth failure locks the account')
    assert.equal((await mailsTo(testApp(), rosa.email ?? '', 'account-locked')).length, 1)
    await assert.rejects((await passwordless(key, { counter: 2 })).result(), { code: 'PASSKEY_SIGN_IN_FAILED' }, 'a right answer while locked gets the same answer')
  })

  test('a passkey is removed after the password, and then signs in no more; the last factor of an administrator stays', async () => {
    const m = await market(testApp())
    const admin = await user(testApp(), { roles: [{ role: 'market_admin', marketId: m.id }], factor: false })
    const { key } = await enrolPasskey(admin)
    const actor = await actorOf(testApp(), admin)
    const [factor] = (await services().factors.overview(actor)).factors
    assert.ok(factor)
    await assert.rejects(services().factors.removeFactor(actor, { factorId: factor.id, password: 'wrong-password-1' }, ctx()), { code: 'CURRENT_PASSWORD_WRONG' })
    await assert.rejects(services().factors.removeFactor(actor, { factorId: factor.id, password: TEST_PASSWORD }, ctx()), { code: 'LAST_FACTOR_REQUIRED' })
    await enrolPasskey(admin, 'Security key')
    await services().factors.removeFactor(actor, { factorId: factor.id, password: TEST_PASSWORD }, ctx())
    assert.deepEqual((await services().factors.overview(actor)).factors.map((f) => f.name), ['Security key'])
    await assert.rejects((await passwordless(key, { counter: 1 })).result(), { code: 'PASSKEY_SIGN_IN_FAILED' })
  })
})
