import { randomBytes } from 'node:crypto'
import {
  APP_A,
  buildApp,
  expectProblem,
  post,
  TOKENS,
  USERSIG_APPS,
  USERSIG_CLIENTS,
} from '../helpers/http.js'

const limited = randomBytes(24).toString('base64url')
/** The test app plus a caller "limited" (issue only) with its own per-minute limit. */
const withLimitedClient = (rateLimitPerMinute: number, env: Record<string, string> = {}) =>
  buildApp({
    env: {
      USERSIG_CLIENTS: JSON.stringify([
        ...USERSIG_CLIENTS,
        {
          id: 'limited',
          token: limited,
          apps: [APP_A],
          scopes: ['usersig:issue'],
          rateLimitPerMinute,
        },
      ]),
      ...env,
    },
  })
const { app } = withLimitedClient(5)
const issue = (token: string) => post(app, '/usersig', token, { sdkAppId: APP_A, userId: 'alice' })

test('a burst past the caller limit gets 429 with standard RateLimit headers; others are unaffected', async () => {
  for (let i = 0; i < 5; i++) {
    const ok = await issue(limited)
    expect(ok.status).toBe(200)
    expect(ok.headers['ratelimit-policy']).toMatch(/^"5-in-1min"; q=5; w=60; pk=:[A-Za-z0-9+/=]+:$/)
    expect(ok.headers.ratelimit).toMatch(new RegExp(`^"5-in-1min"; r=${4 - i}; t=\\d+`))
  }
  const refused = await issue(limited)
  expectProblem(refused, 429, 'rate_limited')
  expect(refused.headers.ratelimit).toMatch(/^"5-in-1min"; r=0; t=\d+/)
  // RFC 9110: when to come back, in seconds (the window's end)
  expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(0)
  expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60)
  // another caller, under the default limit, is not affected
  for (let i = 0; i < 10; i++) expect((await issue(TOKENS.chat)).status).toBe(200)
})

test('requests refused before authentication do not count against anyone', async () => {
  const other = buildApp({
    env: {
      USERSIG_RATE_LIMIT_PER_MINUTE: '2',
      USERSIG_APPS: JSON.stringify(USERSIG_APPS),
      USERSIG_CLIENTS: JSON.stringify(USERSIG_CLIENTS),
    },
  })
  for (let i = 0; i < 5; i++)
    expect((await post(other.app, '/usersig', 'x'.repeat(40), {})).status).toBe(401)
  expect(
    (await post(other.app, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId: 'a' })).status,
  ).toBe(200)
  expect(
    (await post(other.app, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId: 'a' })).status,
  ).toBe(200)
  expect(
    (await post(other.app, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId: 'a' })).status,
  ).toBe(429)
})

test('USERSIG_RATE_LIMIT_PER_MINUTE=0: no default limit, no RateLimit headers; a client limit still holds', async () => {
  const unlimited = withLimitedClient(1, { USERSIG_RATE_LIMIT_PER_MINUTE: '0' })
  const body = { sdkAppId: APP_A, userId: 'a' }
  for (let i = 0; i < 20; i++) {
    const res = await post(unlimited.app, '/usersig', TOKENS.chat, body)
    expect(res.status).toBe(200)
    expect(res.headers.ratelimit).toBeUndefined()
  }
  expect((await post(unlimited.app, '/usersig', limited, body)).status).toBe(200)
  expect((await post(unlimited.app, '/usersig', limited, body)).status).toBe(429)
})

describe('limits count tickets: a batch of N counts N, and is refused whole when they do not fit', () => {
  const batch = (built: ReturnType<typeof withLimitedClient>, n: number) =>
    post(built.app, '/usersig/batch', limited, {
      sdkAppId: APP_A,
      userIds: Array.from({ length: n }, (_, i) => `user-${i}`),
    })

  test('5 batches of 1000 under a limit of 5: each refused whole, none counted', async () => {
    const built = withLimitedClient(5)
    const results = []
    for (let i = 0; i < 5; i++) results.push(await batch(built, 1000))
    expect(results.map((r) => r.status)).toEqual([429, 429, 429, 429, 429])
    // refused whole: nothing was taken, so the whole allowance is still there
    const three = await batch(built, 3)
    expect(three.status).toBe(200)
    expect(three.body.issued).toBe(3)
    expect(three.headers.ratelimit).toMatch(/^"5-in-1min"; r=2; t=\d+/)
  })

  test('a batch that fits exactly is served; the next single ticket is then refused', async () => {
    const built = withLimitedClient(5)
    expect((await issueWith(built, limited)).status).toBe(200) // 1 of 5
    const four = await batch(built, 4)
    expect(four.status).toBe(200)
    expect(four.headers.ratelimit).toMatch(/^"5-in-1min"; r=0; t=\d+/)
    const refused = await issueWith(built, limited)
    expectProblem(refused, 429, 'rate_limited')
  })

  test('a batch over what is left is a 429 with the usual headers, and issues nothing', async () => {
    const built = withLimitedClient(5)
    expect((await batch(built, 3)).status).toBe(200) // 3 of 5
    const refused = await batch(built, 3)
    expectProblem(refused, 429, 'rate_limited')
    expect(refused.headers.ratelimit).toMatch(/^"5-in-1min"; r=2; t=\d+/)
    expect(refused.headers['ratelimit-policy']).toMatch(/^"5-in-1min"; q=5; w=60; pk=:/)
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60)
    expect(built.logs().filter((line) => line.audit === 'usersig.issued')).toHaveLength(1)
    // the two left are still there
    expect((await batch(built, 2)).status).toBe(200)
  })
})

const issueWith = (built: ReturnType<typeof withLimitedClient>, token: string) =>
  post(built.app, '/usersig', token, { sdkAppId: APP_A, userId: 'alice' })
