import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import assert from 'node:assert/strict'
import { after, before } from 'node:test'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildTestApp, type TestApp, type TestAppOptions } from '../helpers.js'

const require = createRequire(import.meta.url)
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

/**
 * Debian's Chromium: its headless shell (package chromium-headless-shell, .ci/run installs it) when
 * present, else the browser itself; CHROMIUM_PATH overrides. The shell is the same Blink and V8 without
 * the browser's windowing layer: it starts in a third of the time and a page load with axe costs the
 * machine about 30 % less CPU (docs/benchmarks.md), and the browser files are most of the suite's work.
 */
export const chromiumPath = process.env.CHROMIUM_PATH
  ?? ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'].find((candidate) => existsSync(candidate))
  ?? '/usr/bin/chromium'

/** Headless Chromium as every browser test runs it: no sandbox (tests run as root), no GPU, nothing fetched from Google. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  })
}

export interface BrowserFixture {
  app: TestApp
  baseUrl: string
  browser: Browser
}

/** One app listening on a free port and one headless Chromium for a test file; its data comes from factories. */
export function useBrowser(options: TestAppOptions = {}): () => BrowserFixture {
  const cleanups: (() => Promise<void> | void)[] = []
  let fixture: BrowserFixture | undefined
  before(async () => {
    const app = await buildTestApp({ after: (fn: () => Promise<void> | void) => { cleanups.push(fn) } }, options)
    const address = await app.app.listen({ port: 0, host: '127.0.0.1' })
    const browser = await launchChromium()
    cleanups.push(() => browser.close())
    fixture = { app, baseUrl: address, browser }
  })
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })
  return () => {
    if (!fixture) throw new Error('browser fixture not ready')
    return fixture
  }
}

interface AxeViolation {
  id: string
  impact: string
  help: string
  nodes: { target: string[]; failureSummary: string }[]
}

/**
 * Runs axe-core in the page (through the DevTools protocol, so the page's CSP stays strict) and asserts zero
 * violations and a lang attribute. axe is put into a document once: a second check of the same document (at
 * another width, after a script changed it) runs it again without sending and compiling its 550 kB anew.
 */
export async function assertAccessible(page: Page, label: string): Promise<void> {
  if (!await page.evaluate(() => 'axe' in window)) await page.evaluate(axeSource)
  const { violations, lang } = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: AxeViolation[] }> } }).axe
    const result = await axe.run(document, { resultTypes: ['violations'] })
    return {
      violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target, failureSummary: n.failureSummary })) })),
      lang: document.documentElement.getAttribute('lang'),
    }
  })
  assert.deepEqual(violations, [], `${label}: axe violations\n${JSON.stringify(violations, null, 2)}`)
  assert.ok(lang, `${label}: html has a lang attribute`)
}

/** How many px the page is wider than its viewport: what a reader would have to scroll sideways. */
export async function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
}

export const phone = { width: 390, height: 844 } as const
