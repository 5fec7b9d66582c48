/**
 * Inactivity sweep benchmark on PostgreSQL with 1,000,000 generated accounts spread over every
 * lifecycle stage. One template database is generated once and cloned, so the sweep and its
 * yardstick (a bare SQL UPDATE moving exactly the same rows, nothing else) start from the same data:
 *  1. `sportello lifecycle sweep --dry-run` (the counts per stage): goal under 5 s;
 *  2. in three rounds, the bare UPDATE on one clone, then `sportello lifecycle sweep` on another,
 *     its memory sampled every 100 ms: goal within 2× the bare UPDATE (median round), memory flat.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import postgres from 'postgres'
import { createServices } from '../src/composition.js'
import { openDatabase } from '../src/db/client.js'
import { seedDemo } from '../src/seed/demo.js'
import { createInactivityRepo } from '../src/modules/identity/index.js'
import { systemActor } from '../src/shared/actor.js'
import { setClock } from '../src/shared/clock.js'
import { adminUrl, freshBenchDatabase } from './lib.js'

const ACCOUNTS = Number(process.env.BENCH_LIFECYCLE_ACCOUNTS ?? 1_000_000)
/** "Now" of the sweep: every generated date is relative to it. */
const NOW = '2027-06-01T03:00:00Z'

export interface LifecycleBenchResult {
  accounts: number
  generateSeconds: number
  due: Record<string, number>
  dryRunSeconds: number
  bareSeconds: number
  bareMoved: number
  /** Write-ahead log written by each phase: the work PostgreSQL did, whatever the clock says. */
  bareWalMb: number
  sweepWalMb: number
  sweepSeconds: number
  sweepMoved: number
  emailsQueued: number
  rssMb: { start: number; max: number; end: number; samples: number }
  /** Sweep time over bare time, round by round. */
  ratios: number[]
  /** The inactivity forecast of the one market that holds every account: median of 5 runs, and its plan. */
  forecast: { seconds: number; runs: number[]; companies: number; totals: Record<string, number[]>; explain: string; load: { before: number[]; after: number[] } }
}

interface Round {
  bareSeconds: number
  bareMoved: number
  bareWalMb: number
  sweepSeconds: number
  sweepWalMb: number
  sweepMoved: number
  emailsQueued: number
  rss: number[]
}

const ROUNDS = 3

async function measureRound(templateName: string): Promise<Round> {
  const bareUrl = await cloneDatabase(templateName, 'sportello_bench_lifecycle_bare')
  const sweepUrl = await cloneDatabase(templateName, 'sportello_bench_lifecycle_sweep')
  let sql = postgres(bareUrl, { max: 1, onnotice: () => undefined })
  // Each measured phase starts after a checkpoint: neither pays for the other's dirty pages.
  await sql.unsafe('checkpoint')
  const bareWal = await walPosition(sql)
  const bareStarted = performance.now()
  const bare = await sql.unsafe(bareUpdate)
  const bareSeconds = (performance.now() - bareStarted) / 1000
  const bareWalMb = await walSince(sql, bareWal)
  await sql.unsafe('checkpoint')
  const sweepWal = await walPosition(sql)
  await sql.end()

  const sweep = await timedCli(['lifecycle', 'sweep', '--now', NOW], sweepUrl)
  sql = postgres(sweepUrl, { max: 1, onnotice: () => undefined })
  const sweepWalMb = await walSince(sql, sweepWal)
  const [moved] = await sql<{ n: number }[]>`select count(*)::int as n from users where status_changed_at = ${NOW}::timestamptz`
  const [emails] = await sql<{ n: number }[]>`select count(*)::int as n from outbox where key like 'lifecycle:%'`
  await sql.end()
  return {
    bareSeconds, bareMoved: bare.count, bareWalMb, sweepSeconds: sweep.seconds, sweepWalMb,
    sweepMoved: moved?.n ?? 0, emailsQueued: emails?.n ?? 0, rss: sweep.rss,
  }
}

/**
 * Accounts by share, with the default partner policy (warn 150, block 180, warn again 335, delete
 * 365 days): 40 % recently active, and 15 % each due for one of the four steps. A tenth of them
 * live in the shop realm, whose policy is the same.
 */
const COMPANIES = 2000
/** One market (the demo's IT) with COMPANIES companies; every generated account belongs to one of them. */
const generateCompanies = `
  insert into companies (market_id, company_number, name, street, postal_code, city)
  select (select id from markets where code = 'IT'), 'BENCH-' || g, 'Bench company ' || g, 'Via Bench ' || g, '00100', 'Roma'
  from generate_series(1, ${String(COMPANIES)}) g`
const generateAccounts = (n: number) => `
  insert into users (realm, user_id, first_name, last_name, email, email_verified_at, locale, status, last_activity_at, status_changed_at, created_at, updated_at, company_id)
  select case when g % 10 = 0 then 'shop' else 'partner' end, 'bench' || g, 'Bench', 'User ' || g, 'bench' || g || '@accounts.example', n - interval '400 days',
    (array['it','en','de'])[1 + g % 3],
    case when b < 11 then 'active' when b < 14 then 'block_warned' when b < 17 then 'blocked' else 'delete_warned' end,
    n - case when b < 8 then (g % 140) * interval '1 day' when b < 11 then interval '160 days' when b < 14 then interval '190 days'
             when b < 17 then interval '340 days' else interval '370 days' end,
    case when b < 11 then null when b < 14 then n - interval '40 days' when b < 17 then n - interval '160 days' else n - interval '40 days' end,
    n - interval '500 days', n - interval '40 days', c.first + g % ${String(COMPANIES)}
  from generate_series(1, ${String(n)}) g, lateral (select g % 20 as b, '${NOW}'::timestamptz as n) x,
    (select min(id) as first from companies where company_number like 'BENCH-%') c`

/** The yardstick: the same rows moved to the same next status, and nothing else (no email, audit or erasure). */
const bareUpdate = `
  update users set status = case status when 'active' then 'block_warned' when 'block_warned' then 'blocked' when 'blocked' then 'delete_warned' else 'deleted' end,
    status_changed_at = '${NOW}', updated_at = '${NOW}'
  where (status = 'active' and coalesce(last_activity_at, created_at) <= timestamptz '${NOW}' - interval '150 days')
     or (status = 'block_warned' and coalesce(last_activity_at, created_at) <= timestamptz '${NOW}' - interval '180 days' and coalesce(status_changed_at, last_activity_at, created_at) <= timestamptz '${NOW}' - interval '30 days')
     or (status = 'blocked' and coalesce(last_activity_at, created_at) <= timestamptz '${NOW}' - interval '335 days' and coalesce(status_changed_at, last_activity_at, created_at) <= timestamptz '${NOW}' - interval '155 days')
     or (status = 'delete_warned' and coalesce(last_activity_at, created_at) <= timestamptz '${NOW}' - interval '365 days' and coalesce(status_changed_at, last_activity_at, created_at) <= timestamptz '${NOW}' - interval '30 days')`

async function cloneDatabase(template: string, name: string): Promise<string> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined })
  await admin.unsafe(`drop database if exists "${name}" with (force)`)
  await admin.unsafe(`create database "${name}" template "${template}"`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

type Sql = ReturnType<typeof postgres>

async function walPosition(sql: Sql): Promise<string> {
  const [row] = await sql<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`
  return row?.lsn ?? '0/0'
}

async function walSince(sql: Sql, from: string): Promise<number> {
  const [row] = await sql<{ bytes: string }[]>`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${from}::pg_lsn)::bigint::text as bytes`
  return Math.round(Number(row?.bytes ?? 0) / 2 ** 20)
}

/** Runs the sportello CLI as its own process, sampling its resident memory while it works. */
async function timedCli(args: string[], databaseUrl: string): Promise<{ seconds: number; stdout: string; rss: number[] }> {
  const started = performance.now()
  const child = spawn(process.execPath, ['bin/sportello.js', ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'],
  })
  let stdout = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  const rss: number[] = []
  const sampler = setInterval(() => {
    try {
      rss.push(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${String(child.pid)}/status`, 'utf8'))?.[1] ?? 0) / 1024)
    } catch (error) {
      // The process has just exited between two samples; the exit handler below ends the run.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }, 100)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearInterval(sampler)
  if (code !== 0) throw new Error(`sportello ${args.join(' ')} exited with ${String(code)}`)
  return { seconds: (performance.now() - started) / 1000, stdout, rss }
}

export async function runLifecycleBench(log: (line: string) => void): Promise<LifecycleBenchResult> {
  const templateName = 'sportello_bench_lifecycle_template'
  const templateUrl = await freshBenchDatabase(templateName)
  const database = await openDatabase({ url: templateUrl })
  await database.migrate()
  await seedDemo(createServices(database))
  await database.close()

  log(`generating ${String(ACCOUNTS)} accounts…`)
  const generateStarted = performance.now()
  const sql = postgres(templateUrl, { max: 1, onnotice: () => undefined })
  await sql.unsafe(generateCompanies)
  await sql.unsafe(generateAccounts(ACCOUNTS))
  await sql.unsafe('vacuum analyze users')
  await sql.end()
  const generateSeconds = (performance.now() - generateStarted) / 1000

  log('inactivity forecast of the market…')
  const forecast = await measureForecast(await cloneDatabase(templateName, 'sportello_bench_lifecycle_forecast'))
  log(`forecast: ${forecast.seconds.toFixed(3)} s`)

  const dryUrl = await cloneDatabase(templateName, 'sportello_bench_lifecycle_dry')
  log('dry run…')
  const dry = await timedCli(['lifecycle', 'sweep', '--now', NOW, '--dry-run'], dryUrl)
  const due: Record<string, number> = {}
  for (const match of dry.stdout.matchAll(/(block_warned|blocked|delete_warned|deleted) (\d+)/g)) due[match[1] ?? ''] = (due[match[1] ?? ''] ?? 0) + Number(match[2])

  // This machine's speed drifts from minute to minute: the yardstick and the sweep alternate in
  // rounds, each on fresh clones, and the median round's ratio is the figure.
  const rounds: Round[] = []
  for (let i = 1; i <= ROUNDS; i++) {
    log(`round ${String(i)}: bare SQL update of the same rows, then the sweep…`)
    rounds.push(await measureRound(templateName))
  }
  const median = [...rounds].sort((a, b) => a.sweepSeconds / a.bareSeconds - b.sweepSeconds / b.bareSeconds)[Math.floor(rounds.length / 2)] ?? rounds[0]
  if (!median) throw new Error('no round ran')
  const { rss, ...figures } = median
  const samples = rss.filter((r) => r > 0)
  return {
    accounts: ACCOUNTS, generateSeconds, due, dryRunSeconds: dry.seconds, ...figures, forecast,
    ratios: rounds.map((r) => Number((r.sweepSeconds / r.bareSeconds).toFixed(2))),
    rssMb: {
      start: Math.round(samples[Math.min(samples.length - 1, 20)] ?? 0), max: Math.round(Math.max(...samples, 0)),
      end: Math.round(samples.at(-1) ?? 0), samples: samples.length,
    },
  }
}

/**
 * The forecast alone, on the template a full run generated (`npm run bench lifecycle-forecast`):
 * to repeat the measure on a shared machine without generating and sweeping a million accounts again.
 */
export async function runForecastBench(log: (line: string) => void): Promise<LifecycleBenchResult['forecast'] & { accounts: number }> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined })
  const [template] = await admin<{ n: number }[]>`select count(*)::int as n from pg_database where datname = 'sportello_bench_lifecycle_template'`
  await admin.end()
  if (!template?.n) throw new Error('no template database: run `npm run bench lifecycle` once first')
  log('inactivity forecast of the market, on the template of the last full run…')
  const url = await cloneDatabase('sportello_bench_lifecycle_template', 'sportello_bench_lifecycle_forecast')
  const sql = postgres(url, { max: 1, onnotice: () => undefined })
  const [accounts] = await sql<{ n: number }[]>`select count(*)::int as n from users where user_id like 'bench%'`
  await sql.end()
  return { ...await measureForecast(url), accounts: accounts?.n ?? 0 }
}

/**
 * The forecast a market administrator opens: the service as the page calls it (both realms,
 * 7/30/90 days, per company), timed five times on a clone after VACUUM ANALYZE (as autovacuum
 * leaves a table at rest), and the partner realm's statement under EXPLAIN (ANALYZE, BUFFERS).
 */
async function measureForecast(url: string): Promise<LifecycleBenchResult['forecast']> {
  const admin = postgres(url, { max: 1, onnotice: () => undefined })
  // Statistics of both tables, as autovacuum keeps them: without those of the new companies the
  // planner guesses a handful of them and walks users by company instead of the forecast index.
  await admin.unsafe('vacuum analyze users')
  await admin.unsafe('analyze companies')
  const [market] = await admin<{ id: number }[]>`select id from markets where code = 'IT'`
  await admin.end()
  if (!market) throw new Error('no IT market')
  const database = await openDatabase({ url })
  const restore = setClock(new Date(NOW))
  try {
    const services = createServices(database)
    // The machine is shared: how busy it was (load averages over 1, 5 and 15 minutes) goes with the figure.
    const before = os.loadavg()
    const runs: number[] = []
    let result: Awaited<ReturnType<typeof services.lifecycle.forecast>> | undefined
    for (let i = 0; i < 5; i++) {
      const started = performance.now()
      result = await services.lifecycle.forecast(systemActor('bench'), { marketId: market.id, companyId: null })
      runs.push((performance.now() - started) / 1000)
    }
    const [policy] = (await services.lifecycle.policies(systemActor('bench'))).filter((p) => p.key === 'partner')
    if (!policy || !result) throw new Error('no partner policy')
    const explain = await createInactivityRepo(database.db).explainForecast(policy, new Date(NOW), [7, 30, 90], { marketId: market.id })
    const sorted = [...runs].sort((a, b) => a - b)
    return {
      seconds: sorted[Math.floor(sorted.length / 2)] ?? 0, runs, companies: result.companies.length,
      totals: result.totals, explain, load: { before, after: os.loadavg() },
    }
  } finally {
    restore()
    await database.close()
  }
}
