// POST /privatemapkey through createApp: numeric and string rooms, privileges by number and by
// name, the absolute room expiry, and the ways a request is refused.
import { createHmac } from 'node:crypto'
import { decodeUserSig, verifyUserSig } from '../../src/usersig/index.js'
import {
  APP_A,
  buildApp,
  expectForbidden,
  expectInvalidRequest,
  expectProblem,
  KEYS,
  LIMITS_A,
  NOW,
  post,
  SECRETS,
  ticketJson,
  TOKENS,
} from '../helpers/http.js'
import { ALL_PRIVILEGES } from '../helpers/privileges.js'

const { app } = buildApp()
const issue = (body: object, token: string = TOKENS.chat) =>
  post(app, '/privatemapkey', token, body)

describe('POST /privatemapkey issues a room permission', () => {
  test('numeric room, privileges as a number, default expire = privateMapKeyDefaultExpire', async () => {
    const res = await issue({ sdkAppId: APP_A, userId: 'alice', roomId: 1234, privileges: 255 })

    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.body).toEqual({
      privateMapKey: expect.stringMatching(/^[A-Za-z0-9*-]+_{0,2}$/),
      sdkAppId: APP_A,
      userId: 'alice',
      expire: LIMITS_A.privateMapKeyDefaultExpire,
      issuedAt: NOW,
      expiresAt: NOW + 300,
      keyId: '2026-11',
      roomId: 1234,
      strRoomId: null,
      privileges: 255,
      privilegeNames: ALL_PRIVILEGES,
    })
    expect(decodeUserSig(res.body.privateMapKey)).toEqual({
      version: '2.0',
      userId: 'alice',
      sdkAppId: APP_A,
      issuedAt: NOW,
      expire: 300,
      expiresAt: NOW + 300,
      userBuf: expect.any(String),
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
  })

  test('string room, privileges as names (any order, answered in bit order), explicit expire', async () => {
    const res = await issue({
      sdkAppId: APP_A,
      userId: 'alice',
      strRoomId: 'lobby-1',
      privileges: ['receiveAudio', 'enterRoom'],
      expire: 600,
    })

    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      privateMapKey: expect.any(String),
      sdkAppId: APP_A,
      userId: 'alice',
      expire: 600,
      issuedAt: NOW,
      expiresAt: NOW + 600,
      keyId: '2026-11',
      roomId: null,
      strRoomId: 'lobby-1',
      privileges: 10,
      privilegeNames: ['enterRoom', 'receiveAudio'],
    })
    expect(decodeUserSig(res.body.privateMapKey).privateMapKey).toEqual({
      userId: 'alice',
      sdkAppId: APP_A,
      roomId: null,
      strRoomId: 'lobby-1',
      expiresAt: NOW + 600,
      privileges: 10,
      privilegeNames: ['enterRoom', 'receiveAudio'],
      accountType: 0,
    })
  })

  test('no privileges (0 and []) is a valid, empty grant', async () => {
    for (const privileges of [0, []]) {
      const res = await issue({ sdkAppId: APP_A, userId: 'alice', roomId: 1, privileges })
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ privileges: 0, privilegeNames: [] })
    }
  })

  test('the ticket verifies with the codec as a PrivateMapKey, and independently', async () => {
    const { body } = await issue({ sdkAppId: APP_A, userId: 'alice', roomId: 77, privileges: 3 })

    expect(
      verifyUserSig(body.privateMapKey, [KEYS.aNew, KEYS.aOld], {
        sdkAppId: APP_A,
        userId: 'alice',
        now: NOW,
        kind: 'privatemapkey',
      }),
    ).toMatchObject({ valid: true, keyId: '2026-11' })

    // By hand: the userbuf layout (version 0, numeric room) and the HMAC over five lines.
    const doc = ticketJson(body.privateMapKey)
    const userBuf = doc['TLS.userbuf'] as string
    const expectedBuf = Buffer.alloc(1 + 2 + 5 + 20)
    let at = expectedBuf.writeUInt8(0, 0)
    at = expectedBuf.writeUInt16BE(5, at)
    at += expectedBuf.write('alice', at)
    at = expectedBuf.writeUInt32BE(APP_A, at)
    at = expectedBuf.writeUInt32BE(77, at)
    at = expectedBuf.writeUInt32BE(NOW + 300, at)
    at = expectedBuf.writeUInt32BE(3, at)
    expectedBuf.writeUInt32BE(0, at)
    expect(Buffer.from(userBuf, 'base64')).toEqual(expectedBuf)

    const signedText =
      `TLS.identifier:alice\nTLS.sdkappid:${APP_A}\nTLS.time:${NOW}\nTLS.expire:300\n` +
      `TLS.userbuf:${userBuf}\n`
    expect(doc).toEqual({
      'TLS.ver': '2.0',
      'TLS.identifier': 'alice',
      'TLS.sdkappid': APP_A,
      'TLS.time': NOW,
      'TLS.expire': 300,
      'TLS.userbuf': userBuf,
      'TLS.sig': createHmac('sha256', SECRETS.aNew).update(signedText).digest('base64'),
    })
  })
})

describe('POST /privatemapkey refuses', () => {
  test('both roomId and strRoomId -> 400 invalid_request', async () => {
    const res = await issue({
      sdkAppId: APP_A,
      userId: 'alice',
      roomId: 1,
      strRoomId: 'lobby',
      privileges: 255,
    })

    expectInvalidRequest(res, ['/'])
  })

  test('neither roomId nor strRoomId -> 400 invalid_request', async () => {
    const res = await issue({ sdkAppId: APP_A, userId: 'alice', privileges: 255 })

    expectInvalidRequest(res, ['/roomId', '/strRoomId', '/'])
  })

  test.each([
    [
      'an unknown privilege name',
      ['enterRoom', 'fly'],
      ['/privileges', '/privileges/1', '/privileges'],
    ],
    ['privileges 256', 256, ['/privileges', '/privileges', '/privileges']],
    ['privileges -1', -1, ['/privileges', '/privileges', '/privileges']],
    ['privileges 1.5', 1.5, ['/privileges', '/privileges', '/privileges']],
    ['privileges "255"', '255', ['/privileges', '/privileges', '/privileges']],
    [
      'a privilege twice',
      ['enterRoom', 'enterRoom'],
      ['/privileges', '/privileges', '/privileges'],
    ],
  ])('%s -> 400 invalid_request', async (_, privileges, fields) => {
    const res = await issue({ sdkAppId: APP_A, userId: 'alice', roomId: 1, privileges })

    expectInvalidRequest(res, fields)
  })

  test.each([
    ['roomId 0', { roomId: 0 }, '/roomId'],
    ['roomId 2^32', { roomId: 2 ** 32 }, '/roomId'],
    ['roomId as a string', { roomId: '1234' }, '/roomId'],
    ['an empty strRoomId', { strRoomId: '' }, '/strRoomId'],
    ['a strRoomId of 65 characters', { strRoomId: 'r'.repeat(65) }, '/strRoomId'],
  ])('%s -> 400 invalid_request', async (_, room, field) => {
    const res = await issue({ sdkAppId: APP_A, userId: 'alice', privileges: 1, ...room })

    expect(res.status).toBe(400)
    expect(res.body.code).toBe('invalid_request')
    expect(res.body.errors).toContainEqual({ field, message: expect.any(String) })
  })

  test('no privileges -> 400 invalid_request naming /privileges', async () => {
    expectInvalidRequest(await issue({ sdkAppId: APP_A, userId: 'alice', roomId: 1 }), [
      '/privileges',
    ])
  })

  test.each([
    ['over 64 UTF-8 bytes (30 characters, 90 bytes)', '房'.repeat(30)],
    ['with a control character', 'lob\u0001by'],
  ])(
    'a strRoomId %s passes the contract but not the codec -> 400 invalid_request',
    async (_, strRoomId) => {
      const res = await issue({ sdkAppId: APP_A, userId: 'alice', strRoomId, privileges: 1 })

      expectProblem(res, 400, 'invalid_request', {
        detail: 'strRoomId must be 1 to 64 UTF-8 bytes without control characters (or give roomId)',
      })
    },
  )

  test.each([299, 86_401, 604_800])(
    'expire %d, outside [minExpire, privateMapKeyMaxExpire] -> 400 expire_out_of_range',
    async (expire) => {
      // A PrivateMapKey's ceiling is its own (a day by default), not a UserSig's (7 days here).
      const message = 'expire must be from 300 to 86400 seconds for this SDKAppID'
      const res = await issue({
        sdkAppId: APP_A,
        userId: 'alice',
        roomId: 1,
        privileges: 1,
        expire,
      })

      expectProblem(res, 400, 'expire_out_of_range', {
        detail: message,
        errors: [{ field: '/expire', message }],
      })
    },
  )

  test('expire 86400, the default privateMapKeyMaxExpire, is issued as asked', async () => {
    const res = await issue({
      sdkAppId: APP_A,
      userId: 'alice',
      roomId: 1,
      privileges: 1,
      expire: 86_400,
    })
    expect(res.status).toBe(200)
    expect(res.body.expire).toBe(86_400)
  })

  test('a userId outside the strict policy -> 400 user_id_invalid', async () => {
    const res = await issue({ sdkAppId: APP_A, userId: 'al ice', roomId: 1, privileges: 1 })

    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ code: 'user_id_invalid', errors: [{ field: '/userId' }] })
  })

  test('a caller without privatemapkey:issue -> 403', async () => {
    const res = await issue(
      { sdkAppId: APP_A, userId: 'alice', roomId: 1, privileges: 1 },
      TOKENS.issuer,
    )

    expectForbidden(res, 'privatemapkey:issue')
  })
})
