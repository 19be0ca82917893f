// /docs in headless Chromium: swagger-ui renders openapi.yaml, and "Try it out" calls the origin
// that served the page (a random port here, never a hard-wired http://127.0.0.1:8080).
import { describeInChromium, DESKTOP, SHOTS, serviceAndChromium } from './chromium.js'

describeInChromium('/docs in headless Chromium', () => {
  const started = serviceAndChromium()

  test('the page names the service, and Try it out on GET /healthz calls this origin', async () => {
    const context = await started.browser.newContext({ viewport: DESKTOP })
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    const calls: string[] = []
    page.on('request', (request) => calls.push(request.url()))
    await page.goto(`${started.service.base}/docs/`)

    expect(await page.title()).toBe('usersig-service API')
    const operation = page.locator('#operations-operations-liveness')
    await operation.locator('.opblock-summary').click()
    await operation.getByRole('button', { name: 'Try it out' }).click()
    await operation.getByRole('button', { name: 'Execute' }).click()
    const status = operation
      .locator('.live-responses-table tr.response .response-col_status')
      .first()
    await status.waitFor({ timeout: 15_000 })

    expect((await status.innerText()).trim()).toBe('200')
    expect(calls).toContain(`${started.service.base}/healthz`)
    await page.screenshot({ path: `${SHOTS}docs-try-it-out.png`, fullPage: false })
    expect(errors).toEqual([])
    await context.close()
  }, 60_000)

  test('the reference and the debug page link to each other; /debug/ reaches the page', async () => {
    const context = await started.browser.newContext({ viewport: DESKTOP })
    const page = await context.newPage()
    const base = started.service.base
    await page.goto(`${base}/docs/`)
    const toDebug = page.locator('#operations-tag-debug a[href="/debug"]')
    await toDebug.waitFor()
    expect(await toDebug.innerText()).toBe('ticket debugger page')
    await page.goto(new URL((await toDebug.getAttribute('href')) as string, base).href)
    expect(await page.title()).toBe('usersig-service: ticket debugger')

    const toDocs = page.getByRole('link', { name: 'API reference' })
    expect(await toDocs.getAttribute('href')).toBe('/docs/')
    await toDocs.click()
    await page.waitForURL(`${base}/docs/`)
    expect(await page.title()).toBe('usersig-service API')

    const slash = await page.goto(`${base}/debug/`)
    expect(slash?.status()).toBe(200)
    expect(page.url()).toBe(`${base}/debug`)
    expect(await page.title()).toBe('usersig-service: ticket debugger')
    await context.close()
  }, 60_000)

  test('the debug operations are marked, and left out while the debug endpoints are off', async () => {
    const context = await started.browser.newContext({ viewport: DESKTOP })
    const page = await context.newPage()
    await page.goto(`${started.service.base}/docs/`)
    await page.locator('#operations-debug-verifyUserSig').waitFor()
    expect(await page.locator('#operations-tag-debug').innerText()).toContain(
      'USERSIG_DEBUG_ENDPOINTS',
    )

    started.service.setDebugEndpoints(false)
    try {
      await page.reload()
      await page.locator('#operations-tickets-issueUserSig').waitFor()
      expect(await page.locator('#operations-debug-verifyUserSig').count()).toBe(0)
      expect(await page.locator('#operations-debug-debugPage').count()).toBe(0)
    } finally {
      started.service.setDebugEndpoints(true)
      await context.close()
    }
  }, 60_000)
})
