// POST /usersig through createApp: the ticket and its checks, the app's limits, and every way a
// request is refused before a ticket is signed.
import { createHmac } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import request from 'supertest'
import { verifyUserSig } from '../../src/usersig/index.js'
import {
  APP_A,
  APP_B,
  buildApp,
  expectInvalidRequest,
  expectUnknownQuery,
  expectProblem,
  KEYS,
  LIMITS_A,
  NOW,
  post,
  SECRETS,
  ticketJson,
  TOKENS,
} from '../helpers/http.js'

const { app } = buildApp()
const issue = (body: unknown, token: string = TOKENS.chat) => post(app, '/usersig', token, body)
const withToken = (req: request.Test) => req.set('Authorization', `Bearer ${TOKENS.chat}`)

const STRICT_MESSAGE = 'userId must be 1 to 32 characters of A-Z a-z 0-9 _ - (policy "strict")'
const RANGE_MESSAGE = 'expire must be from 300 to 604800 seconds for this SDKAppID'

describe('POST /usersig issues a ticket', () => {
  test('answers the ticket with the app default expire, signed by the primary key, not cached', async () => {
    const res = await issue({ sdkAppId: APP_A, userId: 'alice' })

    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.body).toEqual({
      userSig: expect.stringMatching(/^[A-Za-z0-9*-]+_{0,2}$/),
      sdkAppId: APP_A,
      userId: 'alice',
      expire: LIMITS_A.defaultExpire,
      issuedAt: NOW,
      expiresAt: NOW + LIMITS_A.defaultExpire,
      keyId: '2026-11',
    })
  })

  test('the ticket verifies with the codec, against the app keys at the fixed clock', async () => {
    const { body } = await issue({ sdkAppId: APP_A, userId: 'alice' })

    expect(
      verifyUserSig(body.userSig, [KEYS.aNew, KEYS.aOld], {
        sdkAppId: APP_A,
        userId: 'alice',
        now: NOW,
      }),
    ).toEqual({
      valid: true,
      code: null,
      tencentErrorCode: null,
      message: 'The ticket is valid.',
      keyId: '2026-11',
      ticket: {
        version: '2.0',
        userId: 'alice',
        sdkAppId: APP_A,
        issuedAt: NOW,
        expire: 86_400,
        expiresAt: NOW + 86_400,
        userBuf: null,
        privateMapKey: null,
      },
    })
  })

  test('the ticket checks independently: node:zlib, then HMAC-SHA256 with the new secret', async () => {
    const { body } = await issue({ sdkAppId: APP_A, userId: 'alice', expire: 3600 })
    const signedText =
      'TLS.identifier:alice\n' +
      `TLS.sdkappid:${APP_A}\n` +
      `TLS.time:${NOW}\n` +
      'TLS.expire:3600\n'
    const hmac = (secret: string) =>
      createHmac('sha256', secret).update(signedText, 'utf8').digest('base64')

    expect(ticketJson(body.userSig)).toEqual({
      'TLS.ver': '2.0',
      'TLS.identifier': 'alice',
      'TLS.sdkappid': APP_A,
      'TLS.time': NOW,
      'TLS.expire': 3600,
      'TLS.sig': hmac(SECRETS.aNew),
    })
    expect(hmac(SECRETS.aOld)).not.toBe(hmac(SECRETS.aNew))
  })

  test.each([LIMITS_A.minExpire, 3600, LIMITS_A.maxExpire])(
    'takes expire %i as given, at the limits too',
    async (expire) => {
      const res = await issue({ sdkAppId: APP_A, userId: 'alice', expire })

      expect(res.status).toBe(200)
      expect(res.body).toEqual({
        userSig: expect.any(String),
        sdkAppId: APP_A,
        userId: 'alice',
        expire,
        issuedAt: NOW,
        expiresAt: NOW + expire,
        keyId: '2026-11',
      })
      expect(ticketJson(res.body.userSig)['TLS.expire']).toBe(expire)
    },
  )

  test('an app without limits uses the service defaults (60 days) and its only key', async () => {
    const res = await issue({ sdkAppId: APP_B, userId: 'bob' }, TOKENS.other)

    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      userSig: expect.any(String),
      sdkAppId: APP_B,
      userId: 'bob',
      expire: 5_184_000,
      issuedAt: NOW,
      expiresAt: NOW + 5_184_000,
      keyId: 'b-1',
    })
    expect(
      verifyUserSig(res.body.userSig, [KEYS.b], { sdkAppId: APP_B, userId: 'bob', now: NOW }),
    ).toMatchObject({ valid: true, keyId: 'b-1' })
  })
})

describe('POST /usersig refuses an expire outside the app range, never clamping', () => {
  test.each([0, LIMITS_A.minExpire - 1, LIMITS_A.maxExpire + 1, 1_576_800_000])(
    'expire %i -> 400 expire_out_of_range',
    async (expire) => {
      const res = await issue({ sdkAppId: APP_A, userId: 'alice', expire })

      expectProblem(res, 400, 'expire_out_of_range', {
        detail: RANGE_MESSAGE,
        errors: [{ field: '/expire', message: RANGE_MESSAGE }],
      })
    },
  )

  test.each([
    ['a fraction', 86_400.5],
    ['a numeric string', '86400'],
    ['null', null],
    ['negative', -1],
    ['over the contract ceiling', 1_576_800_001],
    ['a boolean', true],
  ])('expire as %s -> 400 invalid_request naming /expire (never coerced)', async (_, expire) => {
    const res = await issue({ sdkAppId: APP_A, userId: 'alice', expire })

    expectInvalidRequest(res, ['/expire'])
  })
})

describe('POST /usersig applies the app user id policy', () => {
  test.each(['al ice', 'alice@example.com', 'ålice', 'a.b'])(
    'strict policy: %j -> 400 user_id_invalid',
    async (userId) => {
      const res = await issue({ sdkAppId: APP_A, userId })

      expectProblem(res, 400, 'user_id_invalid', {
        detail: STRICT_MESSAGE,
        errors: [{ field: '/userId', message: STRICT_MESSAGE }],
      })
    },
  )

  test('printable policy: the same id with a space is accepted, and signed as is', async () => {
    const res = await issue({ sdkAppId: APP_B, userId: 'al ice' }, TOKENS.other)

    expect(res.status).toBe(200)
    expect(res.body.userId).toBe('al ice')
    expect(ticketJson(res.body.userSig)['TLS.identifier']).toBe('al ice')
  })

  test('printable policy still refuses what is not printable ASCII', async () => {
    const message = 'userId must be 1 to 32 printable ASCII characters (policy "printable")'
    const res = await issue({ sdkAppId: APP_B, userId: 'ålice' }, TOKENS.other)

    expectProblem(res, 400, 'user_id_invalid', {
      detail: message,
      errors: [{ field: '/userId', message }],
    })
  })

  test.each([
    ['empty', ''],
    ['33 characters', 'a'.repeat(33)],
    ['a number', 42],
  ])('userId %s -> 400 invalid_request naming /userId', async (_, userId) => {
    expectInvalidRequest(await issue({ sdkAppId: APP_A, userId }), ['/userId'])
  })
})

describe('POST /usersig refuses a body outside the contract', () => {
  test.each([
    ['no sdkAppId', { userId: 'alice' }, ['/sdkAppId']],
    ['no userId', { sdkAppId: APP_A }, ['/userId']],
    ['an empty object', {}, ['/sdkAppId']],
    ['an unknown extra field', { sdkAppId: APP_A, userId: 'alice', role: 'admin' }, ['/role']],
    ['sdkAppId 0', { sdkAppId: 0, userId: 'alice' }, ['/sdkAppId']],
    ['sdkAppId 2^32', { sdkAppId: 2 ** 32, userId: 'alice' }, ['/sdkAppId']],
    ['sdkAppId as a string', { sdkAppId: String(APP_A), userId: 'alice' }, ['/sdkAppId']],
    ['sdkAppId as a fraction', { sdkAppId: APP_A + 0.5, userId: 'alice' }, ['/sdkAppId']],
    ['an array', [{ sdkAppId: APP_A, userId: 'alice' }], ['/']],
  ])('%s -> 400 invalid_request', async (_, body, fields) => {
    expectInvalidRequest(await issue(body), fields)
  })

  test('a "__proto__" member is an unknown field, not a prototype', async () => {
    const res = await withToken(request(app).post('/usersig'))
      .type('application/json')
      .send(`{"sdkAppId":${APP_A},"userId":"alice","__proto__":{"expire":1}}`)

    expectInvalidRequest(res, ['/__proto__'])
  })

  test('an unknown query parameter -> 400 invalid_request', async () => {
    const res = await withToken(request(app).post('/usersig?debug=1')).send({
      sdkAppId: APP_A,
      userId: 'alice',
    })

    expectUnknownQuery(res, ['debug'])
  })

  test.each([
    ['cut short', '{"sdkAppId":1400000000,'],
    ['single quotes', "{'sdkAppId':1400000000}"],
    ['a bare null (strict JSON: objects and arrays only)', 'null'],
    ['a bare string', '"alice"'],
  ])('malformed JSON, %s -> 400 malformed_json', async (_, text) => {
    const res = await withToken(request(app).post('/usersig')).type('application/json').send(text)

    expectProblem(res, 400, 'malformed_json')
  })

  test('a UTF-8 byte order mark before the JSON is skipped, as express.json skipped it', async () => {
    const res = await withToken(request(app).post('/usersig'))
      .type('application/json')
      .send(`\ufeff${JSON.stringify({ sdkAppId: APP_A, userId: 'alice' })}`)

    expect(res.status).toBe(200)
    expect(res.body.userId).toBe('alice')
  })

  test('text/plain -> 415 unsupported_media_type', async () => {
    const res = await withToken(request(app).post('/usersig'))
      .type('text/plain')
      .send(JSON.stringify({ sdkAppId: APP_A, userId: 'alice' }))

    expectProblem(res, 415, 'unsupported_media_type')
  })

  test('no Content-Type -> 415 unsupported_media_type', async () => {
    expectProblem(await withToken(request(app).post('/usersig')), 415, 'unsupported_media_type')
  })

  test('JSON in another charset -> 415 unsupported_media_type, saying why', async () => {
    const res = await withToken(request(app).post('/usersig'))
      .set('Content-Type', 'application/json; charset=latin1')
      .send(JSON.stringify({ sdkAppId: APP_A, userId: 'alice' }))

    expectProblem(res, 415, 'unsupported_media_type', { detail: 'The body must be UTF-8 JSON.' })
  })

  test('a body of exactly 16 KiB is read; one byte more -> 413 payload_too_large', async () => {
    const padded = (bytes: number) => {
      const bare = JSON.stringify({ sdkAppId: APP_A, userId: 'alice', pad: '' })
      return JSON.stringify({
        sdkAppId: APP_A,
        userId: 'alice',
        pad: 'x'.repeat(bytes - bare.length),
      })
    }
    expect(padded(16_384)).toHaveLength(16_384)
    const send = (text: string) =>
      withToken(request(app).post('/usersig')).type('application/json').send(text)

    expectInvalidRequest(await send(padded(16_384)), ['/pad'])
    expectProblem(await send(padded(16_385)), 413, 'payload_too_large')
  })

  test('a compressed body is refused without inflating it (a gzip bomb costs nothing) -> 415', async () => {
    const bomb = { sdkAppId: APP_A, userId: 'alice', pad: 'x'.repeat(1_000_000) }
    const compressed = gzipSync(JSON.stringify(bomb))
    expect(compressed.length).toBeLessThan(16_384)

    const res = await withToken(request(app).post('/usersig'))
      .type('application/json')
      .set('Content-Encoding', 'gzip')
      .serialize(() => compressed as unknown as string)
      .send(bomb)

    expectProblem(res, 415, 'unsupported_media_type', {
      detail: 'Send the JSON body uncompressed (no Content-Encoding).',
    })
  })
})

describe('routes and methods', () => {
  test.each([
    ['GET', '/nope'],
    ['POST', '/nope'],
    ['GET', '/usersig-admin'],
  ])('%s %s -> 404 not_found, with or without a token', async (method, path) => {
    const bare = request(app)[method === 'GET' ? 'get' : 'post'](path)
    const authed = withToken(request(app)[method === 'GET' ? 'get' : 'post'](path))

    for (const res of [await bare, await authed]) expectProblem(res, 404, 'not_found')
  })

  test('under the protected prefixes, the token is checked first: 401 without, 404 with', async () => {
    for (const path of ['/usersig/nope', '/privatemapkey/nope']) {
      expectProblem(await request(app).post(path).send({}), 401, 'unauthorized')
      expectProblem(await withToken(request(app).post(path)).send({}), 404, 'not_found')
    }
  })

  test.each(['put', 'get', 'delete', 'patch'] as const)(
    '%s /usersig -> 405 method_not_allowed',
    async (method) => {
      const res = await withToken(request(app)[method]('/usersig'))

      expectProblem(res, 405, 'method_not_allowed')
    },
  )

  test('a method the route lacks still needs a token: PUT /usersig without one -> 401', async () => {
    const res = await request(app).put('/usersig').send({})

    expectProblem(res, 401, 'unauthorized')
  })

  test('POST /healthz -> 405 method_not_allowed', async () => {
    expectProblem(await request(app).post('/healthz'), 405, 'method_not_allowed')
  })

  // RFC 9110 section 15.5.6: a 405 response carries Allow.
  test('405 method_not_allowed names the allowed methods in Allow (RFC 9110)', async () => {
    const res = await withToken(request(app).put('/usersig'))

    expect(res.status).toBe(405)
    expect(res.headers['allow']).toBe('POST')
  })
})
