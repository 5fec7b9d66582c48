import { existsSync, readFileSync } from 'node:fs'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import assert from 'node:assert/strict'
import { after, before } from 'node:test'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildTestApp, type TestApp, type TestAppOptions } from '../helpers.js'

const require = createRequire(import.meta.url)
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')
/** Where a test app's server answers with axe (serveAxe). */
const axePath = '/__test/axe.min.js'

/**
 * Makes an app's listening server answer `axePath` with axe, cacheable: the app's CSP admits only its own
 * origin's scripts, and a script Chromium fetched and cached stays compiled from one page to the next. Sent
 * into each page over the DevTools protocol instead, its 550 kB were compiled anew every time: a page with
 * its axe check cost Chromium about a quarter more CPU (docs/benchmarks.md). Every other request goes to the app.
 */
export function serveAxe(server: Server): void {
  const appListeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[]
  server.removeAllListeners('request')
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== axePath) {
      for (const listener of appListeners) listener.call(server, req, res)
      return
    }
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=3600' })
    res.end(axeSource)
  })
}

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
    serveAxe(app.app.server)
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
 * Runs axe-core in the page and asserts zero violations and a lang attribute. axe comes from the page's own
 * server when it serves it (serveAxe), else it is sent in through the DevTools protocol (so the page's CSP
 * stays strict either way). It is put into a document once: a second check of the same document (at another
 * width, after a script changed it) runs it again.
 */
export async function assertAccessible(page: Page, label: string): Promise<void> {
  // From the page's own server when it serves axe (serveAxe), else sent in.
  const loaded = await page.evaluate((src) => 'axe' in window || new Promise<boolean>((resolve) => {
    const script = document.createElement('script')
    script.src = src
    script.onload = () => { resolve(true) }
    script.onerror = () => { script.remove(); resolve(false) }
    document.head.append(script)
  }), axePath)
  if (!loaded) await page.evaluate(axeSource)
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
