// Caller authentication and authorisation through createApp: bearer tokens (plain and SHA-256
// configured), scopes, SDKAppID grants, and 403s that do not reveal which apps exist.
import { createHash, randomBytes } from 'node:crypto'
import request from 'supertest'
import {
  APP_A,
  APP_B,
  buildApp,
  expectForbidden,
  expectProblem,
  expectUnauthorized,
  KEYS,
  NOW,
  post,
  TOKENS,
  UNKNOWN_APP,
  sansRequestId,
} from '../helpers/http.js'
import { signUserSig } from '../../src/usersig/index.js'

const { app } = buildApp()

/** A valid body for each endpoint, for the given app; the scope each one needs. */
const ENDPOINTS = [
  {
    path: '/usersig',
    scope: 'usersig:issue',
    body: (sdkAppId: number) => ({ sdkAppId, userId: 'alice' }),
  },
  {
    path: '/usersig/verify',
    scope: 'usersig:verify',
    body: (sdkAppId: number) => ({
      sdkAppId,
      userId: 'alice',
      userSig: signUserSig({ sdkAppId, userId: 'alice', expire: 600, now: NOW }, KEYS.b),
    }),
  },
  {
    path: '/privatemapkey',
    scope: 'privatemapkey:issue',
    body: (sdkAppId: number) => ({ sdkAppId, userId: 'alice', roomId: 1234, privileges: 255 }),
  },
] as const

/** The token with one character changed, at `index`. */
function flipOne(token: string, index: number): string {
  const c = token[index] === 'A' ? 'B' : 'A'
  return token.slice(0, index) + c + token.slice(index + 1)
}

describe('401 unauthorized: no valid bearer token', () => {
  const cases: [string, string | undefined][] = [
    ['no Authorization header', undefined],
    ['the Basic scheme', `Basic ${Buffer.from(`chat-backend:${TOKENS.chat}`).toString('base64')}`],
    ['the token without a scheme', TOKENS.chat],
    ['an empty bearer', 'Bearer '],
    ['the bare scheme', 'Bearer'],
    ['a random token', `Bearer ${randomBytes(32).toString('base64url')}`],
    ['the token with its first character changed', `Bearer ${flipOne(TOKENS.chat, 0)}`],
    ['the token with its last character changed', `Bearer ${flipOne(TOKENS.chat, 42)}`],
    ['the token cut by one character', `Bearer ${TOKENS.chat.slice(0, -1)}`],
    ['the token with one more character', `Bearer ${TOKENS.chat}A`],
    ['two tokens', `Bearer ${TOKENS.chat} ${TOKENS.chat}`],
    [
      'the SHA-256 of a token instead of the token',
      `Bearer ${createHash('sha256').update(TOKENS.hashed).digest('hex')}`,
    ],
    ['an over-long token', `Bearer ${TOKENS.chat.repeat(13)}`],
  ]

  for (const { path, body } of ENDPOINTS) {
    test.each(cases)(`POST ${path} with %s -> 401 and WWW-Authenticate`, async (_, header) => {
      const req = request(app).post(path)
      if (header !== undefined) req.set('Authorization', header)
      const res = await req.send(body(APP_A))

      expectUnauthorized(res)
    })
  }

  test('the token is checked before the body: malformed JSON without a token -> 401', async () => {
    const res = await request(app).post('/usersig').type('application/json').send('{"sdkAppId":')

    expectUnauthorized(res)
  })

  test('an oversized body without a token -> 401, not 413', async () => {
    const res = await request(app)
      .post('/usersig')
      .type('application/json')
      .send(JSON.stringify({ pad: 'x'.repeat(20_000) }))

    expectUnauthorized(res)
  })

  // RFC 9110 section 11.1: the auth-scheme is case-insensitive, and 1*SP may follow it.
  test('the scheme is case-insensitive: "bearer <token>" authenticates (RFC 9110 11.1)', async () => {
    const res = await request(app)
      .post('/usersig')
      .set('Authorization', `bearer ${TOKENS.chat}`)
      .send({ sdkAppId: APP_A, userId: 'alice' })
    expect(res.status).toBe(200)
    const spaced = await request(app)
      .post('/usersig')
      .set('Authorization', `BEARER  ${TOKENS.chat}`)
      .send({ sdkAppId: APP_A, userId: 'alice' })
    expect(spaced.status).toBe(200)
  })
})

describe('authenticated callers', () => {
  test.each([
    ['chat-backend (token)', TOKENS.chat],
    ['hashed-client (configured by tokenSha256, presents the plain token)', TOKENS.hashed],
    ['issuer-only', TOKENS.issuer],
  ])('%s may issue for app A', async (_, token) => {
    const res = await post(app, '/usersig', token, { sdkAppId: APP_A, userId: 'alice' })

    expect(res.status).toBe(200)
    expect(res.body.keyId).toBe('2026-11')
  })

  test('the tokenSha256 client may use every endpoint it holds a scope for', async () => {
    for (const { path, body } of ENDPOINTS) {
      const res = await post(app, path, TOKENS.hashed, body(APP_A))
      expect({ path, status: res.status }).toEqual({ path, status: 200 })
    }
  })

  test('other-app may use every endpoint for app B', async () => {
    for (const { path, body } of ENDPOINTS) {
      const res = await post(app, path, TOKENS.other, body(APP_B))
      expect({ path, status: res.status }).toEqual({ path, status: 200 })
    }
  })
})

describe('403 forbidden: a scope or an SDKAppID outside the grant', () => {
  test.each([ENDPOINTS[1], ENDPOINTS[2]])(
    'issuer-only lacks the scope for $path',
    async ({ path, scope, body }) => {
      const res = await post(app, path, TOKENS.issuer, body(APP_A))

      expectForbidden(res, scope)
    },
  )

  for (const { path, scope, body } of ENDPOINTS) {
    test(`a client of app A can do nothing with app B: POST ${path}`, async () => {
      expectForbidden(await post(app, path, TOKENS.chat, body(APP_B)), scope)
      expectForbidden(await post(app, path, TOKENS.hashed, body(APP_B)), scope)
    })

    test(`a client of app B can do nothing with app A: POST ${path}`, async () => {
      expectForbidden(await post(app, path, TOKENS.other, body(APP_A)), scope)
    })

    test(`POST ${path}: the same 403 for a configured app outside the grant and a non-existent app`, async () => {
      const ask = (sdkAppId: number) => post(app, path, TOKENS.chat, body(sdkAppId))
      const granted = await ask(APP_B)
      const unknown = await ask(UNKNOWN_APP)

      expectForbidden(granted, scope)
      expect(sansRequestId(unknown)).toEqual(sansRequestId(granted))
    })
  }

  test('the grant is checked before the app policy and limits: neither leaks which app exists', async () => {
    const ask = (sdkAppId: number, extra: object) =>
      post(app, '/usersig', TOKENS.chat, { sdkAppId, userId: 'al ice', ...extra })

    for (const extra of [{}, { expire: 1 }, { expire: 1_000_000_000 }]) {
      const granted = await ask(APP_B, extra)
      const unknown = await ask(UNKNOWN_APP, extra)
      expectForbidden(granted, 'usersig:issue')
      expect(sansRequestId(unknown)).toEqual(sansRequestId(granted))
    }
  })

  test('a ticket for app B is not verified for a client of app A (no verdict at all)', async () => {
    const res = await post(app, '/usersig/verify', TOKENS.chat, ENDPOINTS[1].body(APP_B))

    expectForbidden(res, 'usersig:verify')
    expect(res.body).not.toHaveProperty('valid')
  })
})

describe('problem bodies for auth failures', () => {
  test('401 in full', async () => {
    const res = await request(app).post('/usersig').send({ sdkAppId: APP_A, userId: 'alice' })

    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="usersig"')
    expect(res.body).toEqual({
      type: 'urn:usersig-service:problem:unauthorized',
      title: 'A valid bearer token is required.',
      status: 401,
      code: 'unauthorized',
      requestId: res.headers['x-request-id'],
    })
  })

  test('403 in full', async () => {
    const res = await post(app, '/privatemapkey', TOKENS.issuer, ENDPOINTS[2].body(APP_A))

    expectProblem(res, 403, 'forbidden', {
      detail: 'This caller may not use privatemapkey:issue for this SDKAppID.',
    })
    expect(res.body).toEqual({
      type: 'urn:usersig-service:problem:forbidden',
      title: 'This caller may not do this for this SDKAppID.',
      status: 403,
      detail: 'This caller may not use privatemapkey:issue for this SDKAppID.',
      code: 'forbidden',
      requestId: res.headers['x-request-id'],
    })
  })
})
