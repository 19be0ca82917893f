// The retry contract: openapi.yaml declares Retry-After on every 429 and 503 and a 500 on every
// operation, and every 429 and 503 the service can produce carries Retry-After with a positive
// whole number of seconds: the rate limit on each rate-limited operation, a batch refused whole,
// auth_unavailable on each operation that authenticates, and readiness while draining.
import { readFileSync } from 'node:fs'
import request from 'supertest'
import { parse } from 'yaml'
import { DEFAULT_RETRY } from '../../src/client/options.js'
import { ERRORS } from '../../src/errors.js'
import { APP_A, buildApp, expectProblem, post, TOKENS, USERSIG_CLIENTS } from '../helpers/http.js'
import { jwksEnv, keyPair, signJwt, startIdp, type Idp } from '../helpers/idp.js'

interface Response {
  readonly $ref?: string
  readonly headers?: Record<string, { $ref?: string }>
}
interface Operation {
  readonly operationId: string
  readonly responses: Record<string, Response>
}
const spec = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>
  components: {
    responses: Record<string, Response>
    headers: Record<string, { required?: boolean; schema?: unknown }>
  }
}
const operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
)
const resolve = (response: Response): Response =>
  response.$ref === undefined
    ? response
    : (spec.components.responses[response.$ref.split('/').pop() as string] as Response)
const declaring = (status: string) => operations.filter(({ op }) => status in op.responses)

/** Retry-After is delta-seconds (RFC 9110), and the service never says 0. */
function expectRetryAfter(res: request.Response, atMost: number): number {
  const value = res.headers['retry-after'] as string | undefined
  expect(value).toMatch(/^[1-9][0-9]*$/)
  expect(Number(value)).toBeLessThanOrEqual(atMost)
  return Number(value)
}

/** A body each operation accepts from a caller granted APP_A. */
const VALID_BODY: Record<string, unknown> = {
  issueUserSig: { sdkAppId: APP_A, userId: 'alice' },
  issueUserSigBatch: { sdkAppId: APP_A, userIds: ['alice'] },
  verifyUserSig: { sdkAppId: APP_A, userId: 'alice', userSig: 'eAEB' },
  issuePrivateMapKey: { sdkAppId: APP_A, userId: 'alice', roomId: 1, privileges: 2 },
}

describe('openapi.yaml', () => {
  test('every 429 and 503 declares a required Retry-After of at least 1 second', () => {
    expect(spec.components.headers['Retry-After']).toMatchObject({
      required: true,
      schema: { type: 'integer', minimum: 1 },
    })
    const answers = [...declaring('429'), ...declaring('503')]
    expect(answers.map(({ op }) => op.operationId).sort()).toEqual(
      [...Object.keys(VALID_BODY), ...Object.keys(VALID_BODY), 'readiness'].sort(),
    )
    for (const { op } of answers) {
      for (const status of ['429', '503'].filter((s) => s in op.responses)) {
        const headers = resolve(op.responses[status] as Response).headers
        expect({ op: op.operationId, status, retryAfter: headers?.['Retry-After'] }).toEqual({
          op: op.operationId,
          status,
          retryAfter: { $ref: '#/components/headers/Retry-After' },
        })
      }
    }
  })

  test('every operation declares the 500 problem', () => {
    for (const { op } of operations)
      expect([op.operationId, op.responses['500']]).toEqual([
        op.operationId,
        { $ref: '#/components/responses/InternalError' },
      ])
  })
})

test("docs/api.md's retry table has every error code, and says retry exactly where the typed client does", () => {
  const page = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8')
  const section = page.slice(page.indexOf('\n## Retries and timeouts\n'))
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('|').map((cell) => cell.trim().replace(/`/g, '')))
    .map((cells) => [cells[1], cells[2], cells[3]])
  expect(rows).toEqual(
    Object.entries(ERRORS).map(([code, { status }]) => [
      code,
      String(status),
      (DEFAULT_RETRY.statuses as readonly number[]).includes(status) ? 'yes' : 'no',
    ]),
  )
})

describe('every 429 the service can produce carries Retry-After', () => {
  const limited = (rateLimitPerMinute: number) =>
    buildApp({
      env: {
        USERSIG_DEBUG_ENDPOINTS: 'true',
        USERSIG_CLIENTS: JSON.stringify(
          USERSIG_CLIENTS.map((client) =>
            client.id === 'chat-backend' ? { ...client, rateLimitPerMinute } : client,
          ),
        ),
      },
    })

  test.each(declaring('429').map(({ method, path, op }) => [op.operationId, method, path]))(
    '%s (%s %s): over the limit, 429 with Retry-After within the minute',
    async (operationId, method, path) => {
      expect(method).toBe('POST')
      const { app } = limited(1)
      const body = VALID_BODY[operationId]
      expect((await post(app, path, TOKENS.chat, body)).status).toBe(200)
      const refused = await post(app, path, TOKENS.chat, body)
      expectProblem(refused, 429, 'rate_limited')
      expectRetryAfter(refused, 60)
    },
  )

  test('a batch refused whole: 429 with Retry-After, before any of its tickets is taken', async () => {
    const { app } = limited(5)
    const refused = await post(app, '/usersig/batch', TOKENS.chat, {
      sdkAppId: APP_A,
      userIds: ['a', 'b', 'c', 'd', 'e', 'f'],
    })
    expectProblem(refused, 429, 'rate_limited')
    expectRetryAfter(refused, 60)
    expect(refused.headers.ratelimit).toMatch(/^"5-in-1min"; r=5; t=\d+$/)
  })
})

describe('every 503 the service can produce carries Retry-After', () => {
  let idp: Idp
  let jwt: string
  beforeAll(async () => {
    const key = await keyPair('k1')
    jwt = await signJwt(key.privateKey, { alg: 'RS256', kid: 'k1' })
    idp = await startIdp([key.jwk])
    idp.mode = 'fail'
  })
  afterAll(() => idp.close())

  test.each(
    declaring('503')
      .filter(({ op }) => op.operationId !== 'readiness')
      .map(({ path, op }) => [op.operationId, path]),
  )(
    '%s (%s): auth_unavailable, Retry-After within the JWKS cooldown',
    async (operationId, path) => {
      const { app } = buildApp({
        env: jwksEnv(idp.url, { USERSIG_DEBUG_ENDPOINTS: 'true' }),
      })
      const refused = await post(app, path, jwt, VALID_BODY[operationId])
      expectProblem(refused, 503, 'auth_unavailable')
      // The failed fetch has just started the 30 s cooldown (USERSIG_JWKS_COOLDOWN_SECONDS).
      expect(expectRetryAfter(refused, 30)).toBeGreaterThanOrEqual(20)
    },
  )

  test.each([
    ['0', '1'],
    ['4500', '5'],
  ])(
    'readiness while draining (SHUTDOWN_DELAY_MS=%s): 503 with Retry-After %s',
    async (delay, expected) => {
      const { app } = buildApp({
        env: { SHUTDOWN_DELAY_MS: delay },
        lifecycle: { shuttingDown: true },
      })
      const res = await request(app).get('/readyz')
      expect(res.status).toBe(503)
      expect(res.body).toMatchObject({ status: 'shutting_down' })
      expect(expectRetryAfter(res, 60)).toBe(Number(expected))
      // Ready: no Retry-After.
      const ready = await request(buildApp().app).get('/readyz')
      expect([ready.status, ready.headers['retry-after']]).toEqual([200, undefined])
    },
  )
})
