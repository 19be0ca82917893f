// Shared setup for the browser tests: the real service on a loopback port (two apps behind one
// listener, so a test can turn the debug endpoints off under an open page), Debian's Chromium driven by
// playwright-core, fresh pages that record every console error and every request off /debug/,
// and screenshots kept as test artefacts in artifacts/debug-page/.
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/logger.js'
import { USERSIG_APPS, USERSIG_CLIENTS } from '../helpers/http.js'
import { describeWithPart } from '../helpers/skip.js'

export const CHROMIUM = '/usr/bin/chromium'
export const SHOTS = new URL('../../artifacts/debug-page/', import.meta.url).pathname

/** `describe`, or skipped with its reason where Chromium is not installed. */
export function describeInChromium(name: string, body: () => void): void {
  describeWithPart(
    'chromium',
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing (scripts/install-browser.sh installs it)`,
  )(name, body)
}

export const DESKTOP = { width: 1280, height: 900 } as const
/** A phone's width (iPhone 12-15): the page must hold here without scrolling sideways. */
export const PHONE = { width: 390, height: 844 } as const

const API_PATHS = new Set(['/usersig', '/usersig/verify', '/privatemapkey'])

export const now = (): number => Math.floor(Date.now() / 1000)

const env = (debugEndpoints: boolean) => ({
  NODE_ENV: 'test',
  USERSIG_APPS: JSON.stringify(USERSIG_APPS),
  USERSIG_CLIENTS: JSON.stringify(USERSIG_CLIENTS),
  USERSIG_DEBUG_ENDPOINTS: String(debugEndpoints),
})

export interface Service {
  readonly base: string
  /**
   * Turns the debug endpoints on or off under open pages, as a restart with another
   * USERSIG_DEBUG_ENDPOINTS does (a process setting: a reload does not change it).
   */
  setDebugEndpoints(on: boolean): void
  close(): Promise<void>
}

/** The real app, on the real clock (the page counts down against the browser's clock). */
export async function startService(): Promise<Service> {
  const appWith = (debugEndpoints: boolean) =>
    createApp({
      config: loadConfig(env(debugEndpoints)),
      logger: createLogger('warn', { write() {} }),
      validateResponses: true,
    })
  const apps = { on: appWith(true), off: appWith(false) }
  let app = apps.on
  const server: Server = createServer((req, res) => app(req, res)).listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return {
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    setDebugEndpoints: (on) => {
      app = on ? apps.on : apps.off
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/**
 * The service and Chromium for one describe's tests: started before them, closed after. Read the
 * fields inside tests (they are set once beforeAll has run).
 */
export function serviceAndChromium(): { service: Service; browser: Browser } {
  const started = {} as { service: Service; browser: Browser }
  beforeAll(async () => {
    started.service = await startService()
    started.browser = await launchChromium()
  }, 60_000)
  afterAll(async () => {
    await started.browser?.close()
    await started.service?.close()
  })
  return started
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true })
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

export interface OpenPage {
  readonly page: Page
  readonly context: BrowserContext
  /** Console errors, uncaught exceptions (CSP violations among them) and requests off /debug/. */
  readonly problems: string[]
}

/**
 * A fresh context (no state shared between tests) with the clipboard allowed, at /debug. The
 * page's clock is Playwright's (page.clock): it runs like the real one until a test moves it on
 * with `page.clock.runFor()`, so a countdown is watched without waiting for it.
 */
export async function openDebugPage(
  browser: Browser,
  base: string,
  viewport: { width: number; height: number } = DESKTOP,
): Promise<OpenPage> {
  const context = await browser.newContext({ viewport })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
  const page = await context.newPage()
  await page.clock.install()
  const problems: string[] = []
  page.on('console', (message) => {
    // Chromium logs every 4xx as "Failed to load resource": for the API, those are answers the
    // page explains, and the tests assert what it says.
    const api = API_PATHS.has(new URL(message.location().url || base).pathname)
    if (message.type() === 'error' && !api) problems.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`))
  page.on('request', (request) => {
    const url = new URL(request.url())
    if (url.protocol === 'data:') return // the page's empty favicon
    const fromPage =
      url.origin === base && (url.pathname === '/debug' || url.pathname.startsWith('/debug/'))
    const api =
      url.origin === base &&
      ['/usersig', '/usersig/verify', '/privatemapkey'].includes(url.pathname)
    if (!fromPage && !api) problems.push(`request off /debug/: ${request.url()}`)
  })
  await page.goto(`${base}/debug`)
  await page.waitForFunction(() => document.querySelector('#verify') !== null)
  return { page, context, problems }
}

/** Saves a full-page screenshot as artifacts/debug-page/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.mouse.move(0, 0) // no hover colour on whatever was clicked last
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true })
}

/** Pastes like a person: the text goes to the clipboard, then Ctrl+A, Ctrl+V in the ticket box. */
export async function paste(page: Page, ticket: string): Promise<void> {
  await page.evaluate((text) => navigator.clipboard.writeText(text), ticket)
  await page.focus('#ticket')
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.press('ControlOrMeta+V')
  await page.waitForFunction((text) => document.querySelector('textarea')?.value === text, ticket)
}

export async function typeToken(page: Page, token: string): Promise<void> {
  await page.fill('#token', token)
}

/** Presses Verify and waits for the verdict (or the refusal) to be shown. */
export async function verify(page: Page): Promise<string> {
  await page.click('#verify')
  await page.waitForSelector('#verdict:not([hidden])')
  return text(page, '#verdict')
}

/** An element's text as a person reads it (innerText: line breaks kept, hidden parts left out). */
export async function text(page: Page, selector: string): Promise<string> {
  return page.locator(selector).innerText()
}

const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8')

/**
 * axe-core's WCAG 2.x A/AA rules (labels, names, contrast, ...) and best practices, on the page as
 * it stands. axe is evaluated over the DevTools protocol (page.evaluate), which the page's CSP does
 * not govern; `addScriptTag` would insert an inline <script>, which `script-src 'self'` blocks, as
 * it should. So the CSP stays as served.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(`${AXE}\n;0`)
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (...args: unknown[]) => Promise<AxeResults> } })
      .axe
    const results = await axe.run(document, {
      runOnly: {
        type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'],
      },
    })
    return results.violations.flatMap((v) =>
      v.nodes.map((node) => `${v.id}: ${node.target.join(' ')}: ${node.failureSummary}`),
    )
  })
}
interface AxeResults {
  violations: { id: string; nodes: { target: string[]; failureSummary: string }[] }[]
}

/** Whether the page scrolls sideways: it must not, at any width it is shown at. */
export async function horizontalOverflow(
  page: Page,
): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate(() => ({
    scrollWidth: (document.scrollingElement as Element).scrollWidth,
    innerWidth: window.innerWidth,
  }))
}

/**
 * Words of prose that the layout split over two lines. Ticket strings (`.ticket`, the ticket box)
 * may break anywhere and identifiers (`.id`, e.g. a 64-byte string room) where they must; every
 * other word has to stay whole. A word here is a run without spaces, hyphens or slashes, where a
 * line may legitimately break.
 */
export async function wordsBrokenMidWord(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const broken: string[] = []
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
      const parent = node.parentElement as Element
      if (parent.closest('.ticket, .id, textarea, [hidden], .visually-hidden')) continue
      const data = (node as Text).data
      for (const match of data.matchAll(/[^\s\-/]+/g)) {
        const range = document.createRange()
        range.setStart(node, match.index)
        range.setEnd(node, match.index + match[0].length)
        const lines = new Set(
          Array.from(range.getClientRects())
            .filter((r) => r.width > 0)
            .map((r) => Math.round(r.top)),
        )
        if (lines.size > 1) broken.push(match[0])
      }
    }
    return broken
  })
}
