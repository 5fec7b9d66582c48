import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseUsersCsv, toCsv } from './csv.js'

test('exported cells that a spreadsheet would run as formulas start with an apostrophe; quotes and commas stay intact', () => {
  const csv = toCsv(['a', 'b'], [['=cmd|" /C calc"!A0', '+1'], ['-2', '@SUM(A1)'], ['plain, with "quotes"', null]])
  assert.equal(csv, 'a,b\n"\'=cmd|"" /C calc""!A0",\'+1\n\'-2,\'@SUM(A1)\n"plain, with ""quotes""",\n')
})

test('import files: semicolons, a BOM and columns in any order are read; unknown or missing columns are named', () => {
  const header = 'last_activity;role;realm;company_number;email;last_name;first_name;user_id'
  const { records, problems } = parseUsersCsv(`\uFEFF${header}\n;user;partner;QA-77001;a@b.example;Uno;Ugo;ugo.uno\n`)
  assert.deepEqual(problems, [])
  assert.equal(records[0]?.user_id, 'ugo.uno')
  assert.equal(records[0].first_name, 'Ugo')
  assert.equal(records[0].company_number, 'QA-77001')
  assert.deepEqual(parseUsersCsv('user_id,first_name,nickname\n').problems, [{ line: 1, field: 'last_name, email, company_number, realm, role, last_activity, nickname', code: 'columns' }])
  assert.equal(parseUsersCsv('user_id,"first_name\nx').problems[0]?.code, 'syntax')
})
