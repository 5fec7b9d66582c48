/**
 * npm run bench: runs the benchmarks against the machine's PostgreSQL and
 * records the figures in docs/benchmarks.md (one section per area, replaced
 * on each run) and on stdout.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { demoContentDir } from '../src/seed/demo.js'
import { runHelpCenterBench, searchOnly, type HelpBenchResult } from './helpcenter.bench.js'
import { runIdentityBench } from './identity.bench.js'
import { runForecastBench, runLifecycleBench } from './lifecycle.bench.js'
import { runSupportBench } from './support.bench.js'
import { runSsoBench } from './sso.bench.js'
import { runStartBench, summarize } from './start.bench.js'
import os from 'node:os'
import { machine, median } from './lib.js'

const docs = 'docs/benchmarks.md'
const log = (line: string) => { console.log(`[bench] ${line}`) }

async function record(area: string, markdown: string): Promise<void> {
  let text = await readFile(docs, 'utf8').catch(() => '# Benchmarks\n\nWritten by `npm run bench`; each section is replaced when its benchmark runs again.\n')
  const start = `<!-- bench:${area} -->`
  const end = `<!-- /bench:${area} -->`
  const section = `${start}\n${markdown.trim()}\n${end}`
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  text = from >= 0 && to > from ? `${text.slice(0, from)}${section}${text.slice(to + end.length)}` : `${text.trimEnd()}\n\n${section}\n`
  await writeFile(docs, text)
}

const only = process.argv[2]
if (!only || only === 'help') {
  const r = await runHelpCenterBench(demoContentDir, log)
  if (searchOnly) printSearchOnly(r)
  else await recordHelpCenter(r)
}

function printSearchOnly(r: HelpBenchResult): void {
  const row = (name: string, s: HelpBenchResult['search']) => `${name}: p50 ${s.p50} ms, p95 ${s.p95} ms, p99 ${s.p99} ms, max ${s.max} ms, ${s.failures} failed`
  console.log([
    `Search only (BENCH_HELP=search, not recorded), ${machine()}, 100 searches/s:`,
    row(`3 × ${r.articles / 3}, repeated questions`, r.search),
    row(`3 × ${r.articles / 3}, different questions`, r.searchDistinct),
    row(`3 × ${r.large.articles / 3}, repeated questions`, r.large.search),
    row(`3 × ${r.large.articles / 3}, different questions`, r.large.searchDistinct),
  ].join('\n'))
}

async function recordHelpCenter(r: HelpBenchResult): Promise<void> {
  const verdict = (ok: boolean) => (ok ? 'met' : '**not met**')
  const markdown = `
## Help center (${new Date().toISOString().slice(0, 10)})

Machine: ${machine()}. PostgreSQL 15 on the same machine; server, baseline and load generator share the cores.
Command: \`npm run bench help\` (autocannon, 20 connections; the baseline and the page alternate in 3 rounds of 6 s after a 3 s warm-up and the median round's ratio is reported; search latency timed per request).

| Measure | Result | Goal |
|---|---|---|
| Bare Fastify route, static HTML of ${r.articleSize} bytes | ${r.bare.rps} req/s (p50 ${r.bare.p50} ms, p99 ${r.bare.p99} ms) | baseline |
| Article page \`/en/help/articles/forgot-password\`, guest with cookies of an earlier visit | ${r.returning.rps} req/s (p50 ${r.returning.p50} ms, p99 ${r.returning.p99} ms) = **${r.returningRatio} %** of the baseline | ≥ 80 % — ${verdict(r.returningRatio >= 80)} |
| Article page, guest's first visit (no cookie; the page is the same for every guest and sets none) | ${r.article.rps} req/s (p50 ${r.article.p50} ms, p99 ${r.article.p99} ms) = **${r.articleRatio} %** of the baseline | ≥ 80 % — ${verdict(r.articleRatio >= 80)} |
| Search, 3 languages × ${r.articles / 3} articles, ${r.search.requests} requests at 100/s (open loop; hits, typos, misses) | p50 ${r.search.p50} ms, **p95 ${r.search.p95} ms**, p99 ${r.search.p99} ms, max ${r.search.max} ms | p95 < 15 ms — ${verdict(r.search.p95 < 15)} |
| Search, same set, ${r.searchDistinct.requests} *different* queries at 100/s (2–3 words of the articles' vocabulary, every fourth with a typo: none answered from the cache) | p50 ${r.searchDistinct.p50} ms, **p95 ${r.searchDistinct.p95} ms**, p99 ${r.searchDistinct.p99} ms, max ${r.searchDistinct.max} ms | — |
| Search, 3 languages × ${r.large.articles / 3} articles (imported over the first set in ${r.large.importSeconds} s), ${r.large.search.requests} requests at 100/s | p50 ${r.large.search.p50} ms, **p95 ${r.large.search.p95} ms**, p99 ${r.large.search.p99} ms, max ${r.large.search.max} ms | p95 < 25 ms — ${verdict(r.large.search.p95 < 25)} |
| Search, 3 × ${r.large.articles / 3} articles, ${r.large.searchDistinct.requests} *different* queries at 100/s | p50 ${r.large.searchDistinct.p50} ms, **p95 ${r.large.searchDistinct.p95} ms**, p99 ${r.large.searchDistinct.p99} ms, max ${r.large.searchDistinct.max} ms | — |
| Search at saturation, ${r.searchSaturated.requests} requests from 4 clients back to back | p50 ${r.searchSaturated.p50} ms, p95 ${r.searchSaturated.p95} ms, p99 ${r.searchSaturated.p99} ms | — |
| Search throughput (autocannon, 20 connections) | ${r.searchLoad.rps} req/s (p99 ${r.searchLoad.p99} ms) | — |
| Server RSS after the run | **${r.rssMb} MB** | < 250 MB — ${verdict(r.rssMb < 250)} |

Errors: article ${r.article.errors + r.article.non2xx}, search ${r.searchLoad.errors + r.searchLoad.non2xx + r.search.failures + r.searchDistinct.failures + r.large.search.failures + r.large.searchDistinct.failures}.
`
  console.log(markdown)
  await record('helpcenter', markdown)
}

if (!only || only === 'identity') {
  const r = await runIdentityBench(log)
  const verdict = (ok: boolean) => (ok ? 'met' : '**not met**')
  const st = r.statements
  const markdown = `
## Identity (${new Date().toISOString().slice(0, 10)})

Machine: ${machine()}. PostgreSQL 15 on the same machine.
Command: \`npm run bench identity\` (argon2id m=19456 KiB, t=2, p=1; five rounds, each 6 s raw argon2, 6 s of password sign-ins with autocannon (8 connections), 6 s raw argon2 again, 6 s of password+TOTP sign-ins from 8 clients back to back; the median round of each ratio reported; the real form posts with their CSRF token, each creating a session; timings: 240 sign-ins one at a time).
Load average (1/5/15 min) before the server started ${r.load.before.join(' / ')}, after it stopped ${r.load.after.join(' / ')}, on ${String(os.cpus().length)} cores.

| Measure | Result | Goal |
|---|---|---|
| Raw argon2id verifications, ${os.availableParallelism()} in flight | ${r.rawVerifiesPerSecond} /s | baseline |
| Password sign-ins through HTTP (session created, audit and activity written) | ${r.signIns.rps} /s (p50 ${r.signIns.p50} ms, p99 ${r.signIns.p99} ms) = **${r.signInRatio} %** of raw (rounds: ${r.roundRatios.join(' %, ')} %) | ≥ 85 % — ${verdict(r.signInRatio >= 85)} |
| Sign-ins with password and authenticator code (${r.totpAccounts.toLocaleString('en')} accounts with TOTP; password form answered with the second-step page, code form) | ${r.totp.perSecond} /s (whole sign-in p50 ${r.totp.p50} ms, p99 ${r.totp.p99} ms; ${r.totp.failures} failed) against raw ${r.totpRaw} /s = **${r.totpRatio} %** (rounds: ${r.totpRoundRatios.join(' %, ')} %) | ≥ 80 % — ${verdict(r.totpRatio >= 80)} |
| CPU per sign-in, median of the rounds (server with its argon2 / of which its main thread, PostgreSQL, load generator) | one raw argon2id verify: ${r.cpu.argon2Ms} ms; password: ${r.cpu.password.serverMs} / ${r.cpu.password.serverMainMs} + ${r.cpu.password.postgresMs} + ${r.cpu.password.clientMs} = **${r.cpu.password.totalMs} ms** (argon2 ${r.cpu.password.argon2Share} % of it); password+TOTP: ${r.cpu.totp.serverMs} / ${r.cpu.totp.serverMainMs} + ${r.cpu.totp.postgresMs} + ${r.cpu.totp.clientMs} = **${r.cpu.totp.totalMs} ms** (argon2 **${r.cpu.totp.argon2Share} %** of it: the ratio a machine busy with nothing else approaches) | — |
| SQL statements per sign-in (one at a time, counted in-process) | password only: ${st.password}; with TOTP: password step ${st.passwordStep} (its answer the second-step page), code step ${st.codeStep}; the second-step page reloaded ${st.codePage} | — |
| Sign-in time, unknown user ID | ${r.unknownMs} ms | — |
| Sign-in time, known user, wrong password | ${r.knownWrongMs} ms (difference to unknown: **${r.differencePercent} %**) | < 10 % — ${verdict(r.differencePercent < 10)} |
| Sign-in time, known user, right password | ${r.knownRightMs} ms | — |

Errors: ${r.signIns.errors}, non-redirect answers: ${r.signIns.non2xx} (a successful sign-in answers 303, counted here as non-2xx by autocannon).
`
  console.log(markdown)
  for (const [step, texts] of Object.entries(st.texts)) console.log(`statements, ${step}:\n${texts.map((q) => `  ${q}`).join('\n')}`)
  if (r.profile) {
    console.log(`\nServer CPU profile ${r.profile.file} (${r.profile.totalMs} ms sampled), self time:`)
    for (const row of r.profile.rows) console.log(`  ${String(row.percent).padStart(5)} %  ${String(row.ms).padStart(6)} ms  ${row.fn}  ${row.where}`)
  }
  await record('identity', markdown)
}

if (!only || only === 'support') {
  const r = await runSupportBench(log)
  const verdict = (ok: boolean) => (ok ? 'met' : '**not met**')
  const d = r.durability
  const markdown = `
## Support intake (${new Date().toISOString().slice(0, 10)})

Machine: ${machine()}. PostgreSQL 15 on the same machine; server and load generator share the cores.
Command: \`npm run bench support\` (autocannon, 16 connections, 10 s after a 3 s warm-up; each request is the real "Ask for help" form post of a guest with its CSRF token and its own email address; the answer is the confirmation page with the reference and the waiting time).

| Measure | Result | Goal |
|---|---|---|
| Tickets created through HTTP | **${r.intake.rps} /s** (p50 ${r.intake.p50} ms, p99 ${r.intake.p99} ms; ${r.created} tickets) | ≥ 500 /s — ${verdict(r.intake.rps >= 500)} |
| SIGKILL after 2.5 s of load from 16 clients, then restart: acknowledged tickets in the database | ${d.found} of ${d.acknowledged}${d.missing.length > 0 ? ` (missing: ${d.missing.join(', ')})` : ''} | all — ${verdict(d.found === d.acknowledged)} |
| … of which with their confirmation email queued exactly once | ${d.emailsOnce} of ${d.found} | all — ${verdict(d.emailsOnce === d.found)} |

Errors: ${r.intake.errors}; answers other than 2xx: ${r.intake.non2xx}.
`
  console.log(markdown)
  await record('support', markdown)
}


if (!only || only === 'lifecycle') {
  const r = await runLifecycleBench(log)
  const verdict = (ok: boolean) => (ok ? 'met' : '**not met**')
  const ratio = r.sweepSeconds / r.bareSeconds
  const s = (n: number) => n.toFixed(2)
  const markdown = `
## Lifecycle sweep (${new Date().toISOString().slice(0, 10)})

Machine: ${machine()}. PostgreSQL 15 on the same machine.
Command: \`npm run bench lifecycle\` (${r.accounts.toLocaleString('en')} generated accounts, 40 % recently active and 15 % due for each step, a tenth in the shop realm; one template database cloned for the sweep and for its yardstick, which alternate in 3 rounds on fresh clones, each phase after a checkpoint; \`sportello lifecycle sweep\` as its own process, whole command timed including start-up, memory sampled every 100 ms).

| Measure | Result | Goal |
|---|---|---|
| Dry run (\`--dry-run\`: counts per step, nothing changed) | **${s(r.dryRunSeconds)} s** (due: ${Object.entries(r.due).map(([k, v]) => `${k} ${v.toLocaleString('en')}`).join(', ')}) | < 5 s — ${verdict(r.dryRunSeconds < 5)} |
| Bare SQL \`UPDATE\` of the same rows (status only: no email, audit or erasure) | ${s(r.bareSeconds)} s, ${r.bareMoved.toLocaleString('en')} rows, ${r.bareWalMb} MB of WAL | yardstick |
| Sweep (status, one email per account in the outbox, an audit event each, erasure of the deleted) | **${s(r.sweepSeconds)} s** = **${ratio.toFixed(2)}×** the bare update (median round; rounds: ${r.ratios.map((x) => `${x.toFixed(2)}×`).join(', ')}); ${r.sweepMoved.toLocaleString('en')} accounts moved, ${r.emailsQueued.toLocaleString('en')} emails queued, ${r.sweepWalMb} MB of WAL | ≤ 2× — ${verdict(ratio <= 2 && r.sweepMoved === r.bareMoved)} |
| Sweep process memory (RSS) | ${r.rssMb.start} MB after start-up, ${r.rssMb.max} MB at most, ${r.rssMb.end} MB at the end (${r.rssMb.samples} samples) | flat — ${verdict(r.rssMb.max - r.rssMb.start < 50)} |
| Inactivity forecast of one market holding all ${r.accounts.toLocaleString('en')} accounts in ${r.forecast.companies.toLocaleString('en')} companies (both realms, 7/30/90 days, per company: \`lifecycle.forecast\` as the page calls it; median of 5, runs ${r.forecast.runs.map((x) => x.toFixed(3)).join(', ')} s) | **${r.forecast.seconds.toFixed(3)} s** (within 90 days: ${Object.entries(r.forecast.totals).map(([k, v]) => `${k} ${(v[2] ?? 0).toLocaleString('en')}`).join(', ')}; load average before ${r.forecast.load.before.map((x) => x.toFixed(2)).join(' / ')}, after ${r.forecast.load.after.map((x) => x.toFixed(2)).join(' / ')} on ${String(os.cpus().length)} cores) | < 1 s — ${verdict(r.forecast.seconds < 1)} |

Generating the accounts took ${s(r.generateSeconds)} s (not part of any figure).

The forecast's statement for the partner realm (the shop realm's is the same over its own accounts), \`EXPLAIN (ANALYZE, BUFFERS)\`:

\`\`\`
${r.forecast.explain}
\`\`\`
`
  console.log(markdown)
  await record('lifecycle', markdown)
}

if (only === 'lifecycle-forecast') {
  // Not part of a full run, and recorded by hand: a repeat of the forecast's measure on the last full run's data.
  const r = await runForecastBench(log)
  console.log(`Inactivity forecast of one market holding ${r.accounts.toLocaleString('en')} accounts in ${r.companies.toLocaleString('en')} companies: **${r.seconds.toFixed(3)} s** (median of 5, runs ${r.runs.map((x) => x.toFixed(3)).join(', ')} s; load average before ${r.load.before.map((x) => x.toFixed(2)).join(' / ')}, after ${r.load.after.map((x) => x.toFixed(2)).join(' / ')} on ${String(os.cpus().length)} cores)`)
  console.log(`\n\`\`\`\n${r.explain}\n\`\`\``)
}

if (!only || only === 'sso') {
  const r = await runSsoBench(log)
  const verdict = (ok: boolean) => (ok ? 'met' : '**not met**')
  const markdown = `
## Single sign-on (${new Date().toISOString().slice(0, 10)})

Machine: ${machine()}. PostgreSQL 15 on the same machine; server and load generator share the cores.
Command: \`npm run bench sso\` (autocannon, 16 connections; discovery, client_credentials, refresh, SCIM create and SCIM PATCH alternate in 3 rounds of 6 s after warm-ups, and the round with the median client_credentials ratio is reported, SCIM rates as the median of their rounds; every grant is a real token endpoint call with client_secret_basic, stored in PostgreSQL; refresh tokens rotate, each answer's new token used by a later request, 32 people's chains; SCIM requests carry a company-scoped provisioning token, each create a new person invited by email through the outbox, each PATCH replaces the given name of another created account, measured once the outbox has sent the invitations of the creates before it).

| Measure | Result | Goal |
|---|---|---|
| Bare discovery route \`/.well-known/openid-configuration\` | ${r.discovery.rps} req/s (p50 ${r.discovery.p50} ms, p99 ${r.discovery.p99} ms) | baseline |
| client_credentials grants | **${r.clientCredentials.rps} /s** (p50 ${r.clientCredentials.p50} ms, p99 ${r.clientCredentials.p99} ms) = ${r.clientCredentialsRatio} % of discovery | ≥ 480 /s — ${verdict(r.clientCredentials.rps >= 480)} |
| Refresh-token grants (rotation, activity recorded) | **${r.refresh.rps} /s** (p50 ${r.refresh.p50} ms, p99 ${r.refresh.p99} ms) = ${r.refreshRatio} % of discovery | — |
| SCIM user creates, \`POST /scim/v2/Users\` (account, role, invitation token, outbox email, audit in one transaction) | **${r.scimCreate.rps} /s** (p50 ${r.scimCreate.p50} ms, p99 ${r.scimCreate.p99} ms) | ≥ 300 /s — ${verdict(r.scimCreate.rps >= 300)} |
| SCIM user PATCHes, \`PATCH /scim/v2/Users/{id}\` (name replaced, audited) | **${r.scimPatch.rps} /s** (p50 ${r.scimPatch.p50} ms, p99 ${r.scimPatch.p99} ms) | ≥ 300 /s — ${verdict(r.scimPatch.rps >= 300)} |

Rounds (discovery / client_credentials / refresh / SCIM create / SCIM PATCH per second): ${r.rounds.map((x) => `${x.discovery} / ${x.clientCredentials} / ${x.refresh} / ${x.scimCreate} / ${x.scimPatch}`).join('; ')}.
Errors in the reported round: client_credentials ${r.clientCredentials.errors + r.clientCredentials.non2xx}, refresh ${r.refresh.errors + r.refresh.non2xx}, SCIM create ${r.scimCreate.errors + r.scimCreate.non2xx}, SCIM PATCH ${r.scimPatch.errors + r.scimPatch.non2xx}; in all rounds: ${r.allErrors}.
`
  console.log(markdown)
  await record('sso', markdown)
}

if (!only || only === 'start') {
  const r = await runStartBench(log)
  const verdict = (ok: boolean) => (ok ? 'met' : '**not met**')
  const m = (values: number[]) => median(values)
  const markdown = `
## Start-up on the embedded database (${new Date().toISOString().slice(0, 10)})

Machine: ${machine()}.
Command: \`npm run bench start\` (each a whole process timed from spawn, compiled JavaScript from dist/, built beforehand as \`npm ci\` leaves it; ${String(r.firstStart.length)} rounds, median and every round given).

| Measure | Result | Goal |
|---|---|---|
| First \`npm start\` on a fresh DATA_DIR (the database a copy of the migrated template \`npm ci\` made, demo loaded) to a 200 from /healthz | **${summarize(r.firstStart)}** | ≤ 5 s — ${verdict(m(r.firstStart) <= 5)} |
| Restart on the same DATA_DIR to a 200 from /healthz | **${summarize(r.restart)}** | ≤ 2 s — ${verdict(m(r.restart) <= 2)} |
| \`sportello --help\` | **${summarize(r.help)}** | ≤ 1 s — ${verdict(m(r.help) <= 1)} |
| \`sportello content report\` (opens the embedded database) | **${summarize(r.command)}** | ≤ 3 s — ${verdict(m(r.command) <= 3)} |
| \`sportello content report\` while the server runs (through its socket) | **${summarize(r.commandBeside)}** | ≤ 3 s — ${verdict(m(r.commandBeside) <= 3)} |
| Server memory (RSS) 2 s after a restart | **${String(r.rssMb)} MB** | ≤ 300 MB — ${verdict(r.rssMb <= 300)} |
`
  console.log(markdown)
  await record('start', markdown)
}
