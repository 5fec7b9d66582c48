import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compareIdentity } from './index.js'

const record = { userId: 'mario.verdi', firstName: 'Mario', lastName: 'Rossi', email: 'mario.rossi@example.com', companyName: 'Autofficina Rossi S.r.l.', companyAddress: 'Via Emilia 120 40133 Bologna' }

test('an identity comparison ignores case, accents and punctuation, and passes on email or address', () => {
  const same = compareIdentity({ ...record, userId: 'Mario.Verdi', firstName: 'mário', companyName: 'Autofficina Rossi Srl', companyAddress: 'Via Emilia 120, 40133 Bologna' }, record)
  assert.deepEqual(same, { passed: true, fields: { userId: true, firstName: true, lastName: true, email: true, companyName: true, companyAddress: true } })
  const lostMailbox = compareIdentity({ ...record, email: 'new@example.com' }, record)
  assert.equal(lostMailbox.passed, true)
  assert.equal(lostMailbox.fields.email, false)
  const neither = compareIdentity({ ...record, email: 'new@example.com', companyAddress: 'Via Altra 1' }, record)
  assert.equal(neither.passed, false)
  assert.equal(compareIdentity({ ...record, lastName: 'Bianchi' }, record).passed, false)
  assert.equal(compareIdentity({ ...record, companyName: '' }, { ...record, companyName: '' }).fields.companyName, false, 'nothing given is no match')
})

test('an account without a company (the manufacturer\'s staff) is checked on its person and email', () => {
  const staff = { userId: 'l.ferri', firstName: 'Luca', lastName: 'Ferri', email: 'luca.ferri@example.com', companyName: '', companyAddress: '' }
  const given = { ...staff, companyName: 'Demo Motors', companyAddress: 'Sede' }
  assert.deepEqual(compareIdentity(given, staff), { passed: true, fields: { userId: true, firstName: true, lastName: true, email: true, companyName: true, companyAddress: true } })
  assert.equal(compareIdentity({ ...given, email: 'other@example.com' }, staff).passed, false, 'without a company, the email must match')
  assert.equal(compareIdentity({ ...given, firstName: 'Marco' }, staff).passed, false)
})
