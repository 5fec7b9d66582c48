import assert from 'node:assert/strict'
import { test } from 'node:test'
import { accountsTable } from './accounts-table.js'
import { DEMO_PASSWORD, demoUsers } from './users.js'

const accounts = demoUsers.map((u) => ({ realm: u.realm, userId: u.userId, role: 'alsoAgent' in u ? `${u.role}+agent` : u.role, locale: u.locale, market: 'market' in u ? u.market : undefined }))

test('the demo accounts print as an aligned table: user ID, role in words, password and the sign-in page of the account\'s realm and language', () => {
  const table = accountsTable(accounts, { publicUrl: 'http://localhost:3000', password: DEMO_PASSWORD })
  const lines = table.split('\n')
  assert.equal(lines[0], 'Demo accounts:')
  assert.match(lines[1] ?? '', /^ {2}User ID +Role +Password +Sign in at$/)
  assert.match(lines[2] ?? '', /^ {2}-+ {2}-+ {2}-+ {2}-+$/)
  const rows = lines.slice(3)
  assert.equal(rows.length, demoUsers.length, 'one row per account')

  // Every column starts where its heading does, on every line.
  const starts = (line: string) => [...line.matchAll(/(?<= {2})\S/g)].map((m) => m.index)
  const columns = starts(lines[2] ?? '')
  assert.equal(columns.length, 4)
  for (const line of [lines[1] ?? '', ...rows]) {
    for (const at of columns) assert.match(line.slice(at - 2, at), /^ {2}$/, `"${line}" is aligned at ${String(at)}`)
    assert.doesNotMatch(line, /\s$/, 'no trailing spaces')
  }

  const row = (userId: string) => rows.find((r) => r.trimStart().startsWith(`${userId} `)) ?? ''
  assert.match(row('mrossi'), /workshop user +demo-motors-partner-2026 +http:\/\/localhost:3000\/it\/login$/)
  assert.match(row('admin.it'), /market admin IT \+ support agent +demo-motors-partner-2026 +http:\/\/localhost:3000\/it\/login$/)
  assert.match(row('kbecker'), /http:\/\/localhost:3000\/de\/login$/, 'in the account\'s language')
  assert.match(row('rossi.ricambi'), /Parts Shop workshop user .*http:\/\/localhost:3000\/it\/shop\/login$/, 'the Parts Shop account signs in on the shop\'s page')
  assert.doesNotMatch(table, /_admin|support_agent|\+agent/, 'roles in words, not codes')
})
