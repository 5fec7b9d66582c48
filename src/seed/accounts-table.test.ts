import assert from 'node:assert/strict'
import { test } from 'node:test'
import { accountsTable, type SeededAccount } from './accounts-table.js'

// Accounts of the test's own, not the demo's: the table is about any seed's accounts.
const accounts: SeededAccount[] = [
  { realm: 'partner', userId: 'a.verdi', role: 'user', locale: 'it' },
  { realm: 'partner', userId: 'market.lead.fr', role: 'market_admin+agent', locale: 'fr', market: 'FR' },
  { realm: 'partner', userId: 'h.weber', role: 'user', locale: 'de' },
  { realm: 'partner', userId: 'ops', role: 'platform_admin' },
  { realm: 'shop', userId: 'verdi.parts', role: 'user', locale: 'it' },
]
const password = 'a-password-for-the-table'

test('the demo accounts print as an aligned table: user ID, role in words, password and the sign-in page of the account\'s realm and language', () => {
  const table = accountsTable(accounts, { publicUrl: 'http://localhost:3000', password })
  const lines = table.split('\n')
  assert.equal(lines[0], 'Demo accounts:')
  assert.match(lines[1] ?? '', /^ {2}User ID +Role +Password +Sign in at$/)
  assert.match(lines[2] ?? '', /^ {2}-+ {2}-+ {2}-+ {2}-+$/)
  const rows = lines.slice(3)
  assert.equal(rows.length, accounts.length, 'one row per account')

  // Every column starts where its heading does, on every line.
  const starts = (line: string) => [...line.matchAll(/(?<= {2})\S/g)].map((m) => m.index)
  const columns = starts(lines[2] ?? '')
  assert.equal(columns.length, 4)
  for (const line of [lines[1] ?? '', ...rows]) {
    for (const at of columns) assert.match(line.slice(at - 2, at), /^ {2}$/, `"${line}" is aligned at ${String(at)}`)
    assert.doesNotMatch(line, /\s$/, 'no trailing spaces')
  }

  const row = (userId: string) => rows.find((r) => r.trimStart().startsWith(`${userId} `)) ?? ''
  assert.match(row('a.verdi'), /workshop user +a-password-for-the-table +http:\/\/localhost:3000\/it\/login$/)
  assert.match(row('market.lead.fr'), /market admin FR \+ support agent +a-password-for-the-table +http:\/\/localhost:3000\/fr\/login$/)
  assert.match(row('h.weber'), /http:\/\/localhost:3000\/de\/login$/, 'in the account\'s language')
  assert.match(row('ops'), /platform admin .*http:\/\/localhost:3000\/en\/login$/, 'English when the account has no language')
  assert.match(row('verdi.parts'), /Parts Shop workshop user .*http:\/\/localhost:3000\/it\/shop\/login$/, 'the Parts Shop account signs in on the shop\'s page')
  assert.doesNotMatch(table, /_admin|support_agent|\+agent/, 'roles in words, not codes')
})
