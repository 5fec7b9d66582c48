import assert from 'node:assert/strict'
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { cliSession, runSportello, sportello, type CliSession } from '../test/cli.js'
import * as factory from '../test/factories.js'
import { demoContentDir } from './seed/demo.js'

// Commands run in this process (runSportello), on a database each test holds open; only what needs
// a process of its own spawns one (sportello), each saying why.

/** A database with nothing in it, for the tests that change nothing; open until the file's tests end. */
let empty: CliSession
const closeEmpty: (() => Promise<void>)[] = []
// Opened in a hook and closed by the file's own `after`: an `after` registered inside a hook would run
// as soon as that hook ends.
before(async () => { empty = await cliSession({ after: (fn) => { closeEmpty.push(fn) } }) })
after(async () => { for (const close of closeEmpty) await close() })

test('sportello migrate, seed demo, content export and import, content report', async () => {
  const cli = await cliSession({
    migrated: false,
    // A process: the first command of an install, as the operator runs it (the bin, a DATA_DIR or
    // database that holds nothing yet). The commands after it run in this process, on that database.
    before: (env) => {
      const migrate = sportello(env, 'migrate')
      assert.equal(migrate.status, 0, migrate.stderr)
      assert.match(migrate.stdout, /Database is up to date/)
    },
  })

  // As many articles as the repository's content folder holds (category files aside).
  const articles = (await readdir(demoContentDir, { recursive: true })).filter((f) => f.endsWith('.md') && !f.endsWith('_category.md')).length
  const seed = await runSportello(cli, 'seed', 'demo')
  assert.equal(seed.status, 0, seed.stderr)
  assert.match(seed.stdout, new RegExp(`5 markets, ${String(articles)} help articles`))

  const out = await mkdtemp(path.join(tmpdir(), 'sportello-export-'))
  const exported = await runSportello(cli, 'content', 'export', out)
  assert.equal(exported.status, 0, exported.stderr)
  assert.deepEqual((await readdir(out)).sort(), ['de', 'en', 'it'])
  assert.match(await readFile(path.join(out, 'en', 'password', 'forgot-password.md'), 'utf8'), /^---\nkey: forgot-password\n/)

  const reimported = await runSportello(cli, 'content', 'import', out)
  assert.equal(reimported.status, 0, reimported.stderr)
  assert.match(reimported.stdout, new RegExp(`articles: 0 created, 0 updated, ${String(articles)} unchanged, 0 deleted`))

  const report = await runSportello(cli, 'content', 'report')
  assert.equal(report.status, 0, report.stderr)
  assert.match(report.stdout, /Searches without results/)
})

test('sportello users invite, users import, lifecycle sweep and admin create', async () => {
  const cli = await cliSession()
  const workshop = await factory.company(cli)
  await factory.user(cli, { company: workshop })
  await factory.user(cli)
  await factory.user(cli, { realm: 'shop', company: workshop })

  const invite = await runSportello(cli, 'users', 'invite', '--user-id', 'cli.user', '--first-name', 'Carla', '--last-name', 'Rinaldi', '--company', workshop.companyNumber, '--locale', 'it')
  assert.equal(invite.status, 0, invite.stderr)
  assert.match(invite.stdout, /Single-use link, valid 7 days: http:\/\/\S+\/it\/invite\/[\w-]{43}\n/)
  const again = await runSportello(cli, 'users', 'invite', '--user-id', 'cli.user', '--first-name', 'Carla', '--last-name', 'Rinaldi', '--company', workshop.companyNumber)
  assert.equal(again.status, 1)
  assert.match(again.stderr, /USER_ID_TAKEN: This user ID is already taken/)
  const badRole = await runSportello(cli, 'users', 'invite', '--user-id', 'cli.other', '--first-name', 'C', '--last-name', 'R', '--company', workshop.companyNumber, '--role', 'god')
  assert.equal(badRole.status, 1)
  assert.match(badRole.stderr, /INVALID_INPUT: The value of “role”/)

  // Three partner accounts (two made here, one invited) and one shop account, all idle by 2040.
  const dry = await runSportello(cli, 'lifecycle', 'sweep', '--dry-run', '--now', '2040-01-01T00:00:00Z')
  assert.equal(dry.status, 0, dry.stderr)
  assert.match(dry.stdout, /^Dry run \(nothing changed\): due at 2040-01-01T00:00:00.000Z — partner: block_warned 3, blocked 0, delete_warned 0, deleted 0; shop: block_warned 1,[^\n]*\n$/)
  const asJson = await runSportello(cli, 'lifecycle', 'sweep', '--dry-run', '--now', '2040-01-01T00:00:00Z', '--json')
  assert.equal(asJson.status, 0, asJson.stderr)
  const summary = JSON.parse(asJson.stdout) as { command: string; ran: boolean; dryRun: boolean; realms: Record<string, Record<string, number>> }
  assert.deepEqual([summary.command, summary.ran, summary.dryRun, summary.realms.partner?.block_warned], ['lifecycle sweep', true, true, 3])
  const swept = await runSportello(cli, 'lifecycle', 'sweep', '--now', '2040-01-01T00:00:00Z')
  assert.equal(swept.stdout.split('\n').length, 2, 'not on a terminal: one summary line, no progress bar')
  assert.doesNotMatch(swept.stderr, /accounts \[|left/, 'and no progress bar on stderr')
  assert.match(swept.stdout, /^Moved at 2040-01-01T00:00:00.000Z — partner: block_warned 3,/)
  assert.match((await runSportello(cli, 'lifecycle', 'sweep', '--now', '2040-01-01T00:00:00Z')).stdout, /partner: block_warned 0, blocked 0, delete_warned 0, deleted 0/)
  const badNow = await runSportello(cli, 'lifecycle', 'sweep', '--now', 'yesterday')
  assert.equal(badNow.status, 2)
  assert.match(badNow.stderr, /--now "yesterday" is not a date and time/)

  const dir = await mkdtemp(path.join(tmpdir(), 'sportello-import-'))
  const header = 'user_id,first_name,last_name,email,company_number,realm,role,last_activity'
  await writeFile(path.join(dir, 'bad.csv'), `${header}\ncli.imp1,Ada,Uno,ada@import.example,${workshop.companyNumber},partner,user,\ncli.imp2,"@SUM(1)",Due,,${workshop.companyNumber},partner,user,\n`)
  const refused = await runSportello(cli, 'users', 'import', path.join(dir, 'bad.csv'))
  assert.equal(refused.status, 1)
  assert.match(refused.stderr, /Nothing imported: 1 problem\(s\)\.\n {2}line 3, first_name: starts like a spreadsheet formula/)
  await writeFile(path.join(dir, 'good.csv'), `${header}\ncli.imp1,Ada,Uno,ada@import.example,${workshop.companyNumber},partner,user,2026-02-01\n`)
  const imported = await runSportello(cli, 'users', 'import', path.join(dir, 'good.csv'), '--invite')
  assert.equal(imported.status, 0, imported.stderr)
  assert.match(imported.stdout, /^Imported 1 account\(s\); 1 invitation\(s\) queued\.\n$/)
  const drained = await runSportello(cli, 'outbox', 'drain', '--json')
  assert.equal(drained.status, 0, drained.stderr)
  const sent = JSON.parse(drained.stdout) as { command: string; sent: number; done: number; total: number; seconds: number }
  assert.equal(sent.command, 'outbox drain')
  assert.ok(sent.sent >= 1 && sent.done === sent.sent && sent.total >= sent.sent, drained.stdout)
  const imp1 = await cli.database.db.query.users.findFirst({ where: (u, { eq }) => eq(u.userId, 'cli.imp1') })
  assert.equal(imp1?.companyId, workshop.id, 'the imported account belongs to the company named in the file')
  assert.equal(imp1.lastActivityAt?.toISOString(), '2026-02-01T00:00:00.000Z')

  const admin = await runSportello(cli, 'admin', 'create', 'ops.lead@operations.example', '--role', 'platform_admin')
  assert.equal(admin.status, 0, admin.stderr)
  assert.match(admin.stdout, /Created platform_admin ops\.lead \(ops\.lead@operations\.example\)\.\nSingle-use link to choose a password, valid 7 days: http\S+\/en\/invite\//)
  assert.equal((await runSportello(cli, 'admin', 'create', 'x@example.com', '--role', 'king')).status, 2)
})

test('the CLI explains itself and refuses bad commands and bad content with exit codes', async () => {
  // A process, once: the bin passes the exit code and what the CLI says on to the shell.
  const unknown = sportello(empty.env, 'frobnicate')
  assert.equal(unknown.status, 2)
  assert.match(unknown.stderr, /Unknown or incomplete command: frobnicate/)
  const help = await runSportello(empty, '--help')
  assert.equal(help.status, 0)
  assert.match(help.stdout, /^Usage: sportello <command>/)
  const missing = await runSportello(empty, 'content', 'import', '/nonexistent/dir')
  assert.equal(missing.status, 1)
  assert.match(missing.stderr, /not a readable directory/)
  const badConfig = await runSportello({ ...empty, env: { ...empty.env, PORT: 'abc' } }, 'migrate')
  assert.equal(badConfig.status, 1)
  assert.match(badConfig.stderr, /PORT="abc" is invalid/)
})

test('sportello support close-solved and support report', async () => {
  const closed = await runSportello(empty, 'support', 'close-solved', '--now', '2030-01-01T00:00:00Z')
  assert.equal(closed.status, 0, closed.stderr)
  assert.match(closed.stdout, /Closed 0 solved request\(s\) without an answer since 2029-12-25T00:00:00\.000Z/)
  assert.equal((await runSportello(empty, 'support', 'close-solved', '--now', 'tomorrow')).status, 2)
  const report = await runSportello(empty, 'support', 'report', '--days', '7')
  assert.equal(report.status, 0, report.stderr)
  assert.match(report.stdout, /Requests sent from a help article, last 7 days/)
  assert.equal((await runSportello(empty, 'support', 'report', '--days', 'x')).status, 2)
})

test('a lifecycle rehearsed with --now delivers the four emails a partner would get, in order', async () => {
  const cli = await cliSession()
  const person = await factory.user(cli, { lastActivityAt: new Date('2030-01-01T00:00:00Z') })
  const years = ['2040', '2041', '2042', '2043']
  for (const year of years) {
    const swept = await runSportello(cli, 'lifecycle', 'sweep', '--now', `${year}-01-01T00:00:00Z`)
    assert.equal(swept.status, 0, swept.stderr)
  }
  assert.match((await runSportello(cli, 'outbox', 'drain')).stdout, /Sent 0 email\(s\)\./, 'nothing is due yet in real time')
  const drained = await runSportello(cli, 'outbox', 'drain', '--now', '2043-01-01T00:00:00Z')
  assert.equal(drained.status, 0, drained.stderr)
  assert.match(drained.stdout, /Sent 4 email\(s\) due by 2043-01-01T00:00:00\.000Z\./)
  const mails = (await readdir(path.join(cli.env.DATA_DIR ?? '', 'mail'))).sort()
  assert.deepEqual(mails.map((name) => name.replace(/^\d+-/, '')), [
    'lifecycle-block_warned.eml', 'lifecycle-blocked.eml', 'lifecycle-delete_warned.eml', 'lifecycle-deleted.eml',
  ])
  for (const name of mails) assert.match(await readFile(path.join(cli.env.DATA_DIR ?? '', 'mail', name), 'utf8'), new RegExp(`To: ${person.email ?? ''}`))
  assert.equal((await runSportello(cli, 'outbox', 'drain', '--now', 'soon')).status, 2)
})
