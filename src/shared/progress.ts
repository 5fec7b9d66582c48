import cliProgress from 'cli-progress'

/**
 * Progress of a long command. On a terminal: a bar (cli-progress) with done/total, the rate and
 * the time left, redrawn in place on `bar`'s stream (stderr, so stdout stays the result). Not on a
 * terminal (CI, cron, a pipe): nothing while it runs. At the end, one summary line on `out`, or
 * with `json` one JSON object on one line, whatever the terminal.
 */
export interface ProgressOptions {
  /** What is being counted, for the bar: "accounts", "emails". */
  label: string
  /** Where the bar is drawn (a terminal's stderr). */
  bar: NodeJS.WritableStream
  /** Whether `bar` is a terminal a bar can redraw itself on. */
  isTTY: boolean
  /** Where the summary goes (stdout). */
  out: NodeJS.WritableStream
  /** Print the summary as JSON (machine-readable), and no bar. */
  json?: boolean
}

export interface Progress {
  /** Callback for the services: `done` of `total` so far. */
  update: (done: number, total: number) => void
  /** Stops the bar and prints the summary: `line` for people, `summary` (plus the seconds taken) as JSON. */
  finish: (line: string, summary: Record<string, unknown>) => void
}

export function createProgress(options: ProgressOptions): Progress {
  const started = performance.now()
  let done = 0
  let total = 0
  let bar: cliProgress.SingleBar | undefined
  const draw = options.isTTY && !options.json
  return {
    update(value, of) {
      done = value
      total = of
      if (!draw) return
      const seconds = (performance.now() - started) / 1000
      const rate = seconds > 0 ? Math.round(value / seconds) : 0
      if (!bar) {
        bar = new cliProgress.SingleBar({
          stream: options.bar, format: `${options.label} [{bar}] {value}/{total} · {rate}/s · {eta_formatted} left`,
          hideCursor: true, clearOnComplete: true, etaBuffer: 50, fps: 5,
        }, cliProgress.Presets.shades_classic)
        bar.start(of, value, { rate })
      } else {
        bar.setTotal(of)
        bar.update(value, { rate })
      }
    },
    finish(line, summary) {
      bar?.stop()
      const seconds = Number(((performance.now() - started) / 1000).toFixed(3))
      options.out.write(`${options.json ? JSON.stringify({ ...summary, done, total, seconds }) : line}\n`)
    },
  }
}
