// The JWKS key set while the identity provider fails, hangs and recovers, against a real JWKS on
// 127.0.0.1: one fetch per cooldown whatever arrives, the last good set kept (up to a max stale
// age) and across reloads, one log line per failed fetch. First through the service on the real
// clock, then through the authenticator on a clock the tests move.
import { loadConfig, type Config } from '../../src/config/index.js'
import { ServiceError } from '../../src/errors.js'
import { createAuthenticator } from '../../src/http/authenticate.js'
import { JWKS_CACHE_MAX_AGE_MS } from '../../src/http/jwks.js'
import type { JwtConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/logger.js'
import {
  APP_A,
  buildApp,
  expectProblem,
  post,
  USERSIG_APPS,
  USERSIG_CLIENTS,
} from '../helpers/http.js'
import { jwksEnv, keyPair, signJwt, startIdp, unixNow, type Idp } from '../helpers/idp.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `check` holds (for fetches that run behind an answered request). */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

const issue = (app: Parameters<typeof post>[0], bearer: string) =>
  post(app, '/usersig', bearer, { sdkAppId: APP_A, userId: 'alice', expire: 3600 })

// The tokens below live 3 days, for a clock moved by up to a day: allowed here (at most 7 days).
const LONG_LIVED = { USERSIG_JWT_MAX_LIFETIME_SECONDS: '604800' }

let idp: Idp
let k1: Awaited<ReturnType<typeof keyPair>>
/** Signed by k1, which the IdP publishes. */
let good: string
/** JWT-shaped and well signed, by a key the IdP never published (an unknown kid). */
let bad: string
/** Like `good`, issued two hours ago: for a clock set back. */
let early: string

beforeAll(async () => {
  k1 = await keyPair('k1')
  const stranger = await keyPair('stranger')
  // Valid for days: the tests below move the authenticator's clock by up to a day.
  const exp = unixNow() + 3 * 86_400
  good = await signJwt(k1.privateKey, { alg: 'RS256', kid: 'k1' }, {}, { exp })
  bad = await signJwt(stranger.privateKey, { alg: 'RS256', kid: 'stranger' }, {}, { exp })
  early = await signJwt(
    k1.privateKey,
    { alg: 'RS256', kid: 'k1' },
    {},
    { exp, iat: unixNow() - 7200 },
  )
})
beforeEach(async () => {
  idp = await startIdp([k1.jwk])
})
afterEach(() => idp.close())

describe('through the service (real clock, 1 s cooldown)', () => {
  const COOLDOWN_MS = 1000
  /** The most fetches that may start in `elapsedMs` at one per cooldown. */
  const allowedFetches = (elapsedMs: number) => 1 + Math.floor(elapsedMs / COOLDOWN_MS)
  const env = () => jwksEnv(idp.url, { USERSIG_JWKS_COOLDOWN_SECONDS: '1', ...LONG_LIVED })

  test('the IdP answering 500: 50 unknown-kid tokens and 50 good ones make at most one fetch per cooldown; good callers keep getting through', async () => {
    const app = buildApp({ env: env() })
    expect((await issue(app.app, good)).status).toBe(200)
    expect(idp.hits).toBe(1)
    idp.mode = 'fail'
    await sleep(COOLDOWN_MS + 100) // so that an unknown kid may ask the IdP again
    const started = Date.now()
    for (let i = 0; i < 50; i++) {
      expectProblem(await issue(app.app, bad), 401, 'unauthorized')
      expect((await issue(app.app, good)).status).toBe(200)
    }
    const fetches = idp.hits - 1
    expect(fetches).toBeGreaterThanOrEqual(1)
    expect(fetches).toBeLessThanOrEqual(allowedFetches(Date.now() - started))
    // 401s log at debug, 200s not at all: no error line, and at most a warning per failed fetch.
    const levels = app.logs().map((line) => line.level as number)
    expect(levels.filter((level) => level >= 50)).toEqual([])
    expect(levels.filter((level) => level === 40).length).toBeLessThanOrEqual(fetches)
  })

  test('no key set ever fetched and the IdP answering 500: every JWT caller 503, at most one fetch per cooldown, concurrent requests sharing it', async () => {
    idp.mode = 'fail'
    const app = buildApp({ env: env() })
    const started = Date.now()
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => issue(app.app, i % 2 === 0 ? good : bad)),
    )
    for (const res of answers) expectProblem(res, 503, 'auth_unavailable')
    // and one after another, as a client retrying would
    for (let i = 0; i < 50; i++) {
      expectProblem(await issue(app.app, bad), 503, 'auth_unavailable')
      expectProblem(await issue(app.app, good), 503, 'auth_unavailable')
    }
    expect(idp.hits).toBeGreaterThanOrEqual(1)
    expect(idp.hits).toBeLessThanOrEqual(allowedFetches(Date.now() - started))
  })

  test('a reload during an outage keeps the key set: callers that worked keep working, with no fetch', async () => {
    const app = buildApp({ env: env() })
    expect((await issue(app.app, good)).status).toBe(200)
    idp.mode = 'fail'
    const next = app.reload()
    expect(next).not.toBe(app.config)
    for (let i = 0; i < 10; i++) expect((await issue(app.app, good)).status).toBe(200)
    expect(idp.hits).toBe(1)
  })

  test('the IdP back after an outage: callers refused with 503 get through after the cooldown', async () => {
    idp.mode = 'fail'
    const app = buildApp({ env: env() })
    expectProblem(await issue(app.app, good), 503, 'auth_unavailable')
    idp.mode = 'serve'
    await sleep(COOLDOWN_MS + 100)
    expect((await issue(app.app, good)).status).toBe(200)
    expect(idp.hits).toBe(2)
  })
})

describe('through the authenticator (a moved clock, a 30 s cooldown, logs captured)', () => {
  const COOLDOWN_MS = 30_000
  let at: number
  let logLines: string[]
  let authenticate: ReturnType<typeof createAuthenticator>

  beforeEach(() => {
    at = Date.now()
    logLines = []
    const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) })
    authenticate = createAuthenticator({ logger, now: () => at })
  })

  /** A Config as the service loads it, on `url`, with USERSIG_JWKS_MAX_STALE_SECONDS if given. */
  function configFor(url: string, maxStaleSeconds?: number, cooldown = '30'): Config {
    const config = loadConfig({
      NODE_ENV: 'test',
      USERSIG_APPS: JSON.stringify(USERSIG_APPS),
      USERSIG_CLIENTS: JSON.stringify(USERSIG_CLIENTS),
      ...jwksEnv(url, { USERSIG_JWKS_COOLDOWN_SECONDS: cooldown, ...LONG_LIVED }),
    })
    if (maxStaleSeconds === undefined) return config
    const jwt: JwtConfig = {
      ...(config.policy.jwt as JwtConfig),
      jwksMaxStaleSeconds: maxStaleSeconds,
    }
    return { ...config, policy: { ...config.policy, jwt } }
  }

  /** The caller's id, or the error code it was refused with. */
  async function outcome(config: Config, bearer: string): Promise<string> {
    try {
      return (await authenticate(config, `Bearer ${bearer}`)).id
    } catch (error) {
      if (error instanceof ServiceError) return error.code
      throw error
    }
  }
  const outcomes = async (config: Config, bearers: readonly string[]) =>
    Promise.all(bearers.map((bearer) => outcome(config, bearer)))
  const flood = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? good : bad))
  const expectFlood = (results: string[], goodOutcome: string, badOutcome: string) =>
    expect(results).toEqual(
      flood(results.length).map((t) => (t === good ? goodOutcome : badOutcome)),
    )

  const logs = () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>)
  /** The key set's lines about failed fetches. */
  const failureLines = () => logs().filter((line) => line.code === 'auth_unavailable')

  test('an unknown kid with a fresh key set: 401 without a fetch within the cooldown; after it, one fetch for any number of them', async () => {
    const config = configFor(idp.url)
    expect(await outcome(config, good)).toBe('chat-backend')
    expect(await outcomes(config, Array(20).fill(bad))).toEqual(Array(20).fill('unauthorized'))
    expect(idp.hits).toBe(1)
    at += COOLDOWN_MS
    expect(await outcomes(config, Array(20).fill(bad))).toEqual(Array(20).fill('unauthorized'))
    expect(idp.hits).toBe(2)
    // The IdP publishes a new key: taken up at the first unknown kid after the cooldown.
    const k2 = await keyPair('k2', 'ES256')
    const rotated = await signJwt(k2.privateKey, { alg: 'ES256', kid: 'k2' })
    idp.keys = [k1.jwk, k2.jwk]
    expect(await outcome(config, rotated)).toBe('unauthorized')
    at += COOLDOWN_MS
    expect(await outcome(config, rotated)).toBe('chat-backend')
    expect(idp.hits).toBe(3)
  })

  test('the IdP answering 500: the last good set verifies past its refresh age; one fetch and one warn line per cooldown, no stack, no token', async () => {
    const config = configFor(idp.url)
    expect(await outcome(config, good)).toBe('chat-backend')
    idp.mode = 'fail'
    at += JWKS_CACHE_MAX_AGE_MS + 1000 // due for a refresh
    // The unknown kids wait for the refetch, so it is over when they are answered.
    expectFlood(await outcomes(config, flood(100)), 'chat-backend', 'unauthorized')
    expect(idp.hits).toBe(2)
    expectFlood(await outcomes(config, flood(100)), 'chat-backend', 'unauthorized')
    expect(idp.hits).toBe(2)
    at += COOLDOWN_MS
    expectFlood(await outcomes(config, flood(100)), 'chat-backend', 'unauthorized')
    expect(idp.hits).toBe(3)

    const lines = failureLines()
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({
      level: 40,
      reason: 'HTTP 500',
      jwksUrl: idp.url,
      keySetAgeSeconds: (JWKS_CACHE_MAX_AGE_MS + 1000) / 1000,
      msg: 'JWKS fetch failed; verifying with the last good key set',
    })
    expect(lines[1]).toMatchObject({ level: 40, reason: 'HTTP 500' })
    for (const line of logLines) {
      expect(line).not.toContain('stack')
      expect(line).not.toContain(good.split('.')[2])
      expect(line).not.toContain(bad.split('.')[2])
    }
  })

  test('past USERSIG_JWKS_MAX_STALE_SECONDS: 503 auth_unavailable, still one fetch per cooldown, one error line each; then the IdP recovers', async () => {
    const config = configFor(idp.url, 3600)
    expect(await outcome(config, good)).toBe('chat-backend')
    idp.mode = 'fail'
    at += 3600_000 - 1000 // within the max stale age: still verified
    expect(await outcome(config, good)).toBe('chat-backend')
    await until(() => failureLines().length === 1, 'the failed refetch')
    at += 2000 // now past it, and within the cooldown of that failed fetch
    expectFlood(await outcomes(config, flood(50)), 'auth_unavailable', 'auth_unavailable')
    expect(idp.hits).toBe(2)
    at += COOLDOWN_MS
    expectFlood(await outcomes(config, flood(50)), 'auth_unavailable', 'auth_unavailable')
    expect(idp.hits).toBe(3)
    expect(failureLines().map((line) => [line.level, line.msg])).toEqual([
      [40, 'JWKS fetch failed; verifying with the last good key set'],
      [50, 'JWKS fetch failed; JWT callers are refused until one succeeds'],
    ])

    idp.mode = 'serve'
    expect(await outcome(config, good)).toBe('auth_unavailable') // the cooldown holds
    expect(idp.hits).toBe(3)
    at += COOLDOWN_MS
    expectFlood(await outcomes(config, flood(50)), 'chat-backend', 'unauthorized')
    expect(idp.hits).toBe(4)
    expect(logs().filter((line) => line.msg === 'JWKS fetched again')).toHaveLength(1)
  })

  test('a max stale age of 0: a set due for a refresh is not used while the IdP fails; the default is a day', async () => {
    const strict = configFor(idp.url, 0)
    const byDefault = configFor(idp.url) // the same URL: the same key set
    expect(await outcome(strict, good)).toBe('chat-backend')
    idp.mode = 'fail'
    at += JWKS_CACHE_MAX_AGE_MS
    expect(await outcome(strict, good)).toBe('auth_unavailable')
    expect(await outcome(byDefault, good)).toBe('chat-backend')
    at += 86_400_000 - JWKS_CACHE_MAX_AGE_MS
    expect(await outcome(byDefault, good)).toBe('chat-backend')
    at += 1000
    expect(await outcome(byDefault, good)).toBe('auth_unavailable')
  })

  test('never fetched and the IdP failing: 503 for all, one fetch per cooldown shared by concurrent requests, one error line per fetch', async () => {
    idp.mode = 'fail'
    const config = configFor(idp.url)
    expectFlood(await outcomes(config, flood(100)), 'auth_unavailable', 'auth_unavailable')
    expect(idp.hits).toBe(1)
    for (const bearer of flood(50)) expect(await outcome(config, bearer)).toBe('auth_unavailable')
    expect(idp.hits).toBe(1)
    at += COOLDOWN_MS
    expectFlood(await outcomes(config, flood(100)), 'auth_unavailable', 'auth_unavailable')
    expect(idp.hits).toBe(2)
    expect(failureLines()).toEqual([
      expect.objectContaining({ level: 50, reason: 'HTTP 500', keySetAgeSeconds: null }),
      expect.objectContaining({ level: 50, reason: 'HTTP 500', keySetAgeSeconds: null }),
    ])
  })

  test('a reload keeps the key set by URL: a new Config (even with another cooldown) verifies during the outage; another URL does not share it', async () => {
    expect(await outcome(configFor(idp.url), good)).toBe('chat-backend')
    idp.mode = 'fail'
    const reloaded = configFor(idp.url)
    expect(await outcome(reloaded, good)).toBe('chat-backend')
    expect(await outcome(configFor(idp.url, undefined, '60'), good)).toBe('chat-backend')
    expect(idp.hits).toBe(1)
    at += JWKS_CACHE_MAX_AGE_MS
    expect(await outcome(reloaded, good)).toBe('chat-backend')
    await until(() => failureLines().length === 1, 'the failed refetch')
    expect(idp.hits).toBe(2)

    const other = await startIdp([k1.jwk])
    try {
      other.mode = 'fail'
      expect(await outcome(configFor(other.url), good)).toBe('auth_unavailable')
      expect(other.hits).toBe(1)
    } finally {
      other.close()
    }
  })

  test('the IdP hanging: callers with a usable set do not wait for it; an unknown kid waits at most the fetch timeout, then 401', async () => {
    const config = configFor(idp.url)
    expect(await outcome(config, good)).toBe('chat-backend')
    idp.mode = 'hang'
    at += JWKS_CACHE_MAX_AGE_MS
    expect(await outcome(config, good)).toBe('chat-backend')
    await until(() => idp.open === 1, 'the refetch to reach the IdP')
    // Answered while the refetch is still hanging (it gives up only after 3 s).
    expect(await outcome(config, good)).toBe('chat-backend')
    expect(idp.open).toBe(1)
    const started = Date.now()
    expect(await outcome(config, bad)).toBe('unauthorized')
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(idp.hits).toBe(2)
    expect(failureLines()).toEqual([
      expect.objectContaining({ level: 40, reason: 'no answer within 3000 ms' }),
    ])
    await until(() => idp.open === 0, 'the hung request to be closed by the client')
  })

  test('a clock set back an hour: the set still verifies, and a refetch is not held off for the hour', async () => {
    const config = configFor(idp.url)
    expect(await outcome(config, early)).toBe('chat-backend')
    idp.mode = 'fail'
    at -= 3600_000
    expect(await outcome(config, early)).toBe('chat-backend')
    await until(() => failureLines().length === 1, 'the refetch')
    expect(idp.hits).toBe(2)
    expect(await outcome(config, early)).toBe('chat-backend')
    expect(idp.hits).toBe(2) // and the cooldown holds from the new time on
  })

  test('auth_unavailable says when to retry: Retry-After is the time until the next fetch may start, at least 1 s', async () => {
    const retryAfterOf = async (config: Config) => {
      const error: unknown = await Promise.resolve(authenticate(config, `Bearer ${good}`)).catch(
        (e: unknown) => e,
      )
      expect(error).toMatchObject({ code: 'auth_unavailable' })
      return (error as ServiceError).headers?.['Retry-After']
    }
    idp.mode = 'fail'
    const config = configFor(idp.url)
    expect(await retryAfterOf(config)).toBe('30') // the fetch just failed: a whole cooldown
    at += 12_300
    expect(await retryAfterOf(config)).toBe('18') // 17.7 s left, rounded up
    at += 17_000
    expect(await retryAfterOf(config)).toBe('1') // 0.7 s left
    expect(idp.hits).toBe(1)
    at += 700 // the cooldown is over: the next request fetches (and fails) again
    expect(await retryAfterOf(config)).toBe('30')
    expect(idp.hits).toBe(2)
  })

  test.each([
    ['not-jwks', 'not a JSON Web Key Set'],
    ['oversized', 'larger than 262144 bytes'],
  ] as const)('an IdP answering 200 %s: a failed fetch like any other', async (mode, reason) => {
    idp.mode = mode
    const config = configFor(idp.url)
    expect(await outcome(config, good)).toBe('auth_unavailable')
    expect(failureLines()).toEqual([expect.objectContaining({ level: 50, reason })])
    idp.mode = 'serve'
    at += COOLDOWN_MS
    expect(await outcome(config, good)).toBe('chat-backend')
  })
})
