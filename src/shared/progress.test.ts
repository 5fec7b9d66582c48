import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { createProgress } from './progress.js'

/** A stream that records what is written; `tty` makes it look like a terminal, as stderr is in a shell. */
function collect(tty = false) {
  const stream = Object.assign(new PassThrough(), { isTTY: tty, columns: 100 })
  let text = ''
  stream.on('data', (chunk: Buffer) => { text += chunk.toString() })
  return { stream, text: () => text }
}

test('not on a terminal: nothing while it runs, then one summary line', () => {
  const bar = collect()
  const out = collect()
  const progress = createProgress({ label: 'accounts', bar: bar.stream, isTTY: false, out: out.stream })
  for (let i = 0; i <= 1000; i += 100) progress.update(i, 1000)
  progress.finish('Moved 1000 accounts.', { moved: 1000 })
  assert.equal(bar.text(), '')
  assert.equal(out.text(), 'Moved 1000 accounts.\n')
})

test('on a terminal: a bar with done/total, rate and time left, then the summary line', () => {
  const bar = collect(true)
  const out = collect()
  const progress = createProgress({ label: 'accounts', bar: bar.stream, isTTY: true, out: out.stream })
  progress.update(0, 1000)
  progress.update(250, 1000)
  progress.finish('Moved 1000 accounts.', { moved: 1000 })
  assert.match(bar.text(), /accounts \[.*\] 0\/1000 · \d+\/s · .* left/)
  assert.equal(out.text(), 'Moved 1000 accounts.\n')
})

test('--json: one JSON object on one line, with what was done and the time taken, and no bar', () => {
  const bar = collect()
  const out = collect()
  const progress = createProgress({ label: 'emails', bar: bar.stream, isTTY: true, out: out.stream, json: true })
  progress.update(3, 5)
  progress.update(5, 5)
  progress.finish('Sent 5 email(s).', { command: 'outbox drain', sent: 5 })
  assert.equal(bar.text(), '')
  assert.equal(out.text().split('\n').length, 2)
  const summary = JSON.parse(out.text()) as Record<string, unknown>
  assert.deepEqual({ ...summary, seconds: typeof summary.seconds }, { command: 'outbox drain', sent: 5, done: 5, total: 5, seconds: 'number' })
})
