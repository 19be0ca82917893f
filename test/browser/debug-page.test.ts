// The debug page in a real headless Chromium (playwright-core): paste, decode, verify valid /
// expired / tampered, issue. A screenshot of each state goes to artifacts/debug-page/.
import { existsSync, mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { chromium, type Browser, type Page } from 'playwright-core'
import { signPrivateMapKey, signUserSig } from '../../src/usersig/index.js'
import { APP_A, buildApp, KEYS, TOKENS } from '../helpers/http.js'
import { describeIf } from '../helpers/skip.js'

const CHROMIUM = '/usr/bin/chromium'
const SHOTS = new URL('../../artifacts/debug-page/', import.meta.url).pathname
const maybe = describeIf(
  existsSync(CHROMIUM),
  `${CHROMIUM} is missing (scripts/install-browser.sh installs it)`,
)

const now = () => Math.floor(Date.now() / 1000)

maybe('GET /debug in headless Chromium', () => {
  let server: Server
  let browser: Browser
  let page: Page
  let base: string
  const consoleErrors: string[] = []

  beforeAll(async () => {
    const { app } = buildApp({ clock: now })
    server = createServer(app).listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    mkdirSync(SHOTS, { recursive: true })
    browser = await chromium.launch({
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
    page = await browser.newPage()
    page.on(
      'console',
      (message) => message.type() === 'error' && consoleErrors.push(message.text()),
    )
    page.on('pageerror', (error) => consoleErrors.push(error.message))
    await page.goto(`${base}/debug`)
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    server?.close()
  })

  const paste = async (ticket: string) => {
    await page.fill('#ticket', ticket)
    await page.dispatchEvent('#ticket', 'input')
  }
  const verify = async () => {
    await page.fill('#token', TOKENS.chat)
    await page.dispatchEvent('#token', 'input')
    await page.click('#verify')
    await page.waitForSelector('#verdict:not([hidden])')
    return page.textContent('#verdict')
  }

  test('the page loads under the strict CSP, scripts and all', async () => {
    expect(await page.title()).toBe('usersig-service: ticket debugger')
    const csp = (await page.request.get(`${base}/debug`)).headers()['content-security-policy']
    expect(csp).toContain("script-src 'self'")
  })

  test('paste: the ticket is decoded in the page', async () => {
    const ticket = signUserSig(
      { sdkAppId: APP_A, userId: 'alice', expire: 86400, now: now() },
      KEYS.aNew,
    )
    await paste(ticket)
    await page.waitForSelector('#decoded:not([hidden])')
    const text = await page.textContent('#decoded')
    expect(text).toContain(`SDKAppID${APP_A}`)
    expect(text).toContain('UserIDalice')
    expect(text).toMatch(/Expires\d{4}-\d\d-\d\dT[\d:]+Z \(0 d 23 h left\)|\(1 d 0 h left\)/)
    await page.screenshot({ path: `${SHOTS}1-decoded.png`, fullPage: true })
  })

  test('verify: a valid ticket, and the key that signed it', async () => {
    const text = await verify()
    expect(text).toContain('Verdictvalid')
    expect(text).toContain('Signed by key2026-11')
    await page.screenshot({ path: `${SHOTS}2-valid.png`, fullPage: true })
  })

  test('verify: an expired ticket, with the Tencent error code and a hint', async () => {
    await paste(
      signUserSig({ sdkAppId: APP_A, userId: 'alice', expire: 300, now: now() - 3600 }, KEYS.aNew),
    )
    const text = await verify()
    expect(text).toContain('Verdictinvalid')
    expect(text).toContain('Codeticket_expired')
    expect(text).toContain('Tencent error70001')
    expect(text).toContain('What to doIssue a fresh ticket')
    await page.screenshot({ path: `${SHOTS}3-expired.png`, fullPage: true })
  })

  test('verify: a ticket signed with another key', async () => {
    await paste(signUserSig({ sdkAppId: APP_A, userId: 'alice', expire: 3600, now: now() }, KEYS.b))
    const text = await verify()
    expect(text).toContain('Codeticket_signature_invalid')
    expect(text).toContain('Tencent error70009')
    await page.screenshot({ path: `${SHOTS}4-tampered.png`, fullPage: true })
  })

  test('a mangled ticket is reported as undecodable, in the page', async () => {
    await paste('eJy!!not-a-ticket')
    await page.waitForSelector('#decode-error:not([hidden])')
    expect(await page.textContent('#decode-error')).toContain('Tencent would answer 70003')
  })

  test('a PrivateMapKey shows its room and privileges by name', async () => {
    await paste(
      signPrivateMapKey(
        {
          sdkAppId: APP_A,
          userId: 'alice',
          expire: 300,
          now: now(),
          roomId: 1234,
          privileges: ['enterRoom', 'sendAudio'],
        },
        KEYS.aNew,
      ),
    )
    await page.waitForSelector('#decoded:not([hidden])')
    const text = await page.textContent('#decoded')
    expect(text).toContain('Room1234')
    expect(text).toContain('Privileges6: enterRoom, sendAudio')
    await page.screenshot({ path: `${SHOTS}5-privatemapkey.png`, fullPage: true })
  })

  test('issue: a test ticket lands in the page, decoded', async () => {
    await page.fill('#sdkappid', String(APP_A))
    await page.fill('#userid', 'bob')
    await page.click('#issue')
    await page.waitForSelector('#issued:not([hidden])')
    expect(await page.textContent('#issued')).toContain('Issuedbob, key 2026-11')
    expect(await page.textContent('#decoded')).toContain('UserIDbob')
    await page.screenshot({ path: `${SHOTS}6-issued.png`, fullPage: true })
    expect(consoleErrors).toEqual([])
  })
})
