import assert from 'node:assert/strict'
import { mock, test } from 'node:test'
import { pino } from 'pino'
import { startSchedule } from './schedule.js'

test('a background job runs a minute after start and then every N minutes, never twice at once; a failure is logged and the next run goes on', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] })
  try {
    const lines: string[] = []
    const log = pino({}, { write: (line: string) => { lines.push(line) } })
    let runs = 0
    let finish: (() => void) | undefined
    const stop = startSchedule({
      name: 'test job', minutes: 5, log,
      run: () => {
        runs++
        if (runs === 2) return Promise.reject(new Error('database away'))
        return new Promise<void>((resolve) => { finish = resolve })
      },
    })
    mock.timers.tick(59_000)
    assert.equal(runs, 0)
    mock.timers.tick(1_000)
    assert.equal(runs, 1, 'first run a minute after start')
    mock.timers.tick(5 * 60_000 - 60_000)
    assert.equal(runs, 1, 'the first run has not finished: the next one waits')
    finish?.()
    await new Promise((resolve) => { setImmediate(resolve) })
    mock.timers.tick(5 * 60_000)
    await new Promise((resolve) => { setImmediate(resolve) })
    assert.equal(runs, 2)
    assert.match(lines.join(''), /test job failed/)
    mock.timers.tick(5 * 60_000)
    assert.equal(runs, 3, 'a failed run does not stop the schedule')
    stop()
    mock.timers.tick(60 * 60_000)
    assert.equal(runs, 3, 'stopped')
    let offRuns = 0
    startSchedule({ name: 'off', minutes: 0, log, run: () => { offRuns++; return Promise.resolve() } })
    mock.timers.tick(60 * 60_000)
    assert.equal(offRuns, 0, 'minutes 0 schedules nothing')
  } finally {
    mock.timers.reset()
  }
})
