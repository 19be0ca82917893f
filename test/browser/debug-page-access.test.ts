// The debug page for everyone: every control worked by keyboard alone with a visible focus ring,
// axe-core's WCAG 2.2 A/AA checks (labels, names, contrast) in each state, and at a phone's
// 390 px nothing scrolls sideways and no word of prose is split. Screenshots of each state at
// 390 px go to artifacts/debug-page/phone-*.png.
import { randomBytes } from 'node:crypto'
import type { Page } from 'playwright-core'
import { decodeUserSig, signPrivateMapKey, signUserSig } from '../../src/usersig/index.js'
import { APP_A, KEYS, TOKENS } from '../helpers/http.js'
import {
  accessibilityViolations,
  DESKTOP,
  describeInChromium,
  horizontalOverflow,
  now,
  openDebugPage,
  paste,
  PHONE,
  screenshot,
  text,
  typeToken,
  verify,
  wordsBrokenMidWord,
  serviceAndChromium,
} from './chromium.js'

/** Presses Tab until `selector` has the focus: proof that the keyboard reaches it. */
async function tabTo(page: Page, selector: string): Promise<void> {
  for (let presses = 0; presses < 40; presses++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) === true, selector)) return
    await page.keyboard.press('Tab')
  }
  throw new Error(`Tab never reaches ${selector}`)
}

/** What has the focus, and the focus ring it draws. */
function focused(page: Page): Promise<{ control: string; ring: string }> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLInputElement
    const style = getComputedStyle(el)
    return {
      control: el.id || `${el.name}=${el.value}`,
      ring: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
    }
  })
}

describeInChromium('the debug page, by keyboard, for axe-core and at 390 px', () => {
  const started = serviceAndChromium()

  test('every control is reached and worked by keyboard alone, with a visible focus ring', async () => {
    const { page, context, problems } = await openDebugPage(started.browser, started.service.base)
    const stops: { control: string; ring: string }[] = []
    for (let i = 0; i < 20 && stops.at(-1)?.control !== 'issue'; i++) {
      await page.keyboard.press('Tab')
      stops.push(await focused(page))
    }
    // In reading order; the empty ticket's copy button and the hidden room fields are skipped.
    expect(stops.map((stop) => stop.control)).toEqual([
      'docs-link',
      'token',
      'token-show',
      'ticket',
      'clear-ticket',
      'verify-sdkappid',
      'verify-userid',
      'verify-kind',
      'verify',
      'issue-kind=usersig',
      'issue-sdkappid',
      'issue-userid',
      'issue-expire',
      'issue',
    ])
    for (const stop of stops) expect(stop).toEqual({ ...stop, ring: 'solid 3px rgb(29, 78, 216)' })

    // Verify: type the token, paste the ticket, copy it, press Enter in a field.
    const ticket = signUserSig(
      { sdkAppId: APP_A, userId: 'alice', expire: 600, now: now() },
      KEYS.aNew,
    )
    await tabTo(page, '#token')
    await page.keyboard.type(TOKENS.chat)
    await page.keyboard.press('Tab')
    await page.keyboard.press('Space') // Show
    expect(await page.getAttribute('#token', 'type')).toBe('text')
    await tabTo(page, '#ticket')
    await page.keyboard.insertText(ticket)
    await tabTo(page, '#copy-ticket')
    await page.keyboard.press('Enter')
    await page.waitForFunction(
      () => document.querySelector('#copy-ticket')?.textContent === 'Copied',
    )
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(ticket)
    await tabTo(page, '#verify-userid')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#verdict:not([hidden])')
    expect(await text(page, '#verdict')).toMatch(/Valid/)

    // Issue a PrivateMapKey: arrows pick the kind, Space unticks a privilege, Enter sends.
    await tabTo(page, 'input[name="issue-kind"]:checked')
    await page.keyboard.press('ArrowDown')
    expect(await page.isVisible('#room-fields')).toBe(true)
    await tabTo(page, '#issue-sdkappid')
    await page.keyboard.type(String(APP_A))
    await tabTo(page, '#issue-userid')
    await page.keyboard.type('bob')
    await tabTo(page, '#issue-room')
    await page.keyboard.type('42')
    await tabTo(page, 'input[value="createRoom"]')
    await page.keyboard.press('Space')
    await tabTo(page, '#issue')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#issued:not([hidden])')
    const issued = decodeUserSig(await page.inputValue('#ticket')).privateMapKey
    expect(issued).toMatchObject({ userId: 'bob', roomId: 42, privileges: 254 })

    // Clear, by keyboard too; the focus goes back to the empty ticket box.
    await tabTo(page, '#clear-ticket')
    await page.keyboard.press('Enter')
    expect(await focused(page).then((f) => f.control)).toBe('ticket')
    expect(await page.inputValue('#ticket')).toBe('')

    await context.close()
    expect(problems).toEqual([])
  })

  // Each state the page can be in, reached as a person would.
  const states: [string, (page: Page) => Promise<unknown>][] = [
    ['empty', async () => {}],
    [
      'expired-privatemapkey-with-a-long-string-room',
      async (page) => {
        await typeToken(page, TOKENS.chat)
        const pmk = signPrivateMapKey(
          {
            sdkAppId: APP_A,
            userId: 'aUserIdOfThirtyTwoBytesNoHyphens',
            expire: 300,
            now: now() - 3600,
            strRoomId: 'aStringRoomOfSixtyFourBytesWithoutHyphensWhichIsTheMostTrtcAllow',
            privileges: ['enterRoom', 'sendAudio', 'receiveAudio', 'sendVideo', 'receiveVideo'],
          },
          KEYS.aNew,
        )
        await paste(page, pmk)
        return verify(page)
      },
    ],
    [
      'valid-usersig',
      async (page) => {
        await typeToken(page, TOKENS.chat)
        await paste(
          page,
          signUserSig({ sdkAppId: APP_A, userId: 'alice', expire: 86_400, now: now() }, KEYS.aNew),
        )
        return verify(page)
      },
    ],
    [
      'not-a-ticket',
      async (page) => {
        const real = signUserSig({ sdkAppId: APP_A, userId: 'al', expire: 60, now: now() }, KEYS.b)
        await paste(page, `${real.slice(0, 50)}\n${real.slice(50)}`)
      },
    ],
    [
      'unauthorized',
      async (page) => {
        await typeToken(page, randomBytes(32).toString('base64url'))
        await paste(
          page,
          signUserSig({ sdkAppId: APP_A, userId: 'alice', expire: 600, now: now() }, KEYS.aNew),
        )
        return verify(page)
      },
    ],
    [
      'issued-privatemapkey',
      async (page) => {
        await typeToken(page, TOKENS.chat)
        await page.check('input[name="issue-kind"][value="privatemapkey"]')
        await page.fill('#issue-sdkappid', String(APP_A))
        await page.fill('#issue-userid', 'bob')
        await page.selectOption('#issue-room-type', 'strRoomId')
        await page.fill('#issue-room', 'standup')
        await page.click('#issue')
        await page.waitForSelector('#issued:not([hidden])')
      },
    ],
  ]

  test.each([
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const)(
    'at %s width, each state passes axe-core, scrolls only down and keeps words whole',
    async (name, viewport) => {
      const { page, context, problems } = await openDebugPage(
        started.browser,
        started.service.base,
        viewport,
      )
      for (const [index, [state, reach]] of states.entries()) {
        await reach(page)
        expect({ state, violations: await accessibilityViolations(page) }).toEqual({
          state,
          violations: [],
        })
        const { scrollWidth, innerWidth } = await horizontalOverflow(page)
        expect({ state, scrollWidth, fits: scrollWidth <= innerWidth }).toEqual({
          state,
          scrollWidth,
          fits: true,
        })
        expect({ state, broken: await wordsBrokenMidWord(page) }).toEqual({ state, broken: [] })
        if (name === 'phone') await screenshot(page, `phone-${index + 1}-${state}`)
        await page.reload()
      }
      await context.close()
      expect(problems).toEqual([])
    },
  )
})
