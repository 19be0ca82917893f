// The front door: one pipeline for every route. A route added the way a contributor adds one (an
// operation in openapi.yaml, a handler in the route table) gets every cross-cutting concern; the
// route table and the contract cannot drift; absolute-form targets and fragments route like their
// origin-form path; one rule for case and trailing slashes.
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import request from 'supertest'
import { parse, stringify } from 'yaml'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/index.js'
import { LiveConfig } from '../../src/live-config.js'
import { createLogger } from '../../src/logger.js'
import { createMetrics } from '../../src/metrics.js'
import { createAuthenticator } from '../../src/http/authenticate.js'
import { compileContract, OPENAPI_PATH } from '../../src/http/contract.js'
import { createRateLimiter } from '../../src/http/rate-limit.js'
import { memoryStore } from '../../src/rate-limit/index.js'
import { createRoutes } from '../../src/http/routes.js'
import { createFrontDoor, requestTarget, type FrontDoorRoute } from '../../src/http/server.js'
import { createStaticTrees } from '../../src/http/static-trees.js'
import {
  APP_A,
  buildApp,
  expectInvalidRequest,
  expectProblem,
  expectUnauthorized,
  expectUnknownQuery,
  NOW,
  TOKENS,
  USERSIG_APPS,
  USERSIG_CLIENTS,
} from '../helpers/http.js'
import { rawExchange } from '../helpers/raw-http.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** openapi.yaml plus two operations, as a contributor would write them. */
function contractWithNewOperations(): string {
  const spec = parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
    paths: Record<string, unknown>
  }
  const json = (schema: object) => ({ content: { 'application/json': { schema } } })
  const problem = (name: string) => ({ $ref: `#/components/responses/${name}` })
  spec.paths['/usersig/echo'] = {
    post: {
      operationId: 'echo',
      summary: 'Echo (test)',
      requestBody: {
        required: true,
        ...json({
          type: 'object',
          additionalProperties: false,
          required: ['say'],
          properties: { say: { type: 'string', maxLength: 40 } },
        }),
      },
      responses: {
        '200': {
          description: 'The echo.',
          ...json({
            type: 'object',
            additionalProperties: false,
            required: ['said', 'by'],
            properties: { said: { type: 'string' }, by: { type: 'string' } },
          }),
        },
        '400': problem('BadRequest'),
        '401': problem('Unauthorized'),
        '413': problem('PayloadTooLarge'),
        '415': problem('UnsupportedMediaType'),
        '429': problem('RateLimited'),
        '503': problem('AuthUnavailable'),
      },
    },
  }
  spec.paths['/version'] = {
    get: {
      operationId: 'version',
      summary: 'Version (test)',
      security: [],
      responses: {
        '200': {
          description: 'The version.',
          ...json({
            type: 'object',
            additionalProperties: false,
            required: ['version'],
            properties: { version: { type: 'string' } },
          }),
        },
        '400': problem('BadRequest'),
      },
    },
  }
  return stringify(spec)
}

function buildExtended(
  routes?: (defaults: Record<string, FrontDoorRoute>) => Record<string, FrontDoorRoute>,
) {
  const config = loadConfig({
    NODE_ENV: 'test',
    USERSIG_APPS: JSON.stringify(USERSIG_APPS),
    USERSIG_CLIENTS: JSON.stringify(USERSIG_CLIENTS),
  })
  const live = new LiveConfig(config)
  const metrics = createMetrics(live, { defaults: false })
  const lines: string[] = []
  const logger = createLogger('debug', { write: (line: string) => void lines.push(line) })
  const lifecycle = { shuttingDown: false }
  const counts = memoryStore()
  const defaults = createRoutes({
    live,
    lifecycle,
    counts,
    logger,
    metrics,
    clock: () => NOW,
    metricsText: () => metrics.registry.metrics(),
  }) as unknown as Record<string, FrontDoorRoute>
  const echo: FrontDoorRoute = {
    auth: 'bearer',
    bodyLimit: 64,
    handler: ({ caller, body }) => {
      const { say } = body as { say: string }
      const by = (caller as { id: string }).id
      // 'leak' answers a member openapi.yaml does not have: response validation must catch it
      return {
        status: 200,
        json: say === 'leak' ? { said: say, by, secret: 'x' } : { said: say, by },
      }
    },
  }
  const version: FrontDoorRoute = {
    auth: 'none',
    handler: () => ({ status: 200, json: { version: '1.2.3' } }),
  }
  const table = routes?.(defaults) ?? { ...defaults, echo, version }
  const app = createFrontDoor({
    contract: compileContract(contractWithNewOperations()),
    routes: table,
    mounts: createStaticTrees(),
    live,
    lifecycle,
    logger,
    metrics,
    authenticate: createAuthenticator({ logger }),
    rateLimit: createRateLimiter(counts),
    validateResponses: true,
  })
  return {
    app,
    lifecycle,
    metrics,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  }
}

describe('a route added the way a contributor adds one gets every cross-cutting concern', () => {
  const built = buildExtended()
  const { app } = built
  const echo = (token: string | null, body: unknown) => {
    const req = request(app).post('/usersig/echo')
    if (token !== null) req.set('Authorization', `Bearer ${token}`)
    return req.send(body as object)
  }

  test('it is served, typed input in, JSON out, with the caller it authenticated', async () => {
    const res = await echo(TOKENS.chat, { say: 'hello' })

    expect(res.status).toBe(200)
    expect(res.body).toEqual({ said: 'hello', by: 'chat-backend' })
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(app.routes).toEqual(expect.arrayContaining(['POST /usersig/echo', 'GET /version']))
  })

  test('security headers, a request id, no-store and the rate limit headers', async () => {
    const res = await echo(TOKENS.chat, { say: 'hello' })

    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    )
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers['x-request-id']).toMatch(UUID)
    expect(res.headers['ratelimit']).toMatch(/^"60000-in-1min"; r=\d+; t=\d+$/)
  })

  test('authentication first: no token is 401, whatever the method or path below it', async () => {
    expectUnauthorized(await echo(null, { say: 'hello' }))
    expectUnauthorized(await request(app).get('/usersig/echo'))
    expectUnauthorized(await request(app).post('/usersig/echo/more').send({}))
  })

  test('405 with Allow from the contract, 404 for what is not there', async () => {
    const res = await request(app)
      .get('/usersig/echo')
      .set('Authorization', `Bearer ${TOKENS.chat}`)
    expectProblem(res, 405, 'method_not_allowed')
    expect(res.headers['allow']).toBe('POST')
    expectProblem(await request(app).post('/version').send({}), 405, 'method_not_allowed')
    expect((await request(app).delete('/version')).headers['allow']).toBe('GET, HEAD')
    expectProblem(await request(app).get('/versions'), 404, 'not_found')
  })

  test('its body: media type, its own limit, strict JSON, the contract, no unknown query', async () => {
    const auth = `Bearer ${TOKENS.chat}`
    const raw = (type: string, text: string) =>
      request(app).post('/usersig/echo').set('Authorization', auth).type(type).send(text)

    expectProblem(await raw('text/plain', '{"say":"x"}'), 415, 'unsupported_media_type')
    expectProblem(
      await raw('application/json', JSON.stringify({ say: 'x'.repeat(70) })),
      413,
      'payload_too_large',
    )
    expectProblem(await raw('application/json', '{"say":'), 400, 'malformed_json')
    expectProblem(await raw('application/json', '"say"'), 400, 'malformed_json')
    expectInvalidRequest(await echo(TOKENS.chat, { say: 1 }), ['/say'])
    expectInvalidRequest(await echo(TOKENS.chat, { say: 'x', more: 1 }), ['/more'])
    expectUnknownQuery(
      await request(app)
        .post('/usersig/echo?debug=1')
        .set('Authorization', auth)
        .send({ say: 'x' }),
      ['debug'],
    )
  })

  test('its answers are checked against the contract (a member it does not document is a 500)', async () => {
    const res = await echo(TOKENS.chat, { say: 'leak' })

    expectProblem(res, 500, 'internal_error')
    expect(res.text).not.toContain('secret')
  })

  test('a public operation: no token needed, HEAD goes with GET, its query is checked too', async () => {
    const res = await request(app).get('/version')
    expect(res.body).toEqual({ version: '1.2.3' })
    const head = await request(app).head('/version')
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe(String(res.text.length))
    expectUnknownQuery(await request(app).get('/version?x=1&y&x=2'), ['x', 'y'])
  })

  test('request metrics by route template, and an access log line with the request id', async () => {
    const res = await echo(TOKENS.chat, { say: 'counted' })
    await echo(null, { say: 'refused' })

    const text = await built.metrics.registry.metrics()
    expect(text).toMatch(
      /http_requests_total\{method="POST",route="\/usersig\/echo",status="200"\} \d+/,
    )
    expect(text).toMatch(
      /http_requests_total\{method="POST",route="\/usersig\/echo",status="401"\} \d+/,
    )
    expect(built.logs()).toContainEqual(
      expect.objectContaining({
        msg: 'request',
        requestId: res.headers['x-request-id'],
        method: 'POST',
        route: '/usersig/echo',
        status: 200,
      }),
    )
  })

  test('while draining, the answer asks the client to reconnect elsewhere', async () => {
    built.lifecycle.shuttingDown = true
    try {
      const res = await echo(TOKENS.chat, { say: 'bye' })
      expect(res.status).toBe(200)
      expect(res.headers['connection']).toBe('close')
    } finally {
      built.lifecycle.shuttingDown = false
    }
  })
})

describe('the route table and openapi.yaml cannot drift', () => {
  test('an operation without a route stops the service at start, naming it', () => {
    expect(() =>
      buildExtended((defaults) => {
        const rest = Object.fromEntries(Object.entries(defaults).filter(([id]) => id !== 'metrics'))
        return {
          ...rest,
          echo: defaults.liveness as FrontDoorRoute,
          version: defaults.liveness as FrontDoorRoute,
        }
      }),
    ).toThrow(/openapi\.yaml has metrics \(GET \/metrics\), the route table has not/)
  })

  test('a route without an operation, or with the wrong auth, too', () => {
    expect(() =>
      buildExtended((defaults) => ({
        ...defaults,
        echo: { auth: 'none', handler: () => ({ status: 200, json: {} }) },
        version: defaults.liveness as FrontDoorRoute,
        extra: defaults.liveness as FrontDoorRoute,
      })),
    ).toThrow(
      /echo: auth 'none' disagrees with openapi.yaml's security[\s\S]*the route table has extra, openapi.yaml has not/,
    )
  })
})

describe('request targets: absolute form and fragments route like their path', () => {
  let server: Server
  let port: number
  beforeAll(async () => {
    server = createServer(buildApp().app)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise((resolve) => server.close(resolve)))

  const exchange = async (line: string, token: string | null, body?: string) => {
    const x = await rawExchange(
      port,
      `${line} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        (token === null ? '' : `Authorization: Bearer ${token}\r\n`) +
        (body === undefined
          ? ''
          : `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`) +
        `Connection: close\r\n\r\n${body ?? ''}`,
      // Not half-closed: Node's server drops an answer still being made once the client sends FIN.
      { end: false, responses: 1 },
    )
    return x.responses[0]
  }
  const issue = JSON.stringify({ sdkAppId: APP_A, userId: 'alice' })

  test.each([
    'POST http://127.0.0.1/usersig',
    'POST HTTP://EXAMPLE.COM:8080/usersig',
    'POST /usersig#fragment',
    'POST /usersig?#',
    'POST http://127.0.0.1/usersig#x?y',
  ])('%s: 401 without a token, 200 with one', async (line) => {
    expect((await exchange(line, null, issue))?.status).toBe(401)
    const res = await exchange(line, TOKENS.chat, issue)
    expect(res?.status).toBe(200)
    expect(JSON.parse(res?.body ?? '{}')).toMatchObject({ userId: 'alice' })
  })

  test('GET http://x/usersig/verify asks for a token first, then says 405', async () => {
    expect((await exchange('GET http://x/usersig/verify', null))?.status).toBe(401)
    const res = await exchange('GET http://x/usersig/verify', TOKENS.chat)
    expect(res?.status).toBe(405)
    expect(res?.headers['allow']).toBe('POST')
  })

  test('public routes and static trees in absolute form too', async () => {
    expect((await exchange('GET http://x/healthz', null))?.status).toBe(200)
    expect((await exchange('GET http://x/healthz#top', null))?.status).toBe(200)
    expect((await exchange('GET http://x/debug/app.js', null))?.status).toBe(200)
  })

  test('a target that is neither a path nor an absolute URL is a 400', async () => {
    expect((await exchange('OPTIONS *', null))?.status).toBe(400)
    expect((await exchange('GET usersig', null))?.status).toBe(400)
  })

  test.each([
    ['/usersig', '/usersig', ''],
    ['/usersig?a=1#f', '/usersig', 'a=1'],
    ['http://h:1/usersig/batch?x', '/usersig/batch', 'x'],
    ['https://h', '/', ''],
    ['/a#b?c', '/a', ''],
    ['/%2e%2e/x', '/%2e%2e/x', ''],
  ])('requestTarget(%s) is %s with query %j', (url, path, query) => {
    expect(requestTarget(url)).toEqual({ path, query })
  })
})

describe('one rule for paths: case-insensitive, exact, a trailing slash is another path', () => {
  const { app } = buildApp()

  test.each(['/HEALTHZ', '/Healthz'])('%s is /healthz', async (path) => {
    expect((await request(app).get(path)).body).toEqual({ status: 'ok' })
  })

  test.each(['/healthz/', '/readyz/', '/openapi.yaml/'])('%s is not found', async (path) => {
    expectProblem(await request(app).get(path), 404, 'not_found')
  })

  test('the same for ticket routes, behind the token', async () => {
    const issue = { sdkAppId: APP_A, userId: 'alice' }
    expect(
      (
        await request(app)
          .post('/UserSig')
          .set('Authorization', `Bearer ${TOKENS.chat}`)
          .send(issue)
      ).status,
    ).toBe(200)
    expectUnauthorized(await request(app).post('/usersig/').send(issue))
    expectProblem(
      await request(app)
        .post('/usersig/')
        .set('Authorization', `Bearer ${TOKENS.chat}`)
        .send(issue),
      404,
      'not_found',
    )
  })

  test('the static trees are trees: /docs redirects to /docs/, files below it are served', async () => {
    expect((await request(app).get('/docs')).status).toBe(301)
    expect((await request(app).get('/DOCS/swagger-ui.css')).status).toBe(200)
  })
})

describe('unknown query parameters', () => {
  const { app } = buildApp()
  const issue = { sdkAppId: APP_A, userId: 'alice' }
  const withToken = (path: string) =>
    request(app).post(path).set('Authorization', `Bearer ${TOKENS.chat}`).send(issue)

  test('3500 of them: the 400 names the first 3, says how many, and stays small', async () => {
    // as in the report (3500 names), here in a ~16 KB request target, just under Node's header limit
    const names = Array.from({ length: 3500 }, (_, i) => `q${i.toString(36)}`)
    const query = names.join('&')
    expect(query.length).toBeGreaterThan(13_000)
    const res = await withToken(`/usersig?${query}`)

    expectUnknownQuery(res, ['q0', 'q1', 'q2'], 3500)
    expect(res.text.length).toBeLessThan(1024)
  })

  test('a long name is cut to 64 characters; repeats count once', async () => {
    const long = 'n'.repeat(6000)
    const res = await withToken(`/usersig?${long}=1&${long}=2&debug`)

    expectUnknownQuery(res, [`${'n'.repeat(64)}...`, 'debug'])
    expect(res.text.length).toBeLessThan(1024)
  })

  test('however the request is made, the answer is under 1 KiB', async () => {
    // names of every length up to a long one, encoded or not, with and without values
    const names = Array.from({ length: 14 }, (_, i) => `%F0%9F%98%80${'x'.repeat(i * 80)}`)
    const res = await withToken(`/usersig?${names.join('=v&')}`)

    expect(res.status).toBe(400)
    expect((res.body as { errors: unknown[] }).errors).toHaveLength(3)
    expect(res.text.length).toBeLessThan(1024)
  })
})

test('createApp serves every operation of openapi.yaml and the two static trees', () => {
  const app = createApp({ config: loadConfig({}), logger: createLogger('silent') })
  const contract = compileContract()
  expect(app.routes).toEqual(
    [
      ...contract.operations.map((op) => `${op.method} ${op.path}`),
      'GET /debug/*',
      'GET /docs/*',
    ].sort(),
  )
})
