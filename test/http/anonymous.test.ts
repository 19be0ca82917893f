// What a caller without a token learns, as a table: every path of the contract (and its
// neighbours: a trailing slash, upper case, unknown paths under each segment, the static trees)
// x every method x debug endpoints on and off x no token and a valid one. Under a protected
// segment the answer without a token is one and the same 401, whatever the path, the method or
// the debug setting; only the pages meant to be public tell the debug setting apart
// (docs/architecture.md, "What an anonymous caller can tell").
import { randomBytes } from 'node:crypto'
import request from 'supertest'
import { compileContract } from '../../src/http/contract.js'
import { buildApp, TOKENS, type TestApp } from '../helpers/http.js'

// /metrics behind a token, as production wants it: a public /metrics is a choice the operator
// makes, and it then shows the routes served, debug ones included (the architecture page says so).
const env = { USERSIG_METRICS_TOKEN: randomBytes(32).toString('base64url') }
const on = buildApp({ env: { ...env, USERSIG_DEBUG_ENDPOINTS: 'true' } })
const off = buildApp({ env: { ...env, USERSIG_DEBUG_ENDPOINTS: 'false' } })

const { operations } = compileContract()
const firstSegment = (path: string) => `/${path.toLowerCase().split('/')[1] ?? ''}`
/** The segments under which everything needs a token: those of the authenticated operations. */
const PROTECTED = new Set(
  operations.filter((op) => op.authenticated).map((op) => firstSegment(op.path)),
)
const OPERATION_PATHS = [...new Set(operations.map((op) => op.path))]
const PATHS = [
  ...OPERATION_PATHS,
  ...OPERATION_PATHS.map((path) => `${path}/`),
  ...OPERATION_PATHS.map((path) => path.toUpperCase()),
  ...[...PROTECTED].flatMap((segment) => [`${segment}/nope`, `${segment}/verify/x`]),
  '/usersig%2Fverify',
  '/debug/app.js',
  '/debug/nope.js',
  '/docs',
  '/docs/',
  '/nope',
  '/',
]
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/** What one answer shows a client: status, the headers that carry meaning, the body without its request id. */
interface Seen {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

async function seen(app: TestApp, method: string, path: string, token: string | null) {
  let req = request(app.app)[method.toLowerCase() as 'get'](path)
  if (token !== null) req = req.set('Authorization', `Bearer ${token}`)
  if (['POST', 'PUT', 'PATCH'].includes(method)) req = req.send({})
  const res = await req
  const id = res.headers['x-request-id'] as string
  const headers: Record<string, string | undefined> = {}
  for (const name of ['content-type', 'content-length', 'allow', 'www-authenticate', 'location'])
    headers[name] = (res.headers[name] as string | undefined)?.replaceAll(id, '<id>')
  // The request id is 36 characters wherever it shows, so lengths compare as they are.
  return { status: res.status, headers, body: (res.text ?? '').replaceAll(id, '<id>') } as Seen
}

interface Row {
  readonly method: string
  readonly path: string
  readonly anonymous: { readonly on: Seen; readonly off: Seen }
  readonly withToken: { readonly on: Seen; readonly off: Seen }
}

let rows: Row[]

beforeAll(async () => {
  rows = []
  // One request at a time: a table of ~1000 requests, not a load test.
  for (const path of PATHS) {
    for (const method of METHODS) {
      rows.push({
        method,
        path,
        anonymous: {
          on: await seen(on, method, path, null),
          off: await seen(off, method, path, null),
        },
        withToken: {
          on: await seen(on, method, path, TOKENS.chat),
          off: await seen(off, method, path, TOKENS.chat),
        },
      })
    }
  }
}, 120_000)

const name = (row: Row) => `${row.method} ${row.path}`

test('under a protected segment, every path and method answers one and the same 401 without a token, debug on or off', async () => {
  const reference = await seen(on, 'POST', '/usersig', null)
  expect(reference.status).toBe(401)
  const guarded = rows.filter((row) => PROTECTED.has(firstSegment(row.path)))
  // every authenticated operation's path is among them (with its neighbours)
  const paths = new Set(guarded.map((row) => row.path))
  for (const op of operations.filter((o) => o.authenticated)) expect(paths).toContain(op.path)
  for (const row of guarded) {
    for (const answer of [row.anonymous.on, row.anonymous.off]) {
      const expected = row.method === 'HEAD' ? { ...reference, body: '' } : reference
      expect({ at: name(row), ...answer }).toEqual({ at: name(row), ...expected })
    }
  }
})

/**
 * What an anonymous caller can tell debug on from off by, as docs/architecture.md lists it: the
 * debug page with its assets (any path under /debug), and the contract (which leaves the debug
 * operations out while they are off).
 */
const PUBLIC_ON_PURPOSE = (path: string) =>
  /^\/debug(\/|$)/i.test(path) || path.toLowerCase() === '/openapi.yaml'

test('without a token, only the public pages tell debug on from off: /debug (and below) and /openapi.yaml', () => {
  const differing = rows.filter(
    (row) => JSON.stringify(row.anonymous.on) !== JSON.stringify(row.anonymous.off),
  )
  expect(
    differing.map(name).filter((at) => !PUBLIC_ON_PURPOSE(at.split(' ')[1] as string)),
  ).toEqual([])
  // and each of them does differ, as the page says
  for (const at of ['GET /debug', 'GET /debug/', 'GET /debug/app.js', 'GET /openapi.yaml'])
    expect(differing.map(name)).toContain(at)
})

test('with a valid token, a debug-only operation that is off answers 404, as a path that never existed', () => {
  const row = (method: string, path: string) =>
    rows.find((r) => r.method === method && r.path === path) as Row
  for (const method of METHODS) {
    const nowhere = row(method, '/usersig/nope').withToken.off
    expect(nowhere.status).toBe(404)
    for (const path of ['/usersig/verify', '/USERSIG/VERIFY'])
      expect({ at: `${method} ${path}`, ...row(method, path).withToken.off }).toEqual({
        at: `${method} ${path}`,
        ...nowhere,
      })
  }
  // and, on, it is there: a body outside the contract, a method it does not have
  expect(row('POST', '/usersig/verify').withToken.on.status).toBe(400)
  expect(row('GET', '/usersig/verify').withToken.on).toMatchObject({
    status: 405,
    headers: { allow: 'POST' },
  })
})

test('with a valid token, the answers outside /debug and /openapi.yaml are the same whatever the debug setting, but for verify', () => {
  const differing = rows
    .filter((row) => JSON.stringify(row.withToken.on) !== JSON.stringify(row.withToken.off))
    .map(name)
    .filter((at) => !PUBLIC_ON_PURPOSE(at.split(' ')[1] as string))
  expect(differing.every((at) => /^\S+ \/usersig\/verify$/i.test(at))).toBe(true)
})
