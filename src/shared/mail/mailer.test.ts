import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { freshDatabase } from '../../../test/helpers.js'
import { useMailbox } from '../../../test/mailbox.js'
import { withClock } from '../clock.js'
import { createMailer } from './mailer.js'

const mailbox = useMailbox()

test('an email sent again after a crash during its lease carries the same Message-ID, derived from its outbox key', async () => {
  const database = await freshDatabase(after)
  const options = () => ({ database, smtpUrl: mailbox().url, mailDir: '', from: 'Sportello <no-reply@portal.example>' })
  const start = new Date('2026-11-02T09:00:00Z')

  // The first worker hands the email to the server, then dies before it can mark the row sent.
  const crashing = createMailer(options())
  crashing.repo.markSent = () => Promise.reject(new Error('process killed'))
  crashing.repo.markFailed = () => Promise.reject(new Error('process killed'))
  await withClock(start, async () => {
    await crashing.repo.enqueue(database.db, {
      key: 'password-changed:77:2026-11-02T09:00:00.000Z', to: 'anna.bianchi@officina.example', locale: 'it', template: 'password-changed',
      data: { name: 'Anna Bianchi', url: 'https://portal.example/it/password/forgot' },
    }, start)
    await assert.rejects(crashing.drain())
  })
  await crashing.stop()
  assert.equal(mailbox().to('anna.bianchi@officina.example').length, 1)

  // Within the lease nobody sends it; after the lease another worker does, under the same Message-ID.
  const next = createMailer(options())
  assert.equal(await withClock(new Date(start.getTime() + 60_000), () => next.drain()), 0)
  assert.equal(await withClock(new Date(start.getTime() + 5 * 60_000), () => next.drain()), 1)
  await next.stop()

  const copies = mailbox().to('anna.bianchi@officina.example')
  assert.equal(copies.length, 2, 'delivery is at least once')
  const [first, second] = copies
  assert.match(first?.messageId ?? '', /^<[0-9a-f]{40}@portal\.example>$/)
  assert.equal(second?.messageId, first?.messageId, 'the receiver can drop the copy by its Message-ID')
  assert.equal(await next.repo.pendingCount(), 0)

  // Another email gets another Message-ID.
  const other = createMailer(options())
  await withClock(start, () => other.repo.enqueue(database.db, {
    key: 'password-changed:77:2026-11-02T10:00:00.000Z', to: 'anna.bianchi@officina.example', locale: 'it', template: 'password-changed',
    data: { name: 'Anna Bianchi', url: 'https://portal.example/it/password/forgot' },
  }, start))
  await withClock(start, () => other.drain())
  await other.stop()
  assert.notEqual(mailbox().to('anna.bianchi@officina.example').at(-1)?.messageId, first?.messageId)
})
