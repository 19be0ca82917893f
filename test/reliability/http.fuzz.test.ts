// Fuzzes the HTTP surface of the real process (src/main.ts on a loopback port) with malformed
// requests over raw sockets: no 5xx, no stack trace or source path in any body, and afterwards
// the process is alive and still issues a ticket that verifies.
//
// `npm run test:stress` sends >= 10 000 requests; the default (npm test) 1 000. RELIABILITY_SEED
// replays a run. The last console.log line is the summary to quote.
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { parse } from 'yaml'
import { signUserSig, verifyUserSig } from '../../src/usersig/index.js'
import {
  APP_A,
  APP_B,
  KEYS,
  TOKENS,
  UNKNOWN_APP,
  USERSIG_APPS,
  USERSIG_CLIENTS,
} from '../helpers/http.js'
import { startService, type Service } from '../helpers/process.js'
import { rawExchange, type RawExchange } from '../helpers/raw-http.js'
import { internalsLeak, MiB, pool, rssBytes, tally } from '../helpers/reliability.js'
import { scaled, STRESS } from '../helpers/stress.js'

const REQUESTS = scaled(1_000, 10_000)
const SEED = Number(process.env.RELIABILITY_SEED ?? Math.floor(Math.random() * 0x7fffffff))
const CONCURRENCY = 8

const spec = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as {
  components: { schemas: { ErrorCode: { enum: string[] } } }
}
/** The error codes the contract documents. */
const ERROR_CODES: ReadonlySet<string> = new Set(spec.components.schemas.ErrorCode.enum)

// --- a real ticket, to put in verify bodies ---------------------------------------------------------

/** Signed by app A's primary key at the real clock, so that verify bodies reach a real verdict. */
const GOOD_TICKET = signUserSig(
  { sdkAppId: APP_A, userId: 'alice', expire: 3600, now: Math.floor(Date.now() / 1000) },
  KEYS.aNew,
)

// --- the request generator ------------------------------------------------------------------------

const PATHS = [
  '/usersig',
  '/usersig/batch',
  '/usersig/verify',
  '/privatemapkey',
  '/healthz',
  '/readyz',
  '/metrics',
  '/openapi.yaml',
  '/docs/',
  '/docs',
  '/docs/swagger-ui.css',
  '/docs/swagger-ui-init.js',
  '/docs/index.html',
  '/docs/../openapi.yaml',
  '/docs/..%2F..%2Fpackage.json',
  '/docs/%ff',
  '/',
  '/nope',
  '/usersig/',
  '/USERSIG',
  '/UserSig/Verify',
  '/usersig//verify',
  '//usersig',
  '/usersig%2Fverify',
  '/usersig/verify/extra',
  '/privatemapkey/1',
  '/%',
  '/%ZZ',
  '/%00',
  '/%2e%2e/package.json',
  '*',
  'http://127.0.0.1/usersig',
  '/metrics/../usersig',
  '/.env',
  '/package.json',
  '/src/app.ts',
  '/node_modules/express/package.json',
  '/healthz;jsessionid=1',
  '/readyz#frag',
]
const path = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...PATHS.slice(0, 9)) },
  { weight: 6, arbitrary: fc.constantFrom(...PATHS) },
  { weight: 1, arbitrary: fc.webPath() },
  {
    weight: 1,
    arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => `/${encodeURI(s)}`),
  },
  // Raw bytes above 0x7f in the request line (sent as latin1, one byte each).
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }).map((s) => `/${s}`) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => `/usersig/${'a'.repeat(n)}`),
  },
)
const query = fc.oneof(
  { weight: 10, arbitrary: fc.constant('') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '?',
      '?a=1&a=2',
      '?sdkAppId=1400000000',
      '?__proto__[x]=1',
      '?constructor[prototype][x]=1',
      '?a[b][c]=d',
      '?%',
      '?%ZZ=1',
      '?x=%E4%BD%A0',
      '?kind=any',
      '?url=http://evil.example/spec.yaml',
      '?configUrl=http://evil.example',
    ),
  },
  { weight: 1, arbitrary: fc.webQueryParameters().map((q) => `?${q}`) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 100, max: 15_000 }).map((n) => `?q=${'x'.repeat(n)}`),
  },
)
const method = fc.oneof(
  { weight: 12, arbitrary: fc.constant('POST') },
  { weight: 6, arbitrary: fc.constant('GET') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'PUT',
      'PATCH',
      'DELETE',
      'HEAD',
      'OPTIONS',
      'TRACE',
      'CONNECT',
      'PROPFIND',
      'SEARCH',
      'PURGE',
      'LINK',
      'QUERY',
      'MKCOL',
      'M-SEARCH',
      'REPORT',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('post', 'FOO', 'GET GET', '', 'P\u00d6ST', 'G\tET') },
)
const version = fc.oneof(
  { weight: 20, arbitrary: fc.constant('HTTP/1.1') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'HTTP/1.0',
      'HTTP/0.9',
      'HTTP/2.0',
      'HTTP/1.2',
      'HTTP/x',
      'http/1.1',
      '',
    ),
  },
)

const TOKEN_OF: Record<string, string> = {
  chat: `Bearer ${TOKENS.chat}`,
  other: `Bearer ${TOKENS.other}`,
  issuer: `Bearer ${TOKENS.issuer}`,
  hashed: `Bearer ${TOKENS.hashed}`,
}
const authorization = fc.oneof(
  { weight: 24, arbitrary: fc.constant(TOKEN_OF.chat as string) },
  { weight: 4, arbitrary: fc.constantFrom(...Object.values(TOKEN_OF)) },
  { weight: 3, arbitrary: fc.constant(null) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constantFrom(
        'Bearer',
        'Bearer ',
        'Basic YTpi',
        `bearer ${TOKENS.chat}`,
        `Bearer  ${TOKENS.chat}`,
        `Bearer ${TOKENS.chat.slice(1)}`,
        `Bearer ${'A'.repeat(5000)}`,
        `Bearer ${'A'.repeat(15_000)}`,
        'Bearer a.b.c',
        'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
      ),
      fc.string({ maxLength: 80 }).map((s) => `Bearer ${s}`),
      fc.string({ unit: 'binary-ascii', maxLength: 80 }).map((s) => `Bearer ${s}`),
      fc.string({ unit: 'binary', maxLength: 40 }),
    ),
  },
)
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=utf-16',
  'application/json; charset=utf-16le',
  'application/json; charset=latin1',
  'application/json; charset=utf-99',
  'application/json; charset="utf-8"',
  'application/json;;',
  'application/json; boundary=x',
  'application/problem+json',
  'application/merge-patch+json',
  'application/vnd.api+json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'text/plain',
  'text/json',
  '*/*',
  '',
  ';;;',
  'application/\u00e9',
]
const contentType = fc.oneof(
  { weight: 20, arbitrary: fc.constant('application/json') },
  { weight: 6, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 40 }) },
)
const HEADER_NAMES = [
  'X-Request-Id',
  'Accept',
  'Accept-Charset',
  'Accept-Encoding',
  'Accept-Language',
  'Content-Encoding',
  'Expect',
  'Upgrade',
  'Origin',
  'Cookie',
  'Range',
  'If-None-Match',
  'X-Forwarded-For',
  'X-Forwarded-Proto',
  'X-HTTP-Method-Override',
  'Authorization',
  'Content-Type',
  'Host',
  'Trailer',
  'TE',
  'Max-Forwards',
  'Forwarded',
]
const headerValue = fc.oneof(
  { weight: 20, arbitrary: fc.string({ maxLength: 60 }) }, // printable ASCII
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 60 }) }, // control characters too
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'gzip',
      'deflate',
      'br',
      'identity',
      'x-unknown',
      '100-continue',
      'websocket',
      'h2c',
      'bytes=0-10',
      '*',
      'PUT',
      '../../etc/passwd',
      '\u00e9\u00e8', // obs-text (latin1)
      'a'.repeat(9_000),
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
)
const extraHeaders = fc.array(
  fc.tuple(
    fc.oneof(
      { weight: 30, arbitrary: fc.constantFrom(...HEADER_NAMES) },
      { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 20 }) },
    ),
    headerValue,
  ),
  { maxLength: 3 },
)

// Bodies: valid bodies for each endpoint, then bent.
const VALID_BODIES: readonly Record<string, unknown>[] = [
  { sdkAppId: APP_A, userId: 'alice' },
  { sdkAppId: APP_A, userId: 'alice', expire: 3600 },
  { sdkAppId: APP_B, userId: 'bob smith' },
  { sdkAppId: APP_A, userIds: ['alice', 'bob'] },
  { sdkAppId: APP_A, userId: 'alice', userSig: GOOD_TICKET },
  { sdkAppId: APP_A, userId: 'alice', userSig: GOOD_TICKET, kind: 'any' },
  { sdkAppId: APP_A, userId: 'alice', roomId: 1234, privileges: 255 },
  { sdkAppId: APP_A, userId: 'alice', strRoomId: 'room-1', privileges: ['enterRoom'] },
]
const weird = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(
    null,
    true,
    [],
    {},
    '',
    '1400000000',
    String(APP_A),
    [APP_A],
    { value: APP_A },
    -1,
    0,
    0.5,
    1e21,
    -0,
    Number.MAX_SAFE_INTEGER,
    4294967296,
    UNKNOWN_APP,
    'alice\u0000',
    '\ud800',
    '\u{1f680}',
    'a'.repeat(40),
    'a'.repeat(20_000),
    'A'.repeat(9_000),
    ['enterRoom', 'enterRoom'],
    ['all'],
    256,
    'usersig',
  ),
)
const FIELDS = [
  'sdkAppId',
  'userId',
  'userIds',
  'userSig',
  'expire',
  'kind',
  'roomId',
  'strRoomId',
  'privileges',
  'extra',
]
const bentJson = fc
  .record({
    body: fc.constantFrom(...VALID_BODIES),
    set: fc.array(fc.tuple(fc.constantFrom(...FIELDS), weird), { maxLength: 3 }),
    drop: fc.array(fc.constantFrom(...FIELDS), { maxLength: 2 }),
    wrap: fc.constantFrom('none', 'none', 'none', 'array', 'object', 'string'),
  })
  .map(({ body, set, drop, wrap }) => {
    const copy: Record<string, unknown> = { ...body }
    for (const [field, value] of set) copy[field] = value
    for (const field of drop) Reflect.deleteProperty(copy, field)
    const text = JSON.stringify(copy)
    return wrap === 'array'
      ? `[${text}]`
      : wrap === 'object'
        ? `{"body":${text}}`
        : wrap === 'string'
          ? JSON.stringify(text)
          : text
  })
/** JSON texts a serializer would never write: duplicate keys, prototype keys, number spellings. */
const rawJson = fc
  .record({
    body: fc.constantFrom(...VALID_BODIES),
    member: fc.constantFrom(
      '"sdkAppId":"1400000000"',
      '"sdkAppId":1400000000.0',
      '"sdkAppId":1.4e9',
      '"sdkAppId":1e400',
      '"sdkAppId":-0',
      '"sdkAppId":14000000000000000000000',
      '"userId":"alice"',
      '"userId":"\\ud800"',
      '"userId":"\\u0000"',
      '"expire":86400.0',
      '"expire":"86400"',
      '"__proto__":{"sdkAppId":1400000001}',
      '"__proto__":null',
      '"constructor":{"prototype":{"admin":true}}',
      '"privileges":255',
    ),
    first: fc.boolean(),
  })
  .map(({ body, member, first }) => {
    const inner = JSON.stringify(body).slice(1, -1)
    return first ? `{${member},${inner}}` : `{${inner},${member}}`
  })
const oddText = fc.constantFrom(
  '',
  'null',
  'true',
  '0',
  '"x"',
  '[]',
  '{}',
  '{',
  '}',
  '{"a":}',
  'NaN',
  '\ufeff{"sdkAppId":1400000000,"userId":"alice"}',
  '{"sdkAppId":1400000000,"userId":"alice"} trailing',
  '{"sdkAppId":1400000000,"userId":"alice"}{}',
  '/* c */ {"sdkAppId":1400000000}',
  "{'sdkAppId':1400000000}",
  '{"sdkAppId":1400000000,}',
  'sdkAppId=1400000000&userId=alice',
  '\u0000',
)
const deep = fc
  .record({ depth: fc.integer({ min: 1, max: 9_000 }), shape: fc.constantFrom('[', '{"a":') })
  .map(({ depth, shape }) =>
    shape === '['
      ? '['.repeat(depth) + ']'.repeat(depth)
      : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth),
  )
const body = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(...VALID_BODIES).map((b) => Buffer.from(JSON.stringify(b))),
  },
  { weight: 8, arbitrary: bentJson.map((s) => Buffer.from(s, 'utf8')) },
  { weight: 3, arbitrary: rawJson.map((s) => Buffer.from(s, 'utf8')) },
  { weight: 2, arbitrary: oddText.map((s) => Buffer.from(s, 'utf8')) },
  { weight: 1, arbitrary: deep.map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? '', 'utf8')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((a) => Buffer.from(a)) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(...VALID_BODIES)
      .map((b) => Buffer.from(JSON.stringify(b), 'utf16le')),
  },
  {
    weight: 1,
    // Invalid UTF-8 inside a JSON string.
    arbitrary: fc
      .uint8Array({ minLength: 1, maxLength: 6 })
      .map((a) =>
        Buffer.concat([
          Buffer.from(`{"sdkAppId":${APP_A},"userId":"`),
          Buffer.from([...a].map((x) => x | 0x80)),
          Buffer.from('"}'),
        ]),
      ),
  },
  {
    weight: 1,
    // Over the body limits (16 KiB, and 64 KiB for the batch).
    arbitrary: fc
      .integer({ min: 16 * 1024 - 64, max: 80 * 1024 })
      .map((n) => Buffer.from(JSON.stringify({ sdkAppId: APP_A, userId: 'a'.repeat(n) }))),
  },
)
type Framing = 'length' | 'chunked' | 'none' | 'short-length' | 'both' | 'bad-chunk' | 'negative'
const framing = fc.oneof(
  { weight: 16, arbitrary: fc.constant<Framing>('length') },
  { weight: 3, arbitrary: fc.constant<Framing>('chunked') },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Framing>('none', 'short-length', 'both', 'bad-chunk', 'negative'),
  },
)

interface FuzzRequest {
  readonly method: string
  readonly target: string
  readonly version: string
  readonly host: string | null
  readonly authorization: string | null
  readonly contentType: string | null
  readonly headers: readonly (readonly [string, string])[]
  readonly body: Buffer
  readonly framing: Framing
  readonly chunkSize: number
}
const requests: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method,
    path,
    query,
    version,
    host: fc.oneof(
      { weight: 20, arbitrary: fc.constant<string | null>('127.0.0.1') },
      {
        weight: 1,
        arbitrary: fc.constantFrom<string | null>(null, '', 'evil.example', 'a b', '[::1'),
      },
    ),
    authorization,
    contentType,
    headers: extraHeaders,
    body,
    framing,
    chunkSize: fc.integer({ min: 1, max: 4096 }),
  })
  .map(({ path: p, query: q, ...rest }) => ({ ...rest, target: p + q }))

/** The request as bytes on the wire. Always `Connection: close`, so the server closes when done. */
function serialize(r: FuzzRequest): Buffer {
  const lines = [`${r.method} ${r.target} ${r.version}`.trimEnd()]
  if (r.host !== null) lines.push(`Host: ${r.host}`)
  if (r.authorization !== null) lines.push(`Authorization: ${r.authorization}`)
  if (r.contentType !== null) lines.push(`Content-Type: ${r.contentType}`)
  for (const [name, value] of r.headers) lines.push(`${name}: ${value}`)
  let payload = r.body
  switch (r.framing) {
    case 'length':
      lines.push(`Content-Length: ${r.body.length}`)
      break
    case 'short-length': // the rest is read as a second, pipelined request
      lines.push(`Content-Length: ${Math.max(0, r.body.length - 1 - (r.chunkSize % 16))}`)
      break
    case 'negative':
      lines.push('Content-Length: -1')
      break
    case 'both':
      lines.push(`Content-Length: ${r.body.length}`, 'Transfer-Encoding: chunked')
      payload = chunked(r.body, r.chunkSize)
      break
    case 'chunked':
      lines.push('Transfer-Encoding: chunked')
      payload = chunked(r.body, r.chunkSize)
      break
    case 'bad-chunk':
      lines.push('Transfer-Encoding: chunked')
      payload = Buffer.concat([Buffer.from('zz\r\n'), r.body, Buffer.from('\r\n0\r\n\r\n')])
      break
    case 'none':
      break
  }
  lines.push('Connection: close')
  // Header text is written as latin1, so any byte value can be sent.
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload])
}
function chunked(data: Buffer, size: number): Buffer {
  const parts: Buffer[] = []
  for (let at = 0; at < data.length; at += size) {
    const part = data.subarray(at, at + size)
    parts.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n'))
  }
  parts.push(Buffer.from('0\r\n\r\n'))
  return Buffer.concat(parts)
}

// --- checking what came back --------------------------------------------------------------------------

/** Static files whose 2xx content is third-party code (swagger-ui) or the contract itself. */
const isStaticAsset = (res: { status: number; headers: Record<string, string> }) =>
  res.status < 300 &&
  /javascript|text\/css|image\/|application\/yaml|text\/html/.test(
    res.headers['content-type'] ?? '',
  )

/** Why an exchange is wrong, or null. */
function problemWith(r: FuzzRequest, x: RawExchange): string | null {
  if (x.timedOut) return 'no answer and no close within 5 s'
  const last = x.responses.at(-1)
  if (last === undefined) {
    // Node drops a CONNECT without a word: the service has no 'connect' listener (no proxying).
    if (r.method === 'CONNECT') return null
    return `closed without a response (${x.error ?? 'clean close'}); raw ${JSON.stringify(x.raw.slice(0, 80))}`
  }
  for (const res of x.responses) {
    if (res.status >= 500) return `status ${res.status}: ${res.body.slice(0, 300)}`
    if (!isStaticAsset(res)) {
      const leak = internalsLeak(res.body, serialize(r).toString('utf8'))
      if (leak !== null)
        return `${res.status} body shows ${leak.what} (${JSON.stringify(leak.text)}): ${res.body.slice(0, 300)}`
    }
    if (r.method !== 'HEAD' && /problem\+json/.test(res.headers['content-type'] ?? '')) {
      let problem: Record<string, unknown>
      try {
        problem = JSON.parse(res.body) as Record<string, unknown>
      } catch {
        return `problem+json that is not JSON: ${res.body.slice(0, 200)}`
      }
      if (problem.status !== res.status || !ERROR_CODES.has(String(problem.code)))
        return `problem body ${res.body.slice(0, 200)} for status ${res.status}`
    }
  }
  return null
}

const show = (r: FuzzRequest) => {
  const text = serialize(r).toString('latin1')
  return JSON.stringify(text.length > 400 ? `${text.slice(0, 400)}...(${text.length} bytes)` : text)
}

// --- the run ------------------------------------------------------------------------------------------

let service: Service
let port: number
beforeAll(async () => {
  service = await startService({
    NODE_ENV: 'test',
    USERSIG_APPS: JSON.stringify(USERSIG_APPS),
    USERSIG_CLIENTS: JSON.stringify(USERSIG_CLIENTS),
    LOG_LEVEL: 'info',
    // The per-caller rate limit stays in the path but far out of reach: a 429 would stop the
    // fuzz at the door instead of reaching the parsers and handlers behind it.
    USERSIG_RATE_LIMIT_PER_MINUTE: '1000000',
  })
  expect(service.child.exitCode).toBeNull()
  port = Number(new URL(service.url).port)
})
afterAll(async () => {
  service.child.kill('SIGKILL')
  await service.exited
})

test('the leak detector recognises a real stack trace, source paths and an Express error page', () => {
  const stack = new Error('boom').stack ?? ''
  expect(internalsLeak(stack)).not.toBeNull()
  expect(
    internalsLeak(
      '<pre>TypeError: x<br> &nbsp; &nbsp;at issueUserSigHandler (/app/dist/http/tickets.js:91:22)</pre>',
    ),
  ).not.toBeNull()
  expect(internalsLeak('{"detail":"see /srv/app/src/http/tickets.ts"}')).not.toBeNull()
  expect(internalsLeak('{"code":"not_found","title":"No such resource."}')).toBeNull()
  // What the caller sent and gets echoed back is not a leak.
  expect(internalsLeak('Unknown query parameter /src/', 'GET /?/src/=1')).toBeNull()
})

async function issueAndVerify(): Promise<{ status: number; valid: boolean; keyId: unknown }> {
  const res = await fetch(`${service.url}/usersig`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKENS.chat}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sdkAppId: APP_A, userId: 'after-fuzz', expire: 3600 }),
  })
  const body = (await res.json()) as { userSig: string; issuedAt: number; keyId: string }
  const verdict = verifyUserSig(body.userSig, [KEYS.aNew], {
    sdkAppId: APP_A,
    userId: 'after-fuzz',
    now: body.issuedAt,
  })
  return { status: res.status, valid: verdict.valid, keyId: verdict.keyId }
}

test(`${REQUESTS} malformed requests across every endpoint: no 5xx, no stack traces, the process survives and still signs`, async () => {
  expect(await issueAndVerify()).toEqual({ status: 200, valid: true, keyId: '2026-11' })
  const metricsBefore = (await (await fetch(`${service.url}/metrics`)).text()).length
  const rssBefore = rssBytes(service.child.pid as number)

  const sample = fc.sample(requests, { numRuns: REQUESTS, seed: SEED })
  const started = performance.now()
  const exchanges = await pool(sample, CONCURRENCY, (r) =>
    rawExchange(port, serialize(r), { head: r.method === 'HEAD', end: false, timeoutMs: 5000 }),
  )
  const seconds = (performance.now() - started) / 1000

  const problems: string[] = []
  exchanges.forEach((x, i) => {
    const r = sample[i] as FuzzRequest
    const problem = problemWith(r, x)
    if (problem !== null) problems.push(`${problem}\n  request: ${show(r)}`)
  })
  const statuses = exchanges.map((x) => x.responses.at(-1)?.status ?? 'none')
  // Who answered: the app sends X-Request-Id on every response; Node's own parser errors do not.
  const answeredBy = exchanges.map((x) =>
    x.responses.length === 0
      ? 'nobody (CONNECT)'
      : x.responses.at(-1)?.headers['x-request-id'] === undefined
        ? 'node'
        : 'app',
  )
  const fiveXX = statuses.filter((s) => typeof s === 'number' && s >= 500).length
  const slowest = Math.max(...exchanges.map((x) => x.ms))

  // Alive, ready, and still issuing tickets that verify.
  expect({ exitCode: service.child.exitCode, signal: service.child.signalCode }).toEqual({
    exitCode: null,
    signal: null,
  })
  const health = await fetch(`${service.url}/healthz`)
  expect({ status: health.status, body: await health.json() }).toEqual({
    status: 200,
    body: { status: 'ok' },
  })
  expect(await issueAndVerify()).toEqual({ status: 200, valid: true, keyId: '2026-11' })
  const rssAfter = rssBytes(service.child.pid as number)
  const metricsAfter = (await (await fetch(`${service.url}/metrics`)).text()).length
  // Nothing the service logged was an error (a 5xx logs "request failed" at level 50).
  const errorLines = service.stdout.split('\n').filter((l) => /"level":(50|60)/.test(l))

  // Every endpoint the service has was reached.
  const reached = new Set(sample.map((r) => r.target.split('?')[0]))
  expect(PATHS.slice(0, 9).filter((p) => !reached.has(p))).toEqual([])
  expect(problems.slice(0, 10)).toEqual([])
  expect(fiveXX).toBe(0)
  expect(errorLines.slice(0, 5)).toEqual([])
  expect(exchanges.length).toBe(REQUESTS)

  console.log(
    `http fuzz summary: ${REQUESTS} requests (seed ${SEED}, ${STRESS ? 'stress' : 'default'} mode, ` +
      `${CONCURRENCY} connections) in ${seconds.toFixed(1)} s against the real process; ` +
      `5xx: ${fiveXX}; bodies with stack traces or paths: 0; error log lines: ${errorLines.length}; ` +
      `slowest exchange ${slowest.toFixed(0)} ms; statuses ${JSON.stringify(tally(statuses))}; ` +
      `answered by ${JSON.stringify(tally(answeredBy))}; ` +
      `RSS ${(rssBefore / MiB).toFixed(1)} -> ${(rssAfter / MiB).toFixed(1)} MiB; ` +
      `/metrics ${metricsBefore} -> ${metricsAfter} bytes; process alive, ticket issued afterwards verifies`,
  )
})
