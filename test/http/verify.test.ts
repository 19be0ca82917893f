// POST /usersig/verify through createApp: the verdict for valid, rotated, expired, tampered and
// misdirected tickets; never the expected signature; when debug endpoints are off, 404 to a caller
// with a token and the usual 401 to one without.
import { randomBytes } from 'node:crypto'
import {
  createUserSigKey,
  HINTS,
  signPrivateMapKey,
  signUserSig,
  TICKET_ERRORS,
  type TicketErrorCode,
} from '../../src/usersig/index.js'
import {
  APP_A,
  APP_B,
  buildApp,
  encodeTicketJson,
  expectedSignature,
  expectInvalidRequest,
  expectProblem,
  expectUnauthorized,
  KEYS,
  NOW,
  post,
  SECRETS,
  signatureSpellings,
  ticketJson,
  TOKENS,
  sansRequestId,
} from '../helpers/http.js'
import { official } from '../helpers/official.js'
import { ALL_PRIVILEGES } from '../helpers/privileges.js'

const { app } = buildApp()
const verify = (body: object, on = app) => post(on, '/usersig/verify', TOKENS.chat, body)

/** What verify shows of a plain UserSig. */
function decoded(userId: string, sdkAppId: number, issuedAt: number, expire: number) {
  return {
    version: '2.0',
    userId,
    sdkAppId,
    issuedAt,
    expire,
    expiresAt: issuedAt + expire,
    userBuf: null,
    privateMapKey: null,
  }
}

function accepted(keyId: string, ticket: unknown) {
  return {
    valid: true,
    code: null,
    tencentErrorCode: null,
    message: 'The ticket is valid.',
    keyId,
    ticket,
  }
}

function refused(
  code: TicketErrorCode,
  tencentErrorCode: number | null,
  ticket: unknown,
  message: string = TICKET_ERRORS[code].message,
) {
  return { valid: false, code, tencentErrorCode, message, keyId: null, ticket, hint: HINTS[code] }
}

async function issued(userId = 'alice', expire = 600): Promise<string> {
  const res = await post(app, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId, expire })
  expect(res.status).toBe(200)
  return res.body.userSig as string
}

describe('POST /usersig/verify: valid tickets', () => {
  test('a ticket this service issued -> valid, with the signing key id, not cached', async () => {
    const userSig = await issued()
    const res = await verify({ sdkAppId: APP_A, userId: 'alice', userSig })

    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.body).toEqual(accepted('2026-11', decoded('alice', APP_A, NOW, 600)))
  })

  test('rotation: a ticket signed with the old key still verifies and names that key', async () => {
    const userSig = signUserSig(
      { sdkAppId: APP_A, userId: 'alice', expire: 86_400, now: NOW - 3600 },
      KEYS.aOld,
    )
    const res = await verify({ sdkAppId: APP_A, userId: 'alice', userSig })

    expect(res.body).toEqual(accepted('2026-05', decoded('alice', APP_A, NOW - 3600, 86_400)))
  })

  test('kind "any" accepts a plain UserSig', async () => {
    const res = await verify({
      sdkAppId: APP_A,
      userId: 'alice',
      userSig: await issued(),
      kind: 'any',
    })

    expect(res.body).toEqual(accepted('2026-11', decoded('alice', APP_A, NOW, 600)))
  })
})

describe('POST /usersig/verify: expiry and clock', () => {
  test('valid through its last second, expired the second after: 70001 with a hint', async () => {
    const userSig = await issued('alice', 300)
    const at = (now: number) =>
      verify({ sdkAppId: APP_A, userId: 'alice', userSig }, buildApp({ clock: () => now }).app)

    expect((await at(NOW + 300)).body).toEqual(
      accepted('2026-11', decoded('alice', APP_A, NOW, 300)),
    )
    const res = await at(NOW + 301)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      valid: false,
      code: 'ticket_expired',
      tencentErrorCode: 70001,
      message: 'The ticket has expired.',
      keyId: null,
      ticket: decoded('alice', APP_A, NOW, 300),
      hint: 'Issue a fresh ticket; on onUserSigExpired, fetch a new one and log in again.',
    })
  })

  test('a ticket signed by the codec at an older time is expired at the fixed clock', async () => {
    const userSig = signUserSig(
      { sdkAppId: APP_A, userId: 'alice', expire: 600, now: NOW - 601 },
      KEYS.aNew,
    )
    const res = await verify({ sdkAppId: APP_A, userId: 'alice', userSig })

    expect(res.body).toEqual(
      refused('ticket_expired', 70001, decoded('alice', APP_A, NOW - 601, 600)),
    )
  })

  test('issued more than USERSIG_MAX_CLOCK_SKEW (300 s) ahead -> ticket_issued_in_future', async () => {
    const userSig = await issued()
    const at = (now: number) =>
      verify({ sdkAppId: APP_A, userId: 'alice', userSig }, buildApp({ clock: () => now }).app)

    expect((await at(NOW - 300)).body).toEqual(
      accepted('2026-11', decoded('alice', APP_A, NOW, 600)),
    )
    expect((await at(NOW - 301)).body).toEqual(
      refused(
        'ticket_issued_in_future',
        null,
        decoded('alice', APP_A, NOW, 600),
        'The ticket was issued 301 s in the future (more than the allowed 300 s); check the issuer clock.',
      ),
    )
  })

  test('the allowed skew comes from USERSIG_MAX_CLOCK_SKEW', async () => {
    const userSig = await issued()
    const strict = buildApp({ env: { USERSIG_MAX_CLOCK_SKEW: '0' }, clock: () => NOW - 1 }).app

    expect(
      (await verify({ sdkAppId: APP_A, userId: 'alice', userSig }, strict)).body,
    ).toMatchObject({
      valid: false,
      code: 'ticket_issued_in_future',
    })
  })
})

describe('POST /usersig/verify: tickets that do not belong', () => {
  test('for another user -> ticket_identifier_mismatch, 70013', async () => {
    const res = await verify({ sdkAppId: APP_A, userId: 'bob', userSig: await issued('alice') })

    expect(res.body).toEqual(
      refused('ticket_identifier_mismatch', 70013, decoded('alice', APP_A, NOW, 600)),
    )
  })

  test('user ids are case-sensitive', async () => {
    const res = await verify({ sdkAppId: APP_A, userId: 'Alice', userSig: await issued('alice') })

    expect(res.body).toMatchObject({ valid: false, code: 'ticket_identifier_mismatch' })
  })

  test("another app's ticket (signed with app B's key) claimed for app A -> ticket_sdkappid_mismatch, 70014", async () => {
    const userSig = signUserSig({ sdkAppId: APP_B, userId: 'alice', expire: 600, now: NOW }, KEYS.b)
    const res = await verify({ sdkAppId: APP_A, userId: 'alice', userSig })

    expect(res.body).toEqual(
      refused('ticket_sdkappid_mismatch', 70014, decoded('alice', APP_B, NOW, 600)),
    )
  })

  test("a ticket naming app A but signed with app B's key -> ticket_signature_invalid, 70009", async () => {
    const userSig = signUserSig({ sdkAppId: APP_A, userId: 'alice', expire: 600, now: NOW }, KEYS.b)
    const res = await verify({ sdkAppId: APP_A, userId: 'alice', userSig })

    expect(res.body).toEqual(
      refused('ticket_signature_invalid', 70009, decoded('alice', APP_A, NOW, 600)),
    )
  })

  test('a key removed by rotation (not in the ring) -> ticket_signature_invalid', async () => {
    const retired = createUserSigKey('2025-11', randomBytes(32).toString('hex'))
    const userSig = signUserSig(
      { sdkAppId: APP_A, userId: 'alice', expire: 600, now: NOW },
      retired,
    )
    const res = await verify({ sdkAppId: APP_A, userId: 'alice', userSig })

    expect(res.body).toEqual(
      refused('ticket_signature_invalid', 70009, decoded('alice', APP_A, NOW, 600)),
    )
  })
})

describe('POST /usersig/verify: damaged and tampered tickets', () => {
  test('one character flipped -> refused as malformed (70003) or badly signed (70009)', async () => {
    const userSig = await issued()
    // Positions in full base64 quartets only: in the last quartet before "__" padding, a character
    // also holds unused low bits, and A<->B there decodes to the same bytes (the same ticket).
    expect(userSig.length % 4).toBe(0)
    const lastFull = userSig.length - 5
    for (const index of [0, 5, 20, 60, 100, Math.floor(userSig.length / 2), lastFull]) {
      const flipped =
        userSig.slice(0, index) + (userSig[index] === 'A' ? 'B' : 'A') + userSig.slice(index + 1)
      expect(flipped).not.toBe(userSig)

      const res = await verify({ sdkAppId: APP_A, userId: 'alice', userSig: flipped })

      expect(res.status).toBe(200)
      const code = res.body.code as TicketErrorCode
      expect(['ticket_malformed', 'ticket_signature_invalid']).toContain(code)
      expect(res.body).toEqual({
        valid: false,
        code,
        tencentErrorCode: code === 'ticket_malformed' ? 70003 : 70009,
        message: expect.any(String),
        keyId: null,
        ticket: code === 'ticket_malformed' ? null : expect.any(Object),
        hint: HINTS[code],
      })
    }
  })

  test.each([
    ['a longer expire', { 'TLS.expire': 1_576_800_000 }, 'alice'],
    ['another user', { 'TLS.identifier': 'mallory' }, 'mallory'],
    ['an earlier issue time', { 'TLS.time': NOW - 1 }, 'alice'],
  ] as [string, Record<string, unknown>, string][])(
    're-encoded with %s but the old signature -> ticket_signature_invalid, never the expected signature',
    async (_, change, userId) => {
      const original = ticketJson(await issued())
      const tampered: Record<string, unknown> = { ...original, ...change }
      const userSig = encodeTicketJson(tampered)

      const res = await verify({ sdkAppId: APP_A, userId, userSig })

      expect(res.body).toEqual(
        refused(
          'ticket_signature_invalid',
          70009,
          decoded(userId, APP_A, tampered['TLS.time'] as number, tampered['TLS.expire'] as number),
        ),
      )
      // Returning the signature the tampered fields would need makes verify a signing oracle.
      const forbidden = [SECRETS.aNew, SECRETS.aOld].flatMap((secret) =>
        signatureSpellings(expectedSignature(tampered, secret)),
      )
      forbidden.push(...signatureSpellings(original['TLS.sig'] as string))
      for (const text of forbidden) expect(res.text).not.toContain(text)
      expect(res.text).not.toMatch(/[A-Za-z0-9+/*-]{43}[=_]/)
      expect(JSON.stringify(res.headers)).not.toMatch(/[A-Za-z0-9+/*-]{43}[=_]/)
    },
  )

  test.each([
    ['empty', '', 'ticket_empty', 70002, 'The ticket is empty.'],
    ['not base64', 'not a ticket!', 'ticket_malformed', 70003, expect.any(String)],
    [
      'over 4096 characters',
      'A'.repeat(4097),
      'ticket_malformed',
      70003,
      'The ticket is longer than 4096 characters.',
    ],
  ] as const)('%s -> %s (%i)', async (_, userSig, code, tencentErrorCode, message) => {
    const res = await verify({ sdkAppId: APP_A, userId: 'alice', userSig })

    expect(res.body).toEqual({
      valid: false,
      code,
      tencentErrorCode,
      message,
      keyId: null,
      ticket: null,
      hint: HINTS[code],
    })
  })

  test('a ticket over the contract limit (8192) -> 400 invalid_request naming /userSig', async () => {
    expectInvalidRequest(
      await verify({ sdkAppId: APP_A, userId: 'alice', userSig: 'A'.repeat(8193) }),
      ['/userSig'],
    )
  })

  test.each([
    ['no userSig', { sdkAppId: APP_A, userId: 'alice' }, ['/userSig']],
    ['an unknown kind', { sdkAppId: APP_A, userId: 'alice', userSig: 'x', kind: 'jwt' }, ['/kind']],
    ['an extra field', { sdkAppId: APP_A, userId: 'alice', userSig: 'x', key: 'k' }, ['/key']],
    ['sdkAppId 0', { sdkAppId: 0, userId: 'alice', userSig: 'x' }, ['/sdkAppId']],
  ])('%s -> 400 invalid_request', async (_, body, fields) => {
    expectInvalidRequest(await verify(body), fields)
  })
})

describe('POST /usersig/verify: PrivateMapKeys', () => {
  const pmk = () =>
    signPrivateMapKey(
      { sdkAppId: APP_A, userId: 'alice', expire: 300, now: NOW, roomId: 1234, privileges: 255 },
      KEYS.aNew,
    )
  const pmkTicket = (userSig: string) => ({
    version: '2.0',
    userId: 'alice',
    sdkAppId: APP_A,
    issuedAt: NOW,
    expire: 300,
    expiresAt: NOW + 300,
    userBuf: ticketJson(userSig)['TLS.userbuf'],
    privateMapKey: {
      userId: 'alice',
      sdkAppId: APP_A,
      roomId: 1234,
      strRoomId: null,
      expiresAt: NOW + 300,
      privileges: 255,
      privilegeNames: ALL_PRIVILEGES,
      accountType: 0,
    },
  })

  test('with the default kind (usersig) -> ticket_kind_mismatch, no Tencent code', async () => {
    const userSig = pmk()
    const res = await verify({ sdkAppId: APP_A, userId: 'alice', userSig })

    expect(res.body).toEqual(
      refused(
        'ticket_kind_mismatch',
        null,
        pmkTicket(userSig),
        'The ticket carries a userbuf (a PrivateMapKey); a plain UserSig was expected.',
      ),
    )
  })

  test.each(['privatemapkey', 'any'])(
    'with kind %s -> valid, with the room permission',
    async (kind) => {
      const userSig = pmk()
      const res = await verify({ sdkAppId: APP_A, userId: 'alice', userSig, kind })

      expect(res.body).toEqual(accepted('2026-11', pmkTicket(userSig)))
    },
  )

  test('a plain UserSig where a PrivateMapKey is asked for -> ticket_kind_mismatch', async () => {
    const res = await verify({
      sdkAppId: APP_A,
      userId: 'alice',
      userSig: await issued(),
      kind: 'privatemapkey',
    })

    expect(res.body).toEqual(
      refused(
        'ticket_kind_mismatch',
        null,
        decoded('alice', APP_A, NOW, 600),
        'The ticket is not a PrivateMapKey (no room permission userbuf).',
      ),
    )
  })

  test('one the official Node library made for a non-ASCII UserID -> ticket_userbuf_mangled, with the hint', async () => {
    // it writes the low byte of each UTF-16 unit: "张三" becomes " \t" in the userbuf
    const userSig = official(APP_A, SECRETS.aNew, NOW, (api) =>
      api.genPrivateMapKey('张三', 300, 1234, 255),
    )
    const res = await verify({ sdkAppId: APP_A, userId: '张三', userSig, kind: 'privatemapkey' })

    expect(res.status).toBe(200)
    expect(res.body).toEqual(
      refused(
        'ticket_userbuf_mangled',
        null,
        {
          version: '2.0',
          userId: '张三',
          sdkAppId: APP_A,
          issuedAt: NOW,
          expire: 300,
          expiresAt: NOW + 300,
          userBuf: ticketJson(userSig)['TLS.userbuf'],
          privateMapKey: {
            userId: ' \t',
            sdkAppId: APP_A,
            roomId: 1234,
            strRoomId: null,
            expiresAt: NOW + 300,
            privileges: 255,
            privilegeNames: ALL_PRIVILEGES,
            accountType: 0,
          },
        },
        'The PrivateMapKey userbuf holds the non-ASCII UserID as the low byte of each UTF-16 unit, not as UTF-8, as the official Java and Node libraries write it.',
      ),
    )
    expect(res.body.hint).toContain('official Java and Node')
  })

  test('one this service issued verifies as a PrivateMapKey', async () => {
    const issuedPmk = await post(app, '/privatemapkey', TOKENS.chat, {
      sdkAppId: APP_A,
      userId: 'alice',
      strRoomId: 'lobby',
      privileges: ['enterRoom', 'receiveAudio'],
    })
    const res = await verify({
      sdkAppId: APP_A,
      userId: 'alice',
      userSig: issuedPmk.body.privateMapKey,
      kind: 'privatemapkey',
    })

    expect(res.body).toMatchObject({
      valid: true,
      keyId: '2026-11',
      ticket: {
        privateMapKey: {
          roomId: null,
          strRoomId: 'lobby',
          privileges: 10,
          privilegeNames: ['enterRoom', 'receiveAudio'],
        },
      },
    })
  })
})

describe('POST /usersig/verify with USERSIG_DEBUG_ENDPOINTS=false', () => {
  const off = buildApp({ env: { USERSIG_DEBUG_ENDPOINTS: 'false' } })

  test('the config reads the flag', () => {
    expect(off.config.process.debugEndpoints).toBe(false)
    expect(buildApp().config.process.debugEndpoints).toBe(true)
  })

  test('answers 404 not_found with a valid token, even for a valid ticket', async () => {
    const userSig = signUserSig(
      { sdkAppId: APP_A, userId: 'alice', expire: 600, now: NOW },
      KEYS.aNew,
    )
    const res = await post(off.app, '/usersig/verify', TOKENS.chat, {
      sdkAppId: APP_A,
      userId: 'alice',
      userSig,
    })

    expectProblem(res, 404, 'not_found')
    expect(res.headers['www-authenticate']).toBeUndefined()
  })

  test.each([
    ['no token', null],
    ['a wrong token', randomBytes(32).toString('base64url')],
  ])('answers 401 with %s, as when it is on: whether debug is on is not told', async (_, token) => {
    const body = { sdkAppId: APP_A, userId: 'alice', userSig: 'x' }
    const res = await post(off.app, '/usersig/verify', token, body)

    expectUnauthorized(res)
    expect(sansRequestId(res)).toEqual(
      sansRequestId(await post(buildApp().app, '/usersig/verify', token, body)),
    )
  })

  test.each(['/usersig/verify/', '/USERSIG/VERIFY'])('and at %s', async (path) => {
    expectProblem(await post(off.app, path, TOKENS.chat, {}), 404, 'not_found')
  })

  test('with a token, the 404 matches that of a path that never existed', async () => {
    const verifyRes = await post(off.app, '/usersig/verify', TOKENS.chat, {})
    const unknownRes = await post(off.app, '/usersig/nope', TOKENS.chat, {})

    expect(sansRequestId(verifyRes)).toEqual(sansRequestId(unknownRes))
  })

  test('issuing still works', async () => {
    const res = await post(off.app, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId: 'alice' })

    expect(res.status).toBe(200)
  })
})
