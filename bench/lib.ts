/**
 * Shared pieces of the benchmarks: a PostgreSQL database of their own, the
 * server as a child process (so its memory can be read), autocannon runs and
 * latency percentiles.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import postgres from 'postgres'

export const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Drops and creates a database for the benchmark; returns its URL. */
export async function freshBenchDatabase(name: string): Promise<string> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined })
  await admin.unsafe(`drop database if exists "${name}" with (force)`)
  await admin.unsafe(`create database "${name}"`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

export function sportelloCli(args: string[], env: Record<string, string>): string {
  const result = spawnSync(process.execPath, ['bin/sportello.js', ...args], { env: { ...process.env, ...env }, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`sportello ${args.join(' ')} failed:\n${result.stderr}`)
  return result.stdout
}

export interface RunningServer {
  url: string
  child: ChildProcess
  rssMb(): number
  stop(): Promise<void>
}

/**
 * `BENCH_CPU_PROF=<dir>` (or `1` for .bench-profiles/): the server runs under `node --cpu-prof` and
 * writes a V8 CPU profile of its main thread there when it stops; `cpuProfileSummary` reads it.
 */
export function cpuProfileDir(): string | undefined {
  const option = process.env.BENCH_CPU_PROF
  if (!option || option === '0') return undefined
  return path.resolve(option === '1' ? '.bench-profiles' : option)
}

export async function startServer(env: Record<string, string>, port: number): Promise<RunningServer> {
  const profileDir = cpuProfileDir()
  if (profileDir) mkdirSync(profileDir, { recursive: true })
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  const child = spawn(process.execPath, [...profile, '--require', './src/threadpool.cjs', 'scripts/start.mjs'], {
    env: { ...process.env, LOG_LEVEL: 'warn', DEMO: 'false', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  // A bench that fails halfway must not leave its server holding the port for the next run.
  const killOnExit = () => { child.kill('SIGKILL') }
  process.once('exit', killOnExit)
  child.once('exit', () => { process.removeListener('exit', killOnExit) })
  const url = `http://127.0.0.1:${port}`
  // Up to two minutes: on a busy shared machine the first start after a large import is slow.
  for (let i = 0; i < 1200; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    child,
    rssMb: () => {
      const status = readFileSync(`/proc/${child.pid ?? 0}/status`, 'utf8')
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
    },
    stop: () => new Promise((resolve) => {
      child.once('exit', () => { resolve() })
      child.kill('SIGTERM')
    }),
  }
}

export interface LoadResult {
  rps: number
  /** Requests answered in the run. */
  total: number
  p50: number
  p97_5: number
  p99: number
  errors: number
  non2xx: number
}

export async function load(options: autocannon.Options): Promise<LoadResult> {
  const result = await autocannon({ connections: 20, duration: 10, ...options })
  return {
    rps: Math.round(result.requests.average),
    total: result.requests.total,
    p50: result.latency.p50,
    p97_5: result.latency.p97_5,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  }
}

/**
 * Fetches `url` to its last byte and adds its latency, counted from `since`, to `latencies`;
 * answers whether it was a 200. A request whose kept-alive connection the server closed (while the
 * bench stood still during a minutes-long import) has no latency and counts as a failure, reported
 * with the figures; the next request reconnects.
 */
async function timeOne(url: string, since: number, latencies: number[]): Promise<boolean> {
  try {
    const res = await fetch(url)
    await res.arrayBuffer()
    latencies.push(performance.now() - since)
    return res.status === 200
  } catch {
    return false
  }
}

/** Exact latency percentiles from timing every request of a closed loop with `concurrency` workers. */
export async function timedRequests(urls: string[], concurrency: number): Promise<{ p50: number; p95: number; p99: number; max: number; failures: number }> {
  const latencies: number[] = []
  let next = 0
  let failures = 0
  async function worker() {
    while (next < urls.length) {
      const url = urls[next++] ?? ''
      if (!await timeOne(url, performance.now(), latencies)) failures++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  latencies.sort((a, b) => a - b)
  const at = (q: number) => Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(2))
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1), failures }
}

/**
 * Open loop: requests start at a fixed rate whatever the previous ones do, and each latency is
 * counted from its scheduled start (no coordinated omission). This is the latency a user sees at that load.
 */
export async function openLoop(urls: string[], perSecond: number): Promise<{ p50: number; p95: number; p99: number; max: number; failures: number }> {
  const latencies: number[] = []
  let failures = 0
  const interval = 1000 / perSecond
  const start = performance.now()
  await Promise.all(urls.map(async (url, i) => {
    const scheduled = start + i * interval
    const wait = scheduled - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    if (!await timeOne(url, scheduled, latencies)) failures++
  }))
  latencies.sort((a, b) => a - b)
  const at = (q: number) => Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(2))
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1), failures }
}

export function machine(): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown cpu'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${os.loadavg().map((load) => load.toFixed(2)).join(' / ')} (1 / 5 / 15 min) when the results were written`
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] ?? 0 : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }

/**
 * The functions with the most self time in the newest CPU profile of `dir` (as DevTools' "bottom
 * up" view): name, file and line, milliseconds and share of the samples; `(idle)` included so the
 * shares say how busy the main thread was.
 */
export function cpuProfileSummary(dir: string, top = 25): { file: string; totalMs: number; rows: { fn: string; where: string; ms: number; percent: number }[] } | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f))
  const file = files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
  if (!file) return undefined
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }
  const byNode = new Map<number, number>()
  profile.samples.forEach((id, i) => { byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)) })
  const byFunction = new Map<string, { fn: string; where: string; us: number }>()
  for (const node of profile.nodes) {
    const us = byNode.get(node.id) ?? 0
    if (us === 0) continue
    const fn = node.callFrame.functionName || '(anonymous)'
    const where = node.callFrame.url ? `${node.callFrame.url.replace(/^file:\/\//, '').replace(`${process.cwd()}/`, '')}:${node.callFrame.lineNumber + 1}` : ''
    const key = `${fn} ${where}`
    const entry = byFunction.get(key) ?? { fn, where, us: 0 }
    entry.us += us
    byFunction.set(key, entry)
  }
  const totalUs = [...byFunction.values()].reduce((sum, e) => sum + e.us, 0)
  const rows = [...byFunction.values()].sort((a, b) => b.us - a.us).slice(0, top)
    .map((e) => ({ fn: e.fn, where: e.where, ms: Math.round(e.us / 1000), percent: Math.round((e.us / totalUs) * 1000) / 10 }))
  return { file, totalMs: Math.round(totalUs / 1000), rows }
}

/** The load average (1, 5, 15 minutes): on a shared machine, figures mean little without it. */
export function loadAverage(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100)
}

export interface HttpAnswer { status: number; setCookies: string[]; body: string }

/**
 * A small HTTP/1.1 client on kept-alive sockets: lighter on the shared cores than fetch, so a
 * benchmark of several requests per operation measures the server more than its own client.
 */
export function httpClient(base: string, sockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets })
  const url = new URL(base)
  return {
    request(method: 'GET' | 'POST', pathname: string, headers: Record<string, string>, body?: string): Promise<HttpAnswer> {
      return new Promise((resolve, reject) => {
        const req = http.request({ agent, host: url.hostname, port: url.port, method, path: pathname, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => { resolve({ status: res.statusCode ?? 0, setCookies: res.headers['set-cookie'] ?? [], body: Buffer.concat(chunks).toString('utf8') }) })
          res.on('error', reject)
        })
        req.on('error', reject)
        req.end(body)
      })
    },
    close: () => { agent.destroy() },
  }
}

/** `name=value` of the cookie `name` among Set-Cookie headers. */
export function cookieFrom(setCookies: string[], name: string): string | undefined {
  return setCookies.map((c) => c.split(';')[0] ?? '').find((c) => c.startsWith(`${name}=`))
}

const TICK_MS = 1000 / 100

/** CPU time (user + system, ms) of a process, or of one of its threads, from /proc. */
function cpuMs(pid: number, tid?: number): number {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS
  } catch {
    return 0
  }
}

export interface CpuSample { serverMs: number; serverMainMs: number; postgresMs: number; clientMs: number }

/**
 * CPU time spent by the server (all its threads, and its main thread alone), by the PostgreSQL
 * backends serving `database`, and by this process (the load generator) between `start` and
 * `stop`. Unlike rates, CPU per operation changes little when other work shares the machine.
 */
export async function cpuMeter(serverPid: number, database: string) {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined })
  const backends = async () => (await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${database}`).map((r) => r.pid)
  const snapshot = async () => {
    const pids = await backends()
    return { server: cpuMs(serverPid), main: cpuMs(serverPid, serverPid), pg: new Map(pids.map((p) => [p, cpuMs(p)])), client: process.cpuUsage() }
  }
  return {
    async measure<T>(work: () => Promise<T>): Promise<{ result: T; cpu: CpuSample }> {
      const before = await snapshot()
      const result = await work()
      const after = await snapshot()
      let postgresMs = 0
      for (const [pid, ms] of after.pg) postgresMs += ms - (before.pg.get(pid) ?? 0)
      const client = process.cpuUsage(before.client)
      return { result, cpu: { serverMs: after.server - before.server, serverMainMs: after.main - before.main, postgresMs, clientMs: (client.user + client.system) / 1000 } }
    },
    close: () => admin.end(),
  }
}
