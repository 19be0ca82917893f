// Health, readiness, metrics, the served contract and docs; helmet headers and X-Request-Id on
// every response.
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { connect } from 'node:net'
import request from 'supertest'
import { parse } from 'yaml'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/logger.js'
import { signUserSig } from '../../src/usersig/index.js'
import {
  ALL_SECRETS,
  ALL_TOKENS,
  APP_A,
  APP_B,
  buildApp,
  expectProblem,
  expectUnauthorized,
  KEYS,
  NOW,
  post,
  SECRETS,
  TOKENS,
  USERSIG_APPS,
  USERSIG_CLIENTS,
} from '../helpers/http.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const fingerprint = (secret: string) =>
  createHash('sha256').update(secret).digest('hex').slice(0, 16)

describe('GET /healthz and /readyz', () => {
  // Each app's signing key and every key, in SDKAppID order (APP_A, then APP_B), without the SDKAppID.
  const APP_KEYS = [
    { primaryKeyId: '2026-11', keyIds: ['2026-11', '2026-05'] },
    { primaryKeyId: 'b-1', keyIds: ['b-1'] },
  ]

  test('liveness needs no token', async () => {
    const res = await request(buildApp().app).get('/healthz')

    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.body).toEqual({ status: 'ok' })
  })

  test("ready: generation, counts, key ids and each app's signing key, but no SDKAppID", async () => {
    const res = await request(buildApp().app).get('/readyz')

    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      status: 'ready',
      rateLimit: { store: 'memory', shared: true },
      generation: 1,
      apps: 2,
      keys: 3,
      keyIds: ['2026-05', '2026-11', 'b-1'],
      appKeys: APP_KEYS,
    })
    expect(res.text).not.toContain(String(APP_A))
  })

  test('503 shutting_down while the lifecycle says so, asking clients to reconnect elsewhere', async () => {
    const lifecycle = { shuttingDown: false }
    const { app } = buildApp({ lifecycle })
    expect((await request(app).get('/readyz')).status).toBe(200)

    lifecycle.shuttingDown = true
    const res = await request(app).get('/readyz')

    expect(res.status).toBe(503)
    expect(res.body).toEqual({
      status: 'shutting_down',
      rateLimit: { store: 'memory', shared: true },
      generation: 1,
      apps: 2,
      keys: 3,
      keyIds: ['2026-05', '2026-11', 'b-1'],
      appKeys: APP_KEYS,
    })
    expect(res.headers['connection']).toBe('close')
    // Liveness stays up: the process is draining, not dead.
    expect((await request(app).get('/healthz')).status).toBe(200)
  })

  test('a lifecycle that starts shutting down answers 503 at once', async () => {
    const { app } = buildApp({ lifecycle: { shuttingDown: true } })

    const res = await request(app).get('/readyz')
    expect(res.status).toBe(503)
    expect(res.body).toEqual({
      status: 'shutting_down',
      rateLimit: { store: 'memory', shared: true },
      generation: 1,
      apps: 2,
      keys: 3,
      keyIds: ['2026-05', '2026-11', 'b-1'],
      appKeys: APP_KEYS,
    })
  })
})

describe('GET /metrics', () => {
  test('Prometheus text: requests, tickets issued and verified, key info; no user ids, tickets or secrets', async () => {
    const { app } = buildApp()
    const issued = await post(app, '/usersig', TOKENS.chat, {
      sdkAppId: APP_A,
      userId: 'alice-metrics',
    })
    const pmk = await post(app, '/privatemapkey', TOKENS.chat, {
      sdkAppId: APP_A,
      userId: 'alice-metrics',
      roomId: 1,
      privileges: 1,
    })
    await post(app, '/usersig/verify', TOKENS.chat, {
      sdkAppId: APP_A,
      userId: 'alice-metrics',
      userSig: issued.body.userSig,
    })
    const expired = signUserSig(
      { sdkAppId: APP_A, userId: 'alice-metrics', expire: 300, now: NOW - 1000 },
      KEYS.aOld,
    )
    await post(app, '/usersig/verify', TOKENS.chat, {
      sdkAppId: APP_A,
      userId: 'alice-metrics',
      userSig: expired,
    })
    await post(app, '/usersig', null, { sdkAppId: APP_A, userId: 'alice-metrics' })
    await request(app).get('/nope')

    const res = await request(app).get('/metrics')

    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    const lines = res.text.split('\n')
    expect(lines).toEqual(
      expect.arrayContaining([
        '# TYPE http_requests_total counter',
        'http_requests_total{method="POST",route="/usersig",status="200"} 1',
        'http_requests_total{method="POST",route="/usersig/verify",status="200"} 2',
        'http_requests_total{method="POST",route="/privatemapkey",status="200"} 1',
        // A refused request counts under its route; a path no route has, as unmatched.
        'http_requests_total{method="POST",route="/usersig",status="401"} 1',
        'http_requests_total{method="GET",route="unmatched",status="404"} 1',
        `usersig_tickets_issued_total{kind="usersig",sdkappid="${APP_A}",key_id="2026-11"} 1`,
        `usersig_tickets_issued_total{kind="privatemapkey",sdkappid="${APP_A}",key_id="2026-11"} 1`,
        `usersig_tickets_verified_total{sdkappid="${APP_A}",outcome="valid"} 1`,
        `usersig_tickets_verified_total{sdkappid="${APP_A}",outcome="ticket_expired"} 1`,
      ]),
    )
    expect(lines.filter((line) => line.startsWith('usersig_key_info{')).sort()).toEqual(
      [
        `usersig_key_info{sdkappid="${APP_A}",key_id="2026-11",primary="true"} 1`,
        `usersig_key_info{sdkappid="${APP_A}",key_id="2026-05",primary="false"} 1`,
        `usersig_key_info{sdkappid="${APP_B}",key_id="b-1",primary="true"} 1`,
      ].sort(),
    )
    // Key ids are enough: no fingerprint (an unsalted hash prefix of a secret) in any label.
    for (const secret of Object.values(SECRETS)) expect(res.text).not.toContain(fingerprint(secret))
    for (const leak of [
      'alice-metrics',
      issued.body.userSig,
      pmk.body.privateMapKey,
      expired,
      ...ALL_SECRETS,
      ...ALL_TOKENS,
    ]) {
      expect(res.text).not.toContain(leak)
    }
  })

  test('needs no token', async () => {
    expect((await request(buildApp().app).get('/metrics')).status).toBe(200)
  })
})

describe('the contract and its docs', () => {
  test('GET /openapi.yaml serves the file itself', async () => {
    const res = await request(buildApp().app).get('/openapi.yaml')

    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/yaml; charset=utf-8')
    expect(res.text).toBe(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8'))
  })

  test('with the debug endpoints off, GET /openapi.yaml leaves out the x-debug-only operations', async () => {
    const res = await request(buildApp({ env: { USERSIG_DEBUG_ENDPOINTS: 'false' } }).app).get(
      '/openapi.yaml',
    )

    const served = parse(res.text) as { paths: Record<string, Record<string, unknown>> }
    const shipped = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as {
      paths: Record<string, Record<string, { 'x-debug-only'?: boolean }>>
    }
    const visible = Object.entries(shipped.paths)
      .filter(([, ops]) => Object.values(ops).some((op) => op['x-debug-only'] !== true))
      .map(([path]) => path)
    expect(Object.keys(served.paths)).toEqual(visible)
    expect(Object.keys(served.paths)).not.toContain('/usersig/verify')
    expect(Object.keys(served.paths)).not.toContain('/debug')
    expect(Object.keys(served.paths)).toContain('/usersig')
    // and the debug tag, which links to the page, goes with its operations
    expect((served as unknown as { tags: { name: string }[] }).tags.map((t) => t.name)).toEqual([
      'tickets',
      'operations',
    ])
    expect(res.text).not.toContain('(/debug)')
    // the rest is untouched: the same components, the same servers
    expect((served as unknown as { components: unknown }).components).toEqual(
      (shipped as unknown as { components: unknown }).components,
    )
  })

  test("openapi.yaml's server is the page's own origin, so /docs' Try it out works on any host", () => {
    const shipped = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as {
      servers: { url: string }[]
    }
    expect(shipped.servers.map((server) => server.url)).toEqual(['/'])
  })

  test('GET /docs/ returns the Swagger UI page, loading the contract from /openapi.yaml', async () => {
    const { app } = buildApp()
    const res = await request(app).get('/docs/')

    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.text).toContain('<div id="swagger-ui"></div>')
    expect(res.text).toContain('<title>usersig-service API</title>')
    // No inline script: helmet's CSP (script-src 'self') would block it.
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    const init = await request(app).get('/docs/swagger-ui-init.js')
    expect(init.status).toBe(200)
    expect(init.text).toContain('"url": "/openapi.yaml"')
  })

  test('GET /docs redirects to /docs/', async () => {
    const res = await request(buildApp().app).get('/docs')

    expect(res.status).toBe(301)
    expect(res.headers['location']).toBe('/docs/')
  })
})

describe('security headers: the API set on every API answer, the page set on pages', () => {
  const { app } = buildApp()
  const auth = `Bearer ${TOKENS.chat}`
  const cases: [string, () => request.Test][] = [
    ['GET /healthz', () => request(app).get('/healthz')],
    ['GET /readyz', () => request(app).get('/readyz')],
    ['GET /metrics', () => request(app).get('/metrics')],
    ['GET /openapi.yaml', () => request(app).get('/openapi.yaml')],
    ['GET /nope (404)', () => request(app).get('/nope')],
    [
      'POST /usersig (200)',
      () => post(app, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId: 'a' }),
    ],
    ['POST /usersig (401)', () => post(app, '/usersig', null, {})],
    [
      'POST /usersig (403)',
      () => post(app, '/usersig', TOKENS.chat, { sdkAppId: APP_B, userId: 'a' }),
    ],
    ['POST /usersig (400)', () => post(app, '/usersig', TOKENS.chat, {})],
    ['PUT /usersig (405)', () => request(app).put('/usersig').set('Authorization', auth)],
    [
      'POST /usersig (413)',
      () =>
        request(app)
          .post('/usersig')
          .set('Authorization', auth)
          .type('application/json')
          .send(JSON.stringify({ pad: 'x'.repeat(20_000) })),
    ],
    [
      'POST /usersig/verify (200)',
      () =>
        post(app, '/usersig/verify', TOKENS.chat, { sdkAppId: APP_A, userId: 'a', userSig: 'x' }),
    ],
  ]

  test.each(cases)('%s', async (_, send) => {
    const res = await send()

    // docs/architecture.md says why each is sent on JSON answers
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    )
    expect(res.headers['cross-origin-resource-policy']).toBe('same-origin')
    expect(res.headers['cache-control']).toBe('no-store')
    // and why the page headers are not
    expect(res.headers['x-frame-options']).toBeUndefined()
    expect(res.headers['strict-transport-security']).toBeUndefined()
    expect(res.headers['x-powered-by']).toBeUndefined()
    expect(res.headers['x-request-id']).toMatch(UUID)
  })

  test.each([
    ['GET /docs/', () => request(app).get('/docs/')],
    ['GET /docs/swagger-ui.css', () => request(app).get('/docs/swagger-ui.css')],
    ['GET /debug', () => request(app).get('/debug')],
    ['GET /debug/app.js', () => request(app).get('/debug/app.js')],
  ] as const)('page: %s', async (_, send) => {
    const res = await send()

    expect(res.status).toBe(200)
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    const csp = res.headers['content-security-policy'] as string
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('upgrade-insecure-requests')
    expect(res.headers['x-frame-options']).toBe('DENY')
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains')
    expect(res.headers['referrer-policy']).toBe('no-referrer')
    expect(res.headers['x-powered-by']).toBeUndefined()
    expect(res.headers['x-request-id']).toMatch(UUID)
  })
})

describe('X-Request-Id', () => {
  const { app } = buildApp()

  test.each(['abc-123', 'trace.id:42_x', 'A'.repeat(64)])(
    "a caller's id (%s) is never ours: logged beside our own as clientRequestId",
    async (id) => {
      const built = buildApp({ logLevel: 'debug' })
      const ok = await request(built.app).get('/healthz').set('X-Request-Id', id)
      const problem = await request(built.app).get('/nope').set('X-Request-Id', id)

      for (const res of [ok, problem]) {
        expect(res.headers['x-request-id']).toMatch(UUID)
        expect(built.logs()).toContainEqual(
          expect.objectContaining({
            msg: 'request',
            requestId: res.headers['x-request-id'],
            clientRequestId: id,
          }),
        )
      }
      expect(problem.body.requestId).toBe(problem.headers['x-request-id'])
      expect(ok.headers['x-request-id']).not.toBe(problem.headers['x-request-id'])
    },
  )

  test('without one, a fresh UUID per request', async () => {
    const first = await request(app).get('/nope')
    const second = await request(app).get('/nope')

    expect(first.headers['x-request-id']).toMatch(UUID)
    expect(second.headers['x-request-id']).toMatch(UUID)
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id'])
    expect(first.body.requestId).toBe(first.headers['x-request-id'])
  })

  test.each([
    ['with a space', 'abc def'],
    ['with a tab', 'abc\tdef'],
    ['with encoded CR LF', 'abc%0d%0aSet-Cookie:%20session=1'],
    ['with markup', '<script>alert(1)</script>'],
    ['with quotes', '"abc"'],
    ['of 65 characters', 'A'.repeat(65)],
    ['of non-ASCII bytes', 'abc\u00e9'],
    // Node joins a repeated header with ", ".
    ['sent twice', ['abc', 'def'] as unknown as string],
  ])('an id %s is replaced by a UUID', async (_, id) => {
    const res = await request(app).get('/nope').set('X-Request-Id', id)

    expect(res.headers['x-request-id']).toMatch(UUID)
    expect(res.body.requestId).toBe(res.headers['x-request-id'])
    expect(JSON.stringify(res.headers)).not.toContain('Set-Cookie')
    expect(res.headers['set-cookie']).toBeUndefined()
  })

  test('an id with raw CR or LF never reaches the app: the HTTP parser refuses the request', async () => {
    const server = createServer(buildApp().app)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    const raw = (header: string) =>
      new Promise<string>((resolve) => {
        let answer = ''
        const socket = connect(port, '127.0.0.1', () =>
          socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n${header}Connection: close\r\n\r\n`),
        )
        socket.on('data', (chunk) => (answer += chunk.toString('latin1')))
        socket.on('end', () => resolve(answer))
        socket.on('error', () => resolve(answer))
      })
    try {
      for (const header of [
        'X-Request-Id: abc\nSet-Cookie: x=1\r\n',
        'X-Request-Id: abc\rSet-Cookie: x=1\r\n',
        'X-Request-Id: abc\r\n Set-Cookie: x=1\r\n',
      ]) {
        const answer = await raw(header)
        expect(answer).toMatch(/^HTTP\/1\.1 400 /)
        expect(answer).not.toMatch(/set-cookie|x-request-id/i)
      }
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('/metrics closed: USERSIG_METRICS_TOKEN, or METRICS_PORT', () => {
  const metricsToken = randomBytes(32).toString('base64url')

  test('with a metrics token: 401 without it or with another, 200 with it', async () => {
    const built = buildApp({ env: { USERSIG_METRICS_TOKEN: metricsToken } })
    expectUnauthorized(await request(built.app).get('/metrics'))
    expectUnauthorized(
      await request(built.app).get('/metrics').set('Authorization', `Bearer ${TOKENS.chat}`),
    )
    const res = await request(built.app)
      .get('/metrics')
      .set('Authorization', `Bearer ${metricsToken}`)
    expect(res.status).toBe(200)
    expect(res.text).toContain('usersig_key_info')
    expect(built.logs()).toContainEqual(
      expect.objectContaining({ audit: 'auth.failed', reason: 'metrics_token' }),
    )
    expect(built.logLines.join('\n')).not.toContain(metricsToken)
    // the rest is as it was
    expect((await request(built.app).get('/healthz')).status).toBe(200)
  })

  test('with METRICS_PORT: 404 on the main listener; the metrics listener serves /metrics only', async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      USERSIG_APPS: JSON.stringify(USERSIG_APPS),
      USERSIG_CLIENTS: JSON.stringify(USERSIG_CLIENTS),
      METRICS_PORT: '9100',
    })
    const logger = createLogger('silent')
    const main = createApp({ config, logger, validateResponses: true })
    const scrape = createApp({ config, logger, validateResponses: true, surface: 'metrics' })

    expectProblem(await request(main).get('/metrics'), 404, 'not_found')
    expect((await request(main).get('/healthz')).status).toBe(200)
    expect((await request(scrape).get('/metrics')).status).toBe(200)
    expectProblem(await request(scrape).get('/healthz'), 404, 'not_found')
    expectProblem(await request(scrape).get('/docs/'), 404, 'not_found')
    expect(scrape.routes).toEqual(['GET /metrics'])
    expect(main.routes).not.toContain('GET /metrics')
  })
})
