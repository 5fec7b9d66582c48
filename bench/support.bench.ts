/**
 * Support intake benchmark on PostgreSQL:
 *  1. tickets per second through the real "Ask for help" form post (CSRF, validation, routing,
 *     waiting-time estimate, one transaction with the confirmation email) — goal ≥ 500/s;
 *  2. durability: the server is killed with SIGKILL under load, started again, and every ticket
 *     it acknowledged (201 with a reference) must be in the database with its email queued once.
 */
import type autocannon from 'autocannon'
import postgres from 'postgres'
import { createServices } from '../src/composition.js'
import { openDatabase } from '../src/db/client.js'
import { seedDemo } from '../src/seed/demo.js'
import { freshBenchDatabase, load, startServer, type LoadResult } from './lib.js'

export interface SupportBenchResult {
  intake: LoadResult
  created: number
  durability: { acknowledged: number; found: number; emailsOnce: number; missing: string[] }
}

function ticketForm(token: string, n: number): string {
  return new URLSearchParams({
    _csrf: token, topic: 'apps', subject: `Service Manual empty page ${String(n)}`,
    description: 'Since this morning every page of the Service Manual is empty; I expected the wiring diagrams.',
    urgency: 'normal', name: 'Bench Requester', email: `bench${String(n)}@intake.example`, companyName: 'Bench Garage', companyAddress: 'Via Bench 1, 40100 Bologna', marketCode: 'IT',
  }).toString()
}

async function formSession(url: string): Promise<{ cookie: string; token: string }> {
  const page = await fetch(url)
  const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? ''
  return { cookie, token }
}

export async function runSupportBench(log: (line: string) => void): Promise<SupportBenchResult> {
  const databaseUrl = await freshBenchDatabase('sportello_bench_support')
  const database = await openDatabase({ url: databaseUrl })
  await database.migrate()
  await seedDemo(createServices(database))
  await database.close()
  const env = { DATABASE_URL: databaseUrl, AUTH_RATE_LIMIT: '1000000', LIFECYCLE_SWEEP_MINUTES: '0' }

  let server = await startServer(env, 3905)
  const url = `${server.url}/en/support/new`
  let form = await formSession(url)
  let n = 0
  const options = () => ({
    url, method: 'POST' as const, connections: 16,
    headers: { cookie: form.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    // Every ticket from its own address: one address may open only 5 an hour.
    requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: ticketForm(form.token, ++n) }) }],
  })
  log('ticket intake warm-up…')
  await load({ ...options(), duration: 3 })
  log('ticket intake…')
  const before = n
  const intake = await load({ ...options(), duration: 10 })
  const created = n - before

  log('durability: SIGKILL under load…')
  form = await formSession(url)
  const acknowledged: string[] = []
  let stop = false
  const worker = async () => {
    while (!stop) {
      try {
        const res = await fetch(url, { method: 'POST', body: ticketForm(form.token, ++n), headers: { cookie: form.cookie, 'content-type': 'application/x-www-form-urlencoded' } })
        const body = await res.text()
        const reference = /SR-\d{4}-\d{6,}/.exec(body)?.[0]
        if (res.status === 201 && reference) acknowledged.push(reference)
      } catch {
        // The server is gone mid-request: that ticket was never acknowledged, which is the point.
      }
    }
  }
  const workers = Array.from({ length: 16 }, worker)
  await new Promise((r) => setTimeout(r, 2500))
  server.child.kill('SIGKILL')
  await new Promise((r) => setTimeout(r, 300))
  stop = true
  await Promise.all(workers)
  server = await startServer(env, 3905)
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => undefined })
  const found = await sql<{ reference: string; emails: number }[]>`
    select t.reference, (select count(*)::int from outbox o where o.key = 'ticket-received:' || t.reference) as emails
    from tickets t where t.reference = any(${acknowledged})`
  await sql.end()
  await server.stop()
  const present = new Set(found.map((f) => f.reference))
  return {
    intake, created,
    durability: {
      acknowledged: acknowledged.length, found: found.length, emailsOnce: found.filter((f) => f.emails === 1).length,
      missing: acknowledged.filter((r) => !present.has(r)).slice(0, 10),
    },
  }
}
