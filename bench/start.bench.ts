/**
 * Start-up as an operator meets it, on the embedded database: `npm start` on a fresh DATA_DIR
 * (database created, migrated, demo loaded) until /healthz answers 200, a restart on the same
 * directory, `sportello --help`, and a CLI command that opens the database. Each is a whole
 * process, timed from spawn; the median of several runs is reported.
 */
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { median } from './lib.js'

export interface StartBenchResult {
  firstStart: number[]
  restart: number[]
  help: number[]
  command: number[]
  /** The same command while the server runs: through its socket. */
  commandBeside: number[]
  rssMb: number
}

async function timeServerStart(dataDir: string, port: number, whileRunning?: () => void): Promise<{ seconds: number; rssMb: number }> {
  const started = performance.now()
  const child = spawn(process.execPath, ['--require', './src/threadpool.cjs', 'scripts/start.mjs'], {
    env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', PORT: String(port), LOG_LEVEL: 'warn', LIFECYCLE_SWEEP_MINUTES: '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server stopped with ${String(child.exitCode)}`)
      const ok = await fetch(`http://127.0.0.1:${String(port)}/healthz`).then((r) => r.ok, () => false)
      if (ok) break
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    const seconds = (performance.now() - started) / 1000
    // Settled memory: what the server holds once started, not the peak of loading.
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const status = readFileSync(`/proc/${String(child.pid)}/status`, 'utf8')
    whileRunning?.()
    return { seconds, rssMb: Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024) }
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
}

function timeCommand(args: string[], env: Record<string, string>): number {
  const started = performance.now()
  const result = spawnSync(process.execPath, ['bin/sportello.js', ...args], { env: { ...process.env, ...env, LOG_LEVEL: 'warn' }, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`sportello ${args.join(' ')} failed:\n${result.stderr}`)
  return (performance.now() - started) / 1000
}

export async function runStartBench(log: (line: string) => void, rounds = 3): Promise<StartBenchResult> {
  // Built before timing anything, as `npm ci` (prepare) leaves it.
  spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' })
  const result: StartBenchResult = { firstStart: [], restart: [], help: [], command: [], commandBeside: [], rssMb: 0 }
  const port = 3950
  for (let round = 0; round < rounds; round++) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sportello-start-'))
    try {
      const first = await timeServerStart(dataDir, port)
      result.firstStart.push(first.seconds)
      const again = await timeServerStart(dataDir, port, () => {
        result.commandBeside.push(timeCommand(['content', 'report'], { DATA_DIR: dataDir, DATABASE_URL: '' }))
      })
      result.restart.push(again.seconds)
      result.rssMb = Math.max(result.rssMb, again.rssMb)
      result.help.push(timeCommand(['--help'], { DATA_DIR: dataDir, DATABASE_URL: '' }))
      result.command.push(timeCommand(['content', 'report'], { DATA_DIR: dataDir, DATABASE_URL: '' }))
      log(`round ${String(round + 1)}: first start ${first.seconds.toFixed(2)} s, restart ${again.seconds.toFixed(2)} s`)
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  }
  return result
}

export function summarize(values: number[]): string {
  return `${median(values).toFixed(2)} s (${values.map((v) => v.toFixed(2)).join(', ')})`
}
