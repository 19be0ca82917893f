// The debug page's behaviour in headless Chromium against the real service: decoding what is
// pasted, fields that follow each ticket, verdicts that never outlive their question, a live
// countdown, copying, issuing both kinds, and refusals that say what to do. Screenshots of each
// state go to artifacts/debug-page/desktop-*.png.
import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import type { Page } from 'playwright-core'
import {
  decodeUserSig,
  signPrivateMapKey,
  signUserSig,
  verifyUserSig,
} from '../../src/usersig/index.js'
import {
  APP_A,
  APP_B,
  encodeTicketJson,
  KEYS,
  SECRETS,
  ticketJson,
  TOKENS,
} from '../helpers/http.js'
import { official } from '../helpers/official.js'
import { tencentBase64 } from '../helpers/variants.js'
import { VECTORS } from '../helpers/vectors.js'
import {
  describeInChromium,
  now,
  openDebugPage,
  paste,
  screenshot,
  text,
  typeToken,
  verify,
  type OpenPage,
  serviceAndChromium,
} from './chromium.js'

const userSig = (userId: string, expire: number, issuedAt = now()) =>
  signUserSig({ sdkAppId: APP_A, userId, expire, now: issuedAt }, KEYS.aNew)

/** A panel's rows as a person reads them: name -> value (line breaks kept). */
function rows(page: Page, panel: string): Promise<Record<string, string>> {
  return page.$$eval(`${panel} dt`, (dts) =>
    Object.fromEntries(
      dts.map((dt) => [dt.textContent, (dt.nextElementSibling as HTMLElement).innerText]),
    ),
  )
}

const utc = (seconds: number) =>
  new Date(seconds * 1000).toISOString().replace('T', ' ').replace('.000Z', ' UTC')

async function fillIssue(
  page: Page,
  fields: { kind?: 'usersig' | 'privatemapkey'; sdkAppId: number; userId: string; expire?: number },
) {
  await page.check(`input[name="issue-kind"][value="${fields.kind ?? 'usersig'}"]`)
  await page.fill('#issue-sdkappid', String(fields.sdkAppId))
  await page.fill('#issue-userid', fields.userId)
  await page.fill('#issue-expire', fields.expire === undefined ? '' : String(fields.expire))
}

async function issue(page: Page): Promise<void> {
  await page.click('#issue')
  await page.waitForSelector('#issued:not([hidden])')
}

describeInChromium('the debug page in headless Chromium', () => {
  const started = serviceAndChromium()
  let open: OpenPage
  let page: Page
  beforeEach(async () => {
    open = await openDebugPage(started.browser, started.service.base)
    page = open.page
  })
  afterEach(async () => {
    await open.context.close()
    // No console error, no uncaught exception, no CSP violation, nothing loaded off /debug/.
    expect(open.problems).toEqual([])
  })

  test('runs under the CSP as served, which refuses inline script', async () => {
    const res = await page.request.get(`${started.service.base}/debug`)
    const scriptSrc = /script-src ([^;]*)/.exec(res.headers()['content-security-policy'] ?? '')
    expect(scriptSrc?.[1]).toBe("'self'")
    expect(await page.title()).toBe('usersig-service: ticket debugger')
    // The page's module ran: the copy button is off while the ticket box is empty.
    expect(await page.isDisabled('#copy-ticket')).toBe(true)
    // And the browser enforces the policy: an inline script does not run.
    await expect(page.addScriptTag({ content: 'window.inline = 1' })).rejects.toThrow(
      /Content Security Policy/,
    )
    expect(open.problems).toEqual([expect.stringMatching(/violates .*script-src 'self'/)])
    open.problems.length = 0
  })

  test('decodes an official library ticket in the page: lifetime, issue time, a live d/h/m/s countdown', async () => {
    const issuedAt = now()
    const expire = 60 * 86_400
    const ticket = official(APP_A, SECRETS.aNew, issuedAt, (api) => api.genUserSig('alice', expire))
    await paste(page, ticket)
    const shown = await rows(page, '#decoded')
    expect(shown).toEqual({
      Kind: 'UserSig',
      SDKAppID: String(APP_A),
      UserID: 'alice',
      Issued: expect.stringMatching(new RegExp(`^${utc(issuedAt)}\\n(\\d+m )?\\d+s ago$`)),
      Lifetime: '5184000 s (60d)',
      Expires: expect.stringMatching(
        new RegExp(
          `^${utc(issuedAt + expire)}\\nexpires in (59d 23h 59m [1-5]?\\ds|60d 0h 0m 0s)$`,
        ),
      ),
    })
    // It ticks: the countdown reads differently a second later.
    const expires = page.locator('#decoded dd .countdown').nth(1)
    const before = await expires.innerText()
    await page.clock.runFor(1_000)
    expect(await expires.innerText()).not.toBe(before)
    await screenshot(page, 'desktop-01-decoded')
  })

  test('an expired ticket counts up in red; one that lapses while shown turns expired live', async () => {
    // Five seconds left when signed: the page shows them run out, with no reload or event.
    await paste(page, userSig('alice', 300, now() - 295))
    expect((await rows(page, '#decoded')).Expires).toMatch(/expires in [0-5]s$/)
    await page.clock.runFor(6_000)
    await page.waitForSelector('#decoded .countdown.expired', { timeout: 5_000 })
    expect((await rows(page, '#decoded')).Expires).toMatch(/expired \d+s ago$/)

    const issuedAt = now() - 3600
    await paste(page, userSig('alice', 300, issuedAt))
    const shown = await rows(page, '#decoded')
    expect(shown.Lifetime).toBe('300 s (5m)')
    expect(shown.Expires).toMatch(new RegExp(`^${utc(issuedAt + 300)}\\nexpired 5[56]m \\d+s ago$`))
    const style = await page
      .locator('#decoded .countdown.expired')
      .evaluate((el) => [getComputedStyle(el).color, getComputedStyle(el).fontWeight])
    expect(style).toEqual(['rgb(164, 22, 26)', '700'])
    expect(await page.getAttribute('#decoded', 'class')).toContain('has-expired')
    await screenshot(page, 'desktop-02-expired')

    // A ticket from the future says whose clock to check.
    await paste(page, userSig('alice', 300, now() + 600))
    expect((await rows(page, '#decoded')).Issued).toMatch(
      /\n(10m 0s|9m [1-5]?\ds) in the future: is the issuer's clock ahead\?$/,
    )
    expect(await page.locator('#decoded .countdown.warning').count()).toBe(1)
  })

  test('the verify fields follow each newly pasted ticket, so a second valid ticket verifies', async () => {
    await typeToken(page, TOKENS.chat)
    await paste(page, userSig('alice', 3600))
    expect(await page.inputValue('#verify-userid')).toBe('alice')
    expect(await verify(page)).toMatch(/^Verdict\s+Valid: Tencent would accept it\./)
    // Screen readers hear one sentence per outcome (the panels are not live regions).
    expect(await text(page, '#status')).toBe('Valid: Tencent would accept it.')

    await paste(page, userSig('bob', 3600))
    expect(await page.inputValue('#verify-sdkappid')).toBe(String(APP_A))
    expect(await page.inputValue('#verify-userid')).toBe('bob')
    expect(await page.inputValue('#verify-kind')).toBe('usersig')
    const second = await verify(page)
    expect(second).toMatch(/Valid/)
    expect(second).not.toMatch(/70013/)
    await screenshot(page, 'desktop-03-second-ticket-valid')

    const pmk = signPrivateMapKey(
      { sdkAppId: APP_A, userId: 'carol', expire: 300, now: now(), roomId: 7, privileges: 255 },
      KEYS.aNew,
    )
    await paste(page, pmk)
    expect(await page.inputValue('#verify-userid')).toBe('carol')
    expect(await page.inputValue('#verify-kind')).toBe('privatemapkey')
    expect(await verify(page)).toMatch(/Valid/)

    // A field changed by hand is the person's question: it holds until the next ticket.
    await page.fill('#verify-userid', 'mallory')
    expect(await verify(page)).toMatch(/Invalid/)
    expect(await rows(page, '#verdict')).toMatchObject({
      'Tencent error': '70013',
      Code: 'ticket_identifier_mismatch',
    })
    expect(await text(page, '#status')).toBe(
      'Invalid: The ticket was issued for another UserID. Tencent error 70013.',
    )
    await paste(page, userSig('dave', 3600))
    expect(await page.inputValue('#verify-userid')).toBe('dave')
  })

  test('a verdict is cleared by any change, and a late answer to a changed question is dropped', async () => {
    await typeToken(page, TOKENS.chat)
    const ticket = userSig('alice', 3600)
    await paste(page, ticket)
    const changes: [string, () => Promise<void>][] = [
      ['the ticket', () => page.fill('#ticket', `${ticket} `)],
      ['the SDKAppID', () => page.fill('#verify-sdkappid', String(APP_B))],
      ['the UserID', () => page.fill('#verify-userid', 'bob')],
      ['the kind', () => page.selectOption('#verify-kind', 'any').then(() => undefined)],
      ['the token', () => typeToken(page, TOKENS.other)],
      ['a new paste', () => paste(page, userSig('erin', 3600))],
    ]
    for (const [what, change] of changes) {
      await verify(page)
      await change()
      expect({ what, hidden: await page.isHidden('#verdict') }).toEqual({ what, hidden: true })
    }

    // An issue puts a new ticket in the box: the old verdict goes with the old ticket.
    await typeToken(page, TOKENS.chat)
    await paste(page, ticket)
    await verify(page)
    await fillIssue(page, { sdkAppId: APP_A, userId: 'frank' })
    await issue(page)
    expect(await page.isHidden('#verdict')).toBe(true)

    // The service's real answer is held back until the question has changed under it.
    let release = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    await page.route('**/usersig/verify', async (route) => {
      const response = await route.fetch()
      await held
      await route.fulfill({ response })
    })
    await page.click('#verify')
    await page.fill('#verify-userid', 'grace')
    release()
    await page.waitForSelector('#verify:not([disabled])')
    expect(await page.isHidden('#verdict')).toBe(true)
  })

  test('copy buttons put the pasted and the issued ticket on the clipboard', async () => {
    const clipboard = () => page.evaluate(() => navigator.clipboard.readText())
    const ticket = userSig('alice', 3600)
    await paste(page, ticket)
    await page.evaluate(() => navigator.clipboard.writeText(''))
    await page.click('#copy-ticket')
    await page.waitForFunction(
      () => document.querySelector('#copy-ticket')?.textContent === 'Copied',
    )
    expect(await clipboard()).toBe(ticket)
    expect(await text(page, '#status')).toBe('Ticket copied to the clipboard.')
    // The label comes back, so the button can be used again.
    await page.waitForFunction(
      () => document.querySelector('#copy-ticket')?.textContent === 'Copy ticket',
      undefined,
      { timeout: 10_000 },
    )

    await typeToken(page, TOKENS.chat)
    await fillIssue(page, { sdkAppId: APP_A, userId: 'bob' })
    await issue(page)
    await page.evaluate(() => navigator.clipboard.writeText(''))
    await page.click('#issued button.copy')
    await page.waitForFunction(() => navigator.clipboard.readText().then((t) => t !== ''))
    const issued = await clipboard()
    expect(issued).toBe(await page.inputValue('#ticket'))
    expect(decodeUserSig(issued).userId).toBe('bob')

    await page.click('#clear-ticket')
    expect(await page.isDisabled('#copy-ticket')).toBe(true)
  })

  test("the issue fields follow each pasted ticket's SDKAppID and UserID, as the verify fields do", async () => {
    await typeToken(page, TOKENS.chat)
    await paste(page, userSig('alice', 3600))
    expect(await page.inputValue('#issue-sdkappid')).toBe(String(APP_A))
    expect(await page.inputValue('#issue-userid')).toBe('alice')

    const pmk = signPrivateMapKey(
      { sdkAppId: APP_B, userId: 'carol', expire: 300, now: now(), roomId: 7, privileges: 255 },
      KEYS.b,
    )
    await paste(page, pmk)
    expect(await page.inputValue('#issue-sdkappid')).toBe(String(APP_B))
    expect(await page.inputValue('#issue-userid')).toBe('carol')

    // A field changed by hand holds until the next ticket, as on the verify form.
    await page.fill('#issue-userid', 'mallory')
    await paste(page, userSig('dave', 3600))
    expect(await page.inputValue('#issue-sdkappid')).toBe(String(APP_A))
    expect(await page.inputValue('#issue-userid')).toBe('dave')
    // and issuing from there gives that ticket's like
    await issue(page)
    expect(decodeUserSig(await page.inputValue('#ticket'))).toMatchObject({
      sdkAppId: APP_A,
      userId: 'dave',
    })
  })

  test('issues a UserSig, which lands decoded in the ticket box and verifies', async () => {
    await typeToken(page, TOKENS.chat)
    await fillIssue(page, { sdkAppId: APP_A, userId: 'bob', expire: 3600 })
    await issue(page)
    const ticket = await page.inputValue('#ticket')
    // Checked with the codec on this side, with the key the service holds.
    expect(
      verifyUserSig(ticket, [KEYS.aNew], { sdkAppId: APP_A, userId: 'bob', now: now() }),
    ).toMatchObject({ valid: true, keyId: '2026-11' })
    expect(await rows(page, '#issued')).toEqual({
      Issued: 'UserSig for UserID bob',
      'Signed by key': '2026-11',
      Expires: expect.stringMatching(/\nexpires in (59m [1-5]?\ds|1h 0m 0s)$/),
      Ticket: `${ticket}\nCopy ticket`,
    })
    expect(await rows(page, '#decoded')).toMatchObject({ UserID: 'bob', Lifetime: '3600 s (1h)' })
    expect(await text(page, '#status')).toBe(
      'Issued a UserSig for UserID bob: it is in the ticket box, decoded.',
    )
    expect(await verify(page)).toMatch(/Valid/)
    await screenshot(page, 'desktop-04-issued-usersig')
  })

  test('issues a PrivateMapKey for a room, with privileges chosen by name', async () => {
    await typeToken(page, TOKENS.chat)
    await fillIssue(page, { kind: 'privatemapkey', sdkAppId: APP_A, userId: 'alice' })
    expect(await page.isVisible('#room-fields')).toBe(true)
    expect(await text(page, '#issue')).toBe('Issue PrivateMapKey')
    await page.fill('#issue-room', '1234')
    for (const name of ['createRoom', 'receiveAudio', 'sendVideo', 'receiveVideo']) {
      await page.uncheck(`input[name="privilege"][value="${name}"]`)
    }
    await page.uncheck('input[value="sendSubStream"]')
    await page.uncheck('input[value="receiveSubStream"]')
    await issue(page)

    const ticket = await page.inputValue('#ticket')
    expect(decodeUserSig(ticket).privateMapKey).toMatchObject({
      userId: 'alice',
      roomId: 1234,
      strRoomId: null,
      privileges: 6,
      privilegeNames: ['enterRoom', 'sendAudio'],
    })
    expect(await rows(page, '#issued')).toMatchObject({
      Issued: 'PrivateMapKey for UserID alice',
      Room: '1234',
      Privileges: 'enterRoom, sendAudio (bit map 6)',
      // The app's default PrivateMapKey lifetime is 300 s.
      'Room access expires': expect.stringMatching(/\nexpires in (4m [1-5]?\ds|5m 0s)$/),
    })
    expect(await rows(page, '#decoded')).toMatchObject({
      Kind: 'PrivateMapKey',
      Room: '1234 (number)',
      Privileges: 'enterRoom, sendAudio (bit map 6)',
      'Room access expires': expect.stringMatching(/\nexpires in (4m [1-5]?\ds|5m 0s)$/),
    })
    expect(await page.inputValue('#verify-kind')).toBe('privatemapkey')
    expect(await verify(page)).toMatch(/Valid/)
    await screenshot(page, 'desktop-05-issued-privatemapkey')

    await page.selectOption('#issue-room-type', 'strRoomId')
    await page.fill('#issue-room', 'standup-room')
    await issue(page)
    expect(decodeUserSig(await page.inputValue('#ticket')).privateMapKey).toMatchObject({
      roomId: null,
      strRoomId: 'standup-room',
    })
    expect((await rows(page, '#decoded')).Room).toBe('"standup-room" (string)')
  })

  test('a 401 says where a caller token comes from and which scope each action needs', async () => {
    await paste(page, userSig('alice', 3600))
    const none = await verify(page)
    expect(none).toMatch(
      /^No caller token: paste one above\.\s+Verifying needs the scope usersig:verify\./,
    )
    expect(none).toMatch(/prints a demo token on its terminal when it starts/)

    const wrong = randomBytes(32).toString('base64url')
    await typeToken(page, wrong)
    const refused = await verify(page)
    expect(refused).toMatch(
      /^401: the service did not accept this caller token\.\s+Verifying needs a token with the scope usersig:verify\./,
    )
    expect(refused).toMatch(/demo token on its terminal/)
    expect(refused).toMatch(/USERSIG_CLIENTS entry, or a JWT from the identity provider/)
    expect(refused).toMatch(/Code unauthorized, request id \S+/)
    expect(refused).not.toContain(wrong)
    expect(await text(page, '#status')).toMatch(
      /^401: the service did not accept this caller token\./,
    )

    await fillIssue(page, { sdkAppId: APP_A, userId: 'bob' })
    await issue(page)
    expect(await text(page, '#issued')).toMatch(/^401: [\s\S]* scope usersig:issue\./)
    await screenshot(page, 'desktop-06-unauthorized')
    await fillIssue(page, { kind: 'privatemapkey', sdkAppId: APP_A, userId: 'bob' })
    await page.fill('#issue-room', '1')
    await issue(page)
    expect(await text(page, '#issued')).toMatch(/^401: [\s\S]* scope privatemapkey:issue\./)
  })

  test('a 403 names the scope and the SDKAppID grant; a 400 names the field', async () => {
    await paste(page, userSig('alice', 3600))
    await typeToken(page, TOKENS.issuer) // usersig:issue only
    const verifyRefused = await verify(page)
    expect(verifyRefused).toMatch(
      /^403: This caller may not use usersig:verify for this SDKAppID\./,
    )
    expect(verifyRefused).toMatch(
      `Verifying needs the scope usersig:verify and a grant for SDKAppID ${APP_A}: add them to the caller's USERSIG_CLIENTS entry (scopes, apps), or to its JWT (scope, sdkappids).`,
    )

    await typeToken(page, TOKENS.chat) // granted APP_A only
    await fillIssue(page, { sdkAppId: APP_B, userId: 'bob' })
    await issue(page)
    expect(await text(page, '#issued')).toMatch(
      `Issuing a UserSig needs the scope usersig:issue and a grant for SDKAppID ${APP_B}`,
    )
    await screenshot(page, 'desktop-07-forbidden')

    await fillIssue(page, { sdkAppId: APP_A, userId: 'bob', expire: 10 })
    await issue(page)
    expect(await text(page, '#issued')).toMatch(/^400: .*expire/)
  })

  test('a 404 on verify says the debug endpoints are off', async () => {
    await paste(page, userSig('alice', 3600))
    await typeToken(page, TOKENS.chat)
    started.service.setDebugEndpoints(false) // a restart turned them off under the open page
    try {
      expect(await verify(page)).toMatch(
        /^404: the debug endpoints are off on this service \(USERSIG_DEBUG_ENDPOINTS\), so verifying is not available\. Decoding still works in this page/,
      )
    } finally {
      started.service.setDebugEndpoints(true)
    }
  })

  test('the caller token is kept in memory only', async () => {
    await typeToken(page, TOKENS.chat)
    await paste(page, userSig('alice', 3600))
    expect(await verify(page)).toMatch(/Valid/)
    expect(
      await page.evaluate(() => [
        localStorage.length,
        sessionStorage.length,
        document.cookie,
        location.href,
      ]),
    ).toEqual([0, 0, '', `${started.service.base}/debug`])
    await page.reload()
    expect(await page.inputValue('#token')).toBe('')
    // Shown on request, for checking what was pasted.
    await typeToken(page, 'abc')
    await page.click('#token-show')
    expect(await page.getAttribute('#token', 'type')).toBe('text')
    expect(await page.getAttribute('#token-show', 'aria-pressed')).toBe('true')
  })

  describe("decode errors: the page's own words, never base64's, pako's or JSON's", () => {
    const real = userSig('alice', 3600)
    // The official Node library's ticket: it has both * and - in it.
    const node = VECTORS.userSig.tickets.node
    const cases: [string, string, RegExp][] = [
      [
        'a character outside the alphabet',
        'eJy!!not-a-ticket',
        /^This is not a ticket\. It has a character outside Tencent's base64 alphabet \(A-Z a-z 0-9 \* - and _ padding\): "!" at position 4 of 17\./,
      ],
      [
        'a ticket cut short',
        real.slice(0, 100),
        /^This is not a ticket\. It is not a complete zlib stream: it was probably cut short/,
      ],
      [
        'a ticket wrapped over lines',
        `${real.slice(0, 60)}\n${real.slice(60)}`,
        /a line break at position 61 of \d+\. A copy may have wrapped it/,
      ],
      [
        'standard base64',
        node.replace(/\*/g, '+').replace(/-/g, '/'),
        /It looks like standard base64; Tencent's variant writes \+ \/ = as \* - _\./,
      ],
      [
        'a URL-encoded ticket',
        node.replace(/\*/g, '%2A').replace(/-/g, '%2D'),
        /It looks URL-encoded/,
      ],
      [
        'a length no base64 has',
        `${real.replace(/_+$/, '')}A`.slice(0, 4 * 40 + 1),
        /Its length cannot come from base64/,
      ],
      [
        'gzip instead of zlib',
        tencentBase64(gzipSync(JSON.stringify(ticketJson(real)))),
        /not a complete zlib stream/,
      ],
      [
        'a decompression bomb',
        encodeTicketJson({ pad: 'x'.repeat(200_000) }),
        /It inflates to more than 4096 bytes/,
      ],
      [
        'JSON that is not an object',
        encodeTicketJson([1, 2] as never),
        /It does not hold a JSON object\./,
      ],
      [
        'a v1 (ECDSA) ticket',
        encodeTicketJson({ 'TLS.sdk_appid': '1400000000', 'TLS.version': '201512300000' }),
        /^This is not a TLSSigAPIv2 ticket\. This is a v1 \(ECDSA\) ticket; TLSSigAPIv2 tickets are signed with the HMAC secret key\./,
      ],
      [
        'a bad signature field',
        encodeTicketJson({
          'TLS.ver': '2.0',
          'TLS.identifier': 'a',
          'TLS.sdkappid': 1,
          'TLS.time': 1,
          'TLS.expire': 1,
          'TLS.sig': 'short',
        }),
        /^This ticket is damaged\. The ticket's TLS\.sig is not the base64 of a 32-byte HMAC-SHA256\./,
      ],
      ['a ticket over the length cap', 'A'.repeat(4097), /It is longer than 4096 characters/],
    ]
    const internals =
      /buffer error|incorrect header|invalid (block|stored|distance|code|literal)|unknown compression|atob|InvalidCharacter|Unexpected (token|end)|is not valid JSON|SyntaxError|undefined|null|NaN|\[object/

    // One page for all of them: each paste replaces the last, as it would for a person.
    test('each in its own words, with the code a client would be told', async () => {
      await typeToken(page, TOKENS.chat)
      await paste(page, real)
      for (const [name, input, expected] of cases) {
        await paste(page, input)
        await page.waitForSelector('#decode-error:not([hidden])')
        const said = await text(page, '#decode-error')
        expect({ name, said }).toEqual({ name, said: expect.stringMatching(expected) })
        expect({ name, said }).toEqual({
          name,
          said: expect.stringMatching(/A client logging in with it would be told 70003\./),
        })
        expect({ name, said }).not.toEqual({ name, said: expect.stringMatching(internals) })
        expect(await page.isHidden('#decoded')).toBe(true)
        expect(await text(page, '#status')).toMatch(/^This (is not|ticket)/)
        // The fields keep the last ticket that decoded.
        expect(await page.inputValue('#verify-userid')).toBe('alice')
        if (name === 'a ticket cut short') await screenshot(page, 'desktop-08-not-a-ticket')
      }
    })
  })
})
