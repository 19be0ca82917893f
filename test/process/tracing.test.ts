// Traces from the real process: an OTLP/HTTP receiver in the test decodes what the real exporter
// sends (JSON; protobuf checked byte-wise), and the spans continue the caller's trace, carry the
// route, status and SDKAppID and nothing else; audit and access lines name the same ids. Without
// the OTEL_* variables, no span goes out and no module of the SDK is even resolved.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startService, waitForOutput, type Service } from '../helpers/process.js'

const SDKAPPID = 1400000000
const secret = randomBytes(32).toString('hex')
const token = randomBytes(24).toString('base64url')
const configured = {
  USERSIG_APPS: JSON.stringify({ [SDKAPPID]: { keys: [{ id: 'k1', secret }] } }),
  USERSIG_CLIENTS: JSON.stringify([
    { id: 'backend', token, apps: [SDKAPPID], scopes: ['usersig:issue', 'usersig:verify'] },
  ]),
  LOG_LEVEL: 'debug',
}
const MODULE_LOG_HOOK = fileURLToPath(new URL('../helpers/module-log.mjs', import.meta.url))

/** One export request, as the receiver got it. */
interface Export {
  readonly path: string
  readonly contentType: string
  readonly body: Buffer
}

/** A local OTLP/HTTP endpoint: answers every export with success and keeps what came. */
async function otlpReceiver(): Promise<{ url: string; exports: Export[]; server: Server }> {
  const exports: Export[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      exports.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        body: Buffer.concat(chunks),
      })
      const json = req.headers['content-type'] === 'application/json'
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' })
      res.end(json ? '{}' : '')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, exports, server }
}

interface OtlpValue {
  stringValue?: string
  intValue?: number | string
}
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  traceState?: string
  name: string
  kind: number
  attributes: { key: string; value: OtlpValue }[]
  status: { code?: number }
}

/** The spans of OTLP/JSON export requests, with their attributes as a plain object. */
function spansOf(exports: readonly Export[]) {
  return exports.flatMap((e) => {
    const request = JSON.parse(e.body.toString('utf8')) as {
      resourceSpans: {
        resource: { attributes: { key: string; value: OtlpValue }[] }
        scopeSpans: { spans: OtlpSpan[] }[]
      }[]
    }
    return request.resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) =>
        ss.spans.map((span) => ({
          ...span,
          resource: attributesOf(rs.resource.attributes),
          attributes: attributesOf(span.attributes),
        })),
      ),
    )
  })
}

function attributesOf(list: { key: string; value: OtlpValue }[]): Record<string, string | number> {
  return Object.fromEntries(
    list.map(({ key, value }) => [key, value.stringValue ?? Number(value.intValue)]),
  )
}

async function waitFor(ready: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex')
const logLines = (service: Service) =>
  service.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)

/** A well-formed JWT the service must check against the identity provider's JWKS. */
function unverifiableJwt(): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  return [
    part({ alg: 'RS256', kid: 'k1', typ: 'JWT' }),
    part({
      iss: 'https://idp.test/',
      aud: 'usersig-service',
      sub: 'jwt-backend',
      iat: now,
      exp: now + 60,
    }),
    Buffer.from('not a signature').toString('base64url'),
  ].join('.')
}

let running: Service[] = []
let receivers: Server[] = []
afterEach(async () => {
  for (const service of running) {
    service.child.kill('SIGKILL')
    await service.exited
  }
  for (const server of receivers) server.close()
  running = []
  receivers = []
})

async function start(env: Record<string, string>): Promise<Service> {
  const service = await startService(env)
  running.push(service)
  return service
}

test('one span per request over OTLP/JSON, continuing the caller trace, with the same ids in the audit and access lines', async () => {
  const receiver = await otlpReceiver()
  receivers.push(receiver.server)
  // Nothing listens on the JWKS address: a JWT caller gets 503 auth_unavailable, a server error.
  const closed = await otlpReceiver()
  closed.server.close()
  const service = await start({
    ...configured,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
    USERSIG_JWT_ISSUER: 'https://idp.test/',
    USERSIG_JWT_AUDIENCE: 'usersig-service',
    USERSIG_JWKS_URL: `${closed.url}/jwks`,
  })
  expect(logLines(service)).toContainEqual(
    expect.objectContaining({
      msg: 'listening',
      tracing: { protocol: 'http/json', collector: receiver.url, sampler: 'parentbased_always_on' },
    }),
  )

  const traceId = hex(16)
  const callerSpanId = hex(8)
  const userId = `user_${hex(8)}`
  const clientRequestId = `caller-${hex(8)}`
  const secretQuery = hex(20)
  const headers = {
    'content-type': 'application/json',
    traceparent: `00-${traceId}-${callerSpanId}-01`,
    tracestate: 'vendor=opaque,other=7',
    'x-request-id': clientRequestId,
  }
  const issued = await fetch(`${service.url}/usersig`, {
    method: 'POST',
    headers: { ...headers, authorization: `Bearer ${token}` },
    body: JSON.stringify({ sdkAppId: SDKAPPID, userId }),
  })
  expect(issued.status).toBe(200)
  const { userSig } = (await issued.json()) as { userSig: string }
  const refused = await fetch(`${service.url}/usersig`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ sdkAppId: SDKAPPID, userId }),
  })
  expect(refused.status).toBe(401)
  const badQuery = await fetch(`${service.url}/usersig/verify?ticket=${secretQuery}`, {
    method: 'POST',
    headers: { ...headers, authorization: `Bearer ${token}` },
    body: JSON.stringify({ sdkAppId: SDKAPPID, userId, userSig }),
  })
  expect(badQuery.status).toBe(400)
  const unavailable = await fetch(`${service.url}/usersig`, {
    method: 'POST',
    headers: { ...headers, authorization: `Bearer ${unverifiableJwt()}` },
    body: JSON.stringify({ sdkAppId: SDKAPPID, userId }),
  })
  expect(unavailable.status).toBe(503)
  expect((await fetch(`${service.url}/healthz`)).status).toBe(200)

  await waitFor(() => spansOf(receiver.exports).length >= 5, 'five spans')
  expect(receiver.exports.every((e) => e.path === '/v1/traces')).toBe(true)
  expect(receiver.exports.every((e) => e.contentType === 'application/json')).toBe(true)
  const spans = spansOf(receiver.exports)
  expect(spans).toHaveLength(5)
  const [issue, noToken, query, jwt, health] = spans
  const continued = {
    traceId,
    parentSpanId: callerSpanId,
    traceState: 'vendor=opaque,other=7',
    kind: 2, // SERVER
  }
  expect(issue).toMatchObject({ ...continued, name: 'POST /usersig', status: {} })
  expect(issue?.attributes).toEqual({
    'http.request.method': 'POST',
    'http.route': '/usersig',
    'http.response.status_code': 200,
    'usersig.sdkappid': SDKAPPID,
  })
  expect(issue?.resource).toMatchObject({
    'service.name': 'usersig-service',
    'deployment.environment.name': 'test',
  })
  // Refused before the body is read: no SDKAppID.
  expect(noToken).toMatchObject({ ...continued, name: 'POST /usersig' })
  expect(noToken?.attributes).toEqual({
    'http.request.method': 'POST',
    'http.route': '/usersig',
    'http.response.status_code': 401,
  })
  expect(query?.attributes).toEqual({
    'http.request.method': 'POST',
    'http.route': '/usersig/verify',
    'http.response.status_code': 400,
  })
  // A 5xx is an error span.
  expect(jwt).toMatchObject({ ...continued, name: 'POST /usersig', status: { code: 2 } })
  expect(jwt?.attributes).toEqual({
    'http.request.method': 'POST',
    'http.route': '/usersig',
    'http.response.status_code': 503,
    'error.type': '503',
  })
  // No traceparent: a new trace, of which this span is the root.
  expect(health).toMatchObject({ name: 'GET /healthz', kind: 2 })
  expect(health?.traceId).toMatch(/^[0-9a-f]{32}$/)
  expect(health?.traceId).not.toBe(traceId)
  expect(health?.parentSpanId ?? '').toBe('')
  expect(new Set(spans.map((s) => s.spanId)).size).toBe(5)

  // Nothing of the user, the caller, the ticket, the query or another header left the process.
  const exported = Buffer.concat(receiver.exports.map((e) => e.body)).toString('utf8')
  for (const never of [userId, token, userSig, secret, secretQuery, clientRequestId, 'jwt-backend'])
    expect(exported).not.toContain(never)

  // The audit and access lines of the issue name the exported span.
  const lines = logLines(service)
  const ids = { traceId, spanId: issue?.spanId, parentSpanId: callerSpanId }
  expect(lines).toContainEqual(expect.objectContaining({ audit: 'usersig.issued', userId, ...ids }))
  expect(lines).toContainEqual(
    expect.objectContaining({ msg: 'request', route: '/usersig', status: 200, ...ids }),
  )
  expect(lines).toContainEqual(
    expect.objectContaining({ msg: 'request', status: 503, traceId, spanId: jwt?.spanId }),
  )
  expect(lines).toContainEqual(
    expect.objectContaining({ msg: 'request', route: '/healthz', traceId: health?.traceId }),
  )
})

test('OTLP/protobuf by default; SIGTERM exports the last spans before the process exits', async () => {
  const receiver = await otlpReceiver()
  receivers.push(receiver.server)
  const service = await start({
    ...configured,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/custom/traces`,
    // Far beyond the test: only the flush at shutdown can send the span.
    OTEL_BSP_SCHEDULE_DELAY: '600000',
  })
  const traceId = hex(16)
  const callerSpanId = hex(8)
  const userId = `user_${hex(8)}`
  const issued = await fetch(`${service.url}/usersig`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      traceparent: `00-${traceId}-${callerSpanId}-01`,
    },
    body: JSON.stringify({ sdkAppId: SDKAPPID, userId }),
  })
  expect(issued.status).toBe(200)
  const { userSig } = (await issued.json()) as { userSig: string }
  await new Promise((resolve) => setTimeout(resolve, 300))
  expect(receiver.exports).toEqual([])

  service.child.kill('SIGTERM')
  expect(await service.exited).toBe(0)
  expect(receiver.exports).toHaveLength(1)
  const [sent] = receiver.exports as [Export]
  expect(sent).toMatchObject({ path: '/custom/traces', contentType: 'application/x-protobuf' })
  // Protobuf carries the ids as raw bytes, and strings as UTF-8.
  expect(sent.body.includes(Buffer.from(traceId, 'hex'))).toBe(true)
  expect(sent.body.includes(Buffer.from(callerSpanId, 'hex'))).toBe(true)
  for (const text of ['POST /usersig', 'http.route', 'usersig.sdkappid'])
    expect(sent.body.includes(Buffer.from(text))).toBe(true)
  for (const never of [userId, token, userSig, secret])
    expect(sent.body.includes(Buffer.from(never))).toBe(false)
  const stopped = logLines(service).map((line) => line.msg)
  expect(stopped.slice(-2)).toEqual(['shutting down', 'stopped'])
})

describe('without the OTEL_* variables', () => {
  let folder: string
  beforeAll(() => (folder = mkdtempSync(join(tmpdir(), 'usersig-modules-'))))
  afterAll(() => rmSync(folder, { recursive: true, force: true }))

  /** Starts the service with the module-log hook; returns it and what it resolved so far. */
  async function withModuleLog(name: string, env: Record<string, string>) {
    const log = join(folder, name)
    const service = await start({
      ...configured,
      ...env,
      NODE_OPTIONS: `--import=${MODULE_LOG_HOOK}`,
      MODULE_LOG: log,
    })
    return { service, modules: () => readFileSync(log, 'utf8').split('\n') }
  }

  const issueTraced = async (service: Service, traceId: string) => {
    const res = await fetch(`${service.url}/usersig`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        traceparent: `00-${traceId}-${hex(8)}-01`,
      },
      body: JSON.stringify({ sdkAppId: SDKAPPID, userId: 'alice' }),
    })
    expect(res.status).toBe(200)
  }
  const sdkModules = (urls: string[]) =>
    urls.filter((url) => /@opentelemetry|tracing-sdk/.test(url))

  test('no module of the SDK is loaded and no span goes out; the trace id still reaches the logs', async () => {
    const receiver = await otlpReceiver()
    receivers.push(receiver.server)
    // Everything but an endpoint: export stays off.
    const off = await withModuleLog('off', {
      OTEL_SERVICE_NAME: 'usersig-service',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    })
    // An endpoint, but the SDK disabled: export stays off too.
    const disabled = await withModuleLog('disabled', {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_SDK_DISABLED: 'true',
    })
    for (const { service, modules } of [off, disabled]) {
      const traceId = hex(16)
      await issueTraced(service, traceId)
      await waitForOutput(service, (s) => s.stdout.includes('"msg":"request"'))
      const lines = logLines(service)
      expect(lines).toContainEqual(expect.objectContaining({ audit: 'usersig.issued', traceId }))
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'listening', tracing: null }))
      const resolved = modules()
      // The hook saw the service's own modules (and so would have seen the SDK's).
      expect(resolved.some((url) => /\/(src|dist)\/http\/server\.(ts|js)$/.test(url))).toBe(true)
      expect(sdkModules(resolved)).toEqual([])
    }
    // Ten batch delays later, still nothing.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(receiver.exports).toEqual([])

    // The same hook and receiver with export on: the SDK is resolved and the span arrives, so
    // both checks above can fail.
    const on = await withModuleLog('on', {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    })
    await issueTraced(on.service, hex(16))
    await waitFor(() => receiver.exports.length > 0, 'the span of the service with export on')
    expect(sdkModules(on.modules())).toContainEqual(
      expect.stringContaining('@opentelemetry/sdk-trace-base'),
    )
  })
})

test('a malformed OTLP endpoint refuses the start, naming the variable', async () => {
  const service = await start({ ...configured, OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-host:4318' })
  expect(await service.exited).toBe(1)
  expect(service.stderr).toBe(
    'usersig-service: Invalid configuration:\n' +
      '  - OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL, e.g. http://otel-collector:4318\n',
  )
})
