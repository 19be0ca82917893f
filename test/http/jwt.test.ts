// JWT callers against a real JWKS endpoint on 127.0.0.1: claims map onto the static grant model.
import { exportSPKI } from 'jose'
import {
  APP_A,
  APP_B,
  buildApp,
  expectProblem,
  KEYS,
  NOW,
  post,
  TOKENS,
  USERSIG_APPS,
  UNKNOWN_APP,
} from '../helpers/http.js'
import {
  AUDIENCE,
  ISSUER,
  jwksEnv,
  keyPair,
  signJwt as token,
  startIdp,
  unixNow as now,
  type Idp,
} from '../helpers/idp.js'
import { verifyUserSig } from '../../src/usersig/index.js'

const issue = (app: Parameters<typeof post>[0], bearer: string, sdkAppId = APP_A) =>
  post(app, '/usersig', bearer, { sdkAppId, userId: 'alice', expire: 3600 })

describe('JWT callers with a JWKS', () => {
  let idp: Idp
  let current: Awaited<ReturnType<typeof keyPair>>
  let app: ReturnType<typeof buildApp>

  beforeEach(async () => {
    current = await keyPair('k1')
    idp = await startIdp([current.jwk])
    app = buildApp({ env: jwksEnv(idp.url, { USERSIG_JWKS_COOLDOWN_SECONDS: '1' }) })
  })
  afterEach(() => idp.close())

  test('a valid token issues a ticket: sub is the caller, scope and sdkappids its grant', async () => {
    const res = await issue(app.app, await token(current.privateKey, { alg: 'RS256', kid: 'k1' }))
    expect(res.status).toBe(200)
    expect(
      verifyUserSig(res.body.userSig, [KEYS.aNew], { sdkAppId: APP_A, userId: 'alice', now: NOW }),
    ).toMatchObject({
      valid: true,
    })
    expect(app.logs().find((line) => line.audit === 'usersig.issued')).toMatchObject({
      client: 'chat-backend',
    })
  })

  test('a JWT whose subject is a static client id never audits as that client', async () => {
    const jwt = await token(
      current.privateKey,
      { alg: 'RS256', kid: 'k1' },
      { sub: 'chat-backend' },
    )
    const viaJwt = await issue(app.app, jwt).set('X-Request-Id', 'trace-jwt')
    const viaStatic = await issue(app.app, TOKENS.chat).set('X-Request-Id', 'trace-static')
    const audits = app.logs().filter((line) => line.audit === 'usersig.issued')

    expect(audits).toEqual([
      expect.objectContaining({
        requestId: viaJwt.headers['x-request-id'],
        clientRequestId: 'trace-jwt',
        client: 'chat-backend',
        via: 'jwt',
        issuer: ISSUER,
      }),
      expect.objectContaining({
        requestId: viaStatic.headers['x-request-id'],
        clientRequestId: 'trace-static',
        client: 'chat-backend',
        via: 'static',
      }),
    ])
    expect(audits[1]).not.toHaveProperty('issuer')
    // the ids are the service's own, never the caller's
    expect(viaJwt.headers['x-request-id']).not.toBe('trace-jwt')
  })

  test('static tokens keep working beside JWTs', async () => {
    expect((await issue(app.app, TOKENS.chat)).status).toBe(200)
  })

  test('the grant comes from the claims: a missing scope or app is 403, like a static client', async () => {
    const noScope = await token(
      current.privateKey,
      { alg: 'RS256', kid: 'k1' },
      { scope: 'usersig:verify' },
    )
    expectProblem(await issue(app.app, noScope), 403, 'forbidden', {
      detail: 'This caller may not use usersig:issue for this SDKAppID.',
    })
    const appB = await token(
      current.privateKey,
      { alg: 'RS256', kid: 'k1' },
      { sdkappids: [APP_B] },
    )
    expect((await issue(app.app, appB)).status).toBe(403)
    expect((await issue(app.app, appB, APP_B)).status).toBe(200)
    // an SDKAppID the service does not hold: the same 403 as one not granted
    const unknown = await token(
      current.privateKey,
      { alg: 'RS256', kid: 'k1' },
      { sdkappids: [UNKNOWN_APP] },
    )
    const a = await issue(app.app, unknown, UNKNOWN_APP)
    const b = await issue(app.app, appB, APP_A)
    expect(a.status).toBe(403)
    expect({ ...a.body, requestId: null }).toEqual({ ...b.body, requestId: null })
    const badClaims = await token(
      current.privateKey,
      { alg: 'RS256', kid: 'k1' },
      { scope: 7, sdkappids: 'all' },
    )
    expect((await issue(app.app, badClaims)).status).toBe(403)
  })

  test.each([
    ['expired', { exp: now() - 120 }],
    ['not yet valid', { nbf: now() + 120 }],
    ['from another issuer', { iss: 'https://evil.test/' }],
    ['for another audience', { aud: 'another-service' }],
    ['without exp', { exp: null }],
    ['without sub', { sub: null }],
  ])('a token %s is 401', async (_, options) => {
    const bearer = await token(current.privateKey, { alg: 'RS256', kid: 'k1' }, {}, options)
    const res = await issue(app.app, bearer)
    expectProblem(res, 401, 'unauthorized')
    expect(res.headers['www-authenticate']).toBe('Bearer realm="usersig"')
  })

  test('exp within the clock tolerance (30 s) is still accepted', async () => {
    const bearer = await token(
      current.privateKey,
      { alg: 'RS256', kid: 'k1' },
      {},
      { exp: now() - 10 },
    )
    expect((await issue(app.app, bearer)).status).toBe(200)
  })

  test('alg "none" is refused', async () => {
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const unsigned = `${b64({ alg: 'none', kid: 'k1' })}.${b64({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'chat-backend',
      exp: now() + 300,
      scope: 'usersig:issue',
      sdkappids: [APP_A],
    })}.`
    expectProblem(await issue(app.app, unsigned), 401, 'unauthorized')
  })

  test('HS/RS confusion: an HS256 token keyed with the public key is refused', async () => {
    const pem = new TextEncoder().encode(await exportSPKI(current.publicKey))
    expectProblem(
      await issue(app.app, await token(pem, { alg: 'HS256', kid: 'k1' })),
      401,
      'unauthorized',
    )
  })

  test('a token signed by a key the IdP does not publish is 401', async () => {
    const stranger = await keyPair('k1')
    expectProblem(
      await issue(app.app, await token(stranger.privateKey, { alg: 'RS256', kid: 'k1' })),
      401,
      'unauthorized',
    )
  })

  test('unknown kid, then a key rotation at the IdP: refetched after the cooldown, not before', async () => {
    expect(
      (await issue(app.app, await token(current.privateKey, { alg: 'RS256', kid: 'k1' }))).status,
    ).toBe(200)
    const fetchesBefore = idp.hits
    const next = await keyPair('k2', 'ES256')
    const withNewKey = await token(next.privateKey, { alg: 'ES256', kid: 'k2' })
    // a flood of unknown-kid tokens before the IdP publishes k2: at most one refetch (cooldown)
    for (let i = 0; i < 20; i++) expect((await issue(app.app, withNewKey)).status).toBe(401)
    expect(idp.hits - fetchesBefore).toBeLessThanOrEqual(1)
    idp.keys = [current.jwk, next.jwk]
    await new Promise((resolve) => setTimeout(resolve, 1100)) // the 1 s test cooldown
    expect((await issue(app.app, withNewKey)).status).toBe(200)
  })

  test('the IdP down: 503 auth_unavailable, quickly; static callers unaffected', async () => {
    idp.close()
    const fresh = buildApp({
      env: jwksEnv(idp.url),
    })
    const started = Date.now()
    const res = await issue(fresh.app, await token(current.privateKey, { alg: 'RS256', kid: 'k1' }))
    expectProblem(res, 503, 'auth_unavailable')
    expect(Date.now() - started).toBeLessThan(2000)
    expect((await issue(fresh.app, TOKENS.chat)).status).toBe(200)
  })

  test('the IdP hanging: 503 auth_unavailable after the bounded JWKS timeout (3 s), no hang', async () => {
    idp.mode = 'hang'
    const fresh = buildApp({
      env: jwksEnv(idp.url),
    })
    const started = Date.now()
    const res = await issue(fresh.app, await token(current.privateKey, { alg: 'RS256', kid: 'k1' }))
    expectProblem(res, 503, 'auth_unavailable')
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900)
    expect(Date.now() - started).toBeLessThan(6000)
  })
})

describe('JWT callers with a shared HS256 secret', () => {
  const secret = 'a-shared-secret-of-at-least-32-bytes-long!'
  const app = buildApp({
    env: { USERSIG_JWT_ISSUER: ISSUER, USERSIG_JWT_AUDIENCE: AUDIENCE, USERSIG_JWT_SECRET: secret },
  })

  test('a token signed with the secret is accepted; another secret or an RS256 token is not', async () => {
    const key = new TextEncoder().encode(secret)
    expect((await issue(app.app, await token(key, { alg: 'HS256' }))).status).toBe(200)
    const other = new TextEncoder().encode('another-shared-secret-of-32-bytes-or-more')
    expectProblem(await issue(app.app, await token(other, { alg: 'HS256' })), 401, 'unauthorized')
    const rsa = await keyPair('k1')
    expectProblem(
      await issue(app.app, await token(rsa.privateKey, { alg: 'RS256' })),
      401,
      'unauthorized',
    )
  })

  test('JWT callers may stand in for static clients entirely, even in production', async () => {
    const { loadConfig } = await import('../../src/config/index.js')

    const config = loadConfig({
      NODE_ENV: 'production',
      METRICS_PORT: '9100',
      USERSIG_APPS: JSON.stringify(USERSIG_APPS),
      USERSIG_JWT_ISSUER: ISSUER,
      USERSIG_JWT_AUDIENCE: AUDIENCE,
      USERSIG_JWT_SECRET: secret,
    })
    expect(config.policy.clients).toEqual([])
    expect(config.policy.jwt).toMatchObject({
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
      jwksUrl: null,
    })
  })
})
