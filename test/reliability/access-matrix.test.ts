// The access-control matrix: every caller x app x endpoint, and every broken way to present a
// token, gets exactly the status its grants call for. Expectations are computed here from the test
// clients' own definitions (test/helpers/http.ts) and the scopes openapi.yaml names, not from src/.
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parse } from 'yaml'
import {
  createUserSigKey,
  signUserSig,
  verifyUserSig,
  type UserSigKey,
} from '../../src/usersig/index.js'
import {
  buildApp,
  NOW,
  TOKENS,
  UNKNOWN_APP,
  USERSIG_APPS,
  USERSIG_CLIENTS,
  type BuildOptions,
} from '../helpers/http.js'

// --- what the grants are, read from the test clients -------------------------------------------

interface ClientDef {
  readonly id: string
  readonly token?: string
  readonly tokenSha256?: string
  readonly apps: readonly number[]
  readonly scopes: readonly string[]
}
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex')

/** Each test client with the token it presents (for a tokenSha256 client: the token that hashes to it). */
function withTokens(clients: readonly ClientDef[], tokens: readonly string[]) {
  return clients.map((client) => {
    const token =
      client.token ?? tokens.find((t) => sha256(t) === client.tokenSha256?.toLowerCase())
    if (token === undefined) throw new Error(`no token for client ${client.id}`)
    return { ...client, token }
  })
}
const CLIENTS = withTokens(USERSIG_CLIENTS as readonly ClientDef[], Object.values(TOKENS))

/** The configured apps with their signing (first) key, plus one nobody configured. */
const CONFIGURED_APPS = Object.entries(
  USERSIG_APPS as Record<string, { keys: { id: string; secret: string }[] }>,
).map(([id, app]) => {
  const first = app.keys[0]
  if (first === undefined) throw new Error(`app ${id} has no key`)
  return { sdkAppId: Number(id), key: createUserSigKey(first.id, first.secret) }
})
const APPS = [
  ...CONFIGURED_APPS,
  { sdkAppId: UNKNOWN_APP, key: createUserSigKey('nobody', randomBytes(32).toString('hex')) },
]
const keyOf = (sdkAppId: number): UserSigKey =>
  (APPS.find((a) => a.sdkAppId === sdkAppId) as { key: UserSigKey }).key

// --- the endpoints, read from the contract ------------------------------------------------------

interface Operation {
  operationId?: string
  description?: string
  security?: unknown[]
}
const spec = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>
}

/** A valid request body for each authenticated operation, for a given app. */
const BODIES: Record<string, (sdkAppId: number) => object> = {
  issueUserSig: (sdkAppId) => ({ sdkAppId, userId: 'alice' }),
  issueUserSigBatch: (sdkAppId) => ({ sdkAppId, userIds: ['alice', 'bob'] }),
  verifyUserSig: (sdkAppId) => ({
    sdkAppId,
    userId: 'alice',
    userSig: signUserSig({ sdkAppId, userId: 'alice', expire: 600, now: NOW }, keyOf(sdkAppId)),
  }),
  issuePrivateMapKey: (sdkAppId) => ({ sdkAppId, userId: 'alice', roomId: 1234, privileges: 255 }),
}

interface Endpoint {
  readonly method: string
  readonly path: string
  readonly operationId: string
  /** The scope the contract says it needs; null for the unauthenticated operations. */
  readonly scope: string | null
}
const ENDPOINTS: readonly Endpoint[] = Object.entries(spec.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => {
    const scope = /Needs scope `([^`]+)`/.exec(op.description ?? '')?.[1] ?? null
    const open = Array.isArray(op.security) && op.security.length === 0
    if (!open && scope === null) throw new Error(`${method} ${path}: the contract names no scope`)
    return {
      method: method.toUpperCase(),
      path,
      operationId: op.operationId ?? `${method} ${path}`,
      scope: open ? null : scope,
    }
  }),
)
const AUTHENTICATED = ENDPOINTS.filter((e) => e.scope !== null)
const OPEN = ENDPOINTS.filter((e) => e.scope === null)
const SCOPES = [...new Set(AUTHENTICATED.map((e) => e.scope as string))]
/** Callers for every non-empty set of scopes on every non-empty set of configured apps. */
const SYNTHETIC = subsets(SCOPES).flatMap((scopes, i) =>
  subsets(CONFIGURED_APPS.map((a) => a.sdkAppId)).map((apps, j) => ({
    id: `synthetic-${i}-${j}`,
    token: randomBytes(32).toString('base64url'),
    apps,
    scopes,
  })),
)

// --- talking to a real listening server ---------------------------------------------------------

interface Listening {
  readonly server: Server
  readonly base: string
}
async function listen(options: BuildOptions = {}): Promise<Listening> {
  // Hundreds of requests per caller: the rate limit is not what this matrix is about.
  const env = { USERSIG_RATE_LIMIT_PER_MINUTE: '1000000', ...options.env }
  const server = createServer(buildApp({ ...options, env }).app)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}
const close = async ({ server }: Listening) => {
  server.closeAllConnections()
  server.close()
  await once(server, 'close')
}

interface Outcome {
  readonly status: number
  readonly body: Record<string, unknown>
  readonly wwwAuthenticate: string | null
}
async function call(
  on: Listening,
  endpoint: Endpoint,
  sdkAppId: number,
  authorization: string | null,
): Promise<Outcome> {
  const body = endpoint.method === 'POST' ? BODIES[endpoint.operationId] : undefined
  if (endpoint.method === 'POST' && body === undefined)
    throw new Error(`no request body for ${endpoint.operationId}: add one to BODIES`)
  const res = await fetch(`${on.base}${endpoint.path}`, {
    method: endpoint.method,
    headers: {
      ...(authorization === null ? {} : { authorization }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body(sdkAppId)) }),
  })
  const text = await res.text()
  let parsed: Record<string, unknown> = {}
  try {
    parsed = JSON.parse(text) as Record<string, unknown>
  } catch {
    // YAML, Prometheus text: not JSON
  }
  return { status: res.status, body: parsed, wwwAuthenticate: res.headers.get('www-authenticate') }
}

/** Every ticket a 200 response carries verifies with the app's signing key at the fixed clock. */
function ticketsVerify(endpoint: Endpoint, sdkAppId: number, body: Record<string, unknown>) {
  const key = keyOf(sdkAppId)
  const check = (ticket: unknown, userId: string, kind: 'usersig' | 'privatemapkey') =>
    verifyUserSig(String(ticket), [key], { sdkAppId, userId, now: NOW, kind }).valid
  switch (endpoint.operationId) {
    case 'issueUserSig':
      return check(body.userSig, 'alice', 'usersig')
    case 'issuePrivateMapKey':
      return check(body.privateMapKey, 'alice', 'privatemapkey')
    case 'verifyUserSig':
      return body.valid === true && body.keyId === key.id
    case 'issueUserSigBatch': {
      const results = body.results as { userId: string; userSig?: string }[]
      return results.length === 2 && results.every((r) => check(r.userSig, r.userId, 'usersig'))
    }
    default:
      return true
  }
}

/** What the client sees, reduced to what the matrix compares: status, and what it must come with. */
function summary(endpoint: Endpoint, sdkAppId: number, outcome: Outcome): string {
  const { status, body, wwwAuthenticate } = outcome
  if (status === 200) return ticketsVerify(endpoint, sdkAppId, body) ? '200' : '200 but bad ticket'
  const code = String(body.code)
  if (status === 401)
    return wwwAuthenticate === 'Bearer realm="usersig"' && code === 'unauthorized'
      ? '401'
      : `401 ${code} ${wwwAuthenticate}`
  if (status === 403)
    return wwwAuthenticate === null && code === 'forbidden'
      ? '403'
      : `403 ${code} ${wwwAuthenticate}`
  return `${status} ${code}`
}

/** The status the grants call for: 200 with the scope and the app, else 403. */
function expectedStatus(
  client: { apps: readonly number[]; scopes: readonly string[] },
  endpoint: Endpoint,
  sdkAppId: number,
): string {
  if (endpoint.scope === null) return '200'
  const configured = CONFIGURED_APPS.some((a) => a.sdkAppId === sdkAppId)
  return client.scopes.includes(endpoint.scope) && client.apps.includes(sdkAppId) && configured
    ? '200'
    : '403'
}

/** Runs rows (label -> authorization, endpoint, app) and returns label -> summary. */
async function run(
  on: Listening,
  rows: readonly {
    label: string
    endpoint: Endpoint
    sdkAppId: number
    authorization: string | null
  }[],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  sent += rows.length
  // A few at a time: the matrix is a few hundred requests.
  for (let i = 0; i < rows.length; i += 8) {
    const batch = rows.slice(i, i + 8)
    const results = await Promise.all(
      batch.map((r) => call(on, r.endpoint, r.sdkAppId, r.authorization)),
    )
    batch.forEach((r, j) => (out[r.label] = summary(r.endpoint, r.sdkAppId, results[j] as Outcome)))
  }
  return out
}

const label = (who: string, endpoint: Endpoint, sdkAppId: number) =>
  `${who} -> ${endpoint.method} ${endpoint.path} app ${sdkAppId}`

// --- broken ways to present a token -------------------------------------------------------------

function flip(token: string, index: number): string {
  const c = token[index] === 'A' ? 'B' : 'A'
  return token.slice(0, index) + c + token.slice(index + 1)
}
const swapCase = (t: string) =>
  [...t].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('')
const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Authorization values built from one client's token that must all be refused with 401. */
function brokenTokens(token: string, others: readonly string[]): Record<string, string> {
  const forgedSameShape = randomBytes(Buffer.from(token, 'base64url').length).toString('base64url')
  const variants: Record<string, string> = {
    forged: `Bearer ${forgedSameShape}`,
    'truncated by one': `Bearer ${token.slice(0, -1)}`,
    'first half': `Bearer ${token.slice(0, token.length >> 1)}`,
    'without its first character': `Bearer ${token.slice(1)}`,
    'one character longer': `Bearer ${token}A`,
    'first character changed': `Bearer ${flip(token, 0)}`,
    'last character changed': `Bearer ${flip(token, token.length - 1)}`,
    'case swapped': `Bearer ${swapCase(token)}`,
    'its SHA-256 instead': `Bearer ${sha256(token)}`,
    'twice, space separated': `Bearer ${token} ${token}`,
    'twice, concatenated': `Bearer ${token}${token}`,
    'in quotes': `Bearer "${token}"`,
    'no scheme': token,
    'scheme without a space': `Bearer${token}`,
    'scheme with a colon': `Bearer: ${token}`,
    'scheme with a tab': `Bearer\t${token}`,
    'Basic scheme': `Basic ${Buffer.from(`x:${token}`).toString('base64')}`,
    'Token scheme': `Token ${token}`,
    'a JWT with alg none': `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'x', scope: 'usersig:issue' })}.`,
    'the token as a JWT signature': `Bearer ${b64url({ alg: 'HS256' })}.${b64url({ sub: 'x' })}.${token}`,
  }
  for (const [i, other] of others.entries()) {
    variants[`with another client's token appended (${i})`] = `Bearer ${token}${other}`
    variants[`another client's token hashed (${i})`] = `Bearer ${sha256(other)}`
  }
  return variants
}

/** Authorization headers that carry no usable credential at all. */
const NO_CREDENTIALS: Record<string, string | null> = {
  'no Authorization header': null,
  'an empty header': '',
  'Bearer alone': 'Bearer',
  'Bearer and a space': 'Bearer ',
  'a random word': 'letmein',
  'a Basic header': `Basic ${Buffer.from('admin:admin').toString('base64')}`,
  'a Digest header': 'Digest username="admin", realm="usersig", nonce="x", response="y"',
  'an over-long token': `Bearer ${'A'.repeat(5000)}`,
}

// --- the matrix -----------------------------------------------------------------------------------

let main: Listening
let debugOff: Listening
/** Requests sent by the whole matrix, for the summary line. */
let sent = 0
beforeAll(async () => {
  main = await listen()
  debugOff = await listen({ env: { USERSIG_DEBUG_ENDPOINTS: 'false' } })
})
afterAll(async () => {
  await close(main)
  await close(debugOff)
  console.log(
    `access matrix summary: ${sent} requests; ${CLIENTS.length} test clients + ${SYNTHETIC.length} synthetic, ` +
      `${APPS.length} apps, ${AUTHENTICATED.length} authenticated and ${OPEN.length} open endpoints`,
  )
})

test('the matrix covers every authenticated operation in the contract', () => {
  expect(AUTHENTICATED.length).toBeGreaterThanOrEqual(3)
  for (const endpoint of AUTHENTICATED) {
    expect({ operation: endpoint.operationId, hasBody: endpoint.operationId in BODIES }).toEqual({
      operation: endpoint.operationId,
      hasBody: true,
    })
  }
  expect(CLIENTS.map((c) => c.id)).toEqual(USERSIG_CLIENTS.map((c) => c.id))
})

describe('each test client, each app, each endpoint: exactly the status its grants call for', () => {
  test.each(CLIENTS.map((c) => [c.id, c] as const))('%s', async (_, client) => {
    const rows = []
    const expected: Record<string, string> = {}
    for (const endpoint of [...AUTHENTICATED, ...OPEN]) {
      for (const { sdkAppId } of APPS) {
        // RFC 9110: the scheme is case-insensitive, so "bearer" grants exactly what "Bearer" does.
        for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
          const l = label(`${client.id} (${scheme})`, endpoint, sdkAppId)
          rows.push({ label: l, endpoint, sdkAppId, authorization: `${scheme} ${client.token}` })
          expected[l] = expectedStatus(client, endpoint, sdkAppId)
        }
      }
    }
    expect(await run(main, rows)).toEqual(expected)
  })
})

describe("a client's token, broken in each way, is refused with 401 everywhere (open endpoints still answer)", () => {
  test.each(CLIENTS.map((c) => [c.id, c] as const))('%s', async (_, client) => {
    const others = CLIENTS.filter((c) => c !== client).map((c) => c.token)
    const rows = []
    const expected: Record<string, string> = {}
    for (const [how, authorization] of Object.entries(brokenTokens(client.token, others))) {
      for (const endpoint of [...AUTHENTICATED, ...OPEN]) {
        for (const { sdkAppId } of APPS) {
          const l = label(`${client.id} token ${how}`, endpoint, sdkAppId)
          rows.push({ label: l, endpoint, sdkAppId, authorization })
          expected[l] = endpoint.scope === null ? '200' : '401'
        }
      }
    }
    expect(await run(main, rows)).toEqual(expected)
  })
})

test('no credential at all -> 401 on every authenticated endpoint, for every app', async () => {
  const rows = []
  const expected: Record<string, string> = {}
  for (const [how, authorization] of Object.entries(NO_CREDENTIALS)) {
    for (const endpoint of [...AUTHENTICATED, ...OPEN]) {
      for (const { sdkAppId } of APPS) {
        const l = label(how, endpoint, sdkAppId)
        rows.push({ label: l, endpoint, sdkAppId, authorization })
        expected[l] = endpoint.scope === null ? '200' : '401'
      }
    }
  }
  expect(await run(main, rows)).toEqual(expected)
})

test(`every combination of scopes and apps a caller can be granted (${SYNTHETIC.length} synthetic callers)`, async () => {
  const synthetic = SYNTHETIC
  const on = await listen({ env: { USERSIG_CLIENTS: JSON.stringify(synthetic) } })
  try {
    const rows = []
    const expected: Record<string, string> = {}
    for (const client of synthetic) {
      for (const endpoint of AUTHENTICATED) {
        for (const { sdkAppId } of APPS) {
          const l = label(
            `[${client.scopes.join(' ')}] on [${client.apps.join(' ')}]`,
            endpoint,
            sdkAppId,
          )
          rows.push({ label: l, endpoint, sdkAppId, authorization: `Bearer ${client.token}` })
          expected[l] = expectedStatus(client, endpoint, sdkAppId)
        }
      }
    }
    expect(rows.length).toBe(synthetic.length * AUTHENTICATED.length * APPS.length)
    expect(await run(on, rows)).toEqual(expected)
  } finally {
    await close(on)
  }
})

test('debug endpoints off: /usersig/verify is 404 to every caller with a valid token, 401 without one (as when on); the rest is unchanged', async () => {
  const verify = AUTHENTICATED.filter((e) => e.operationId === 'verifyUserSig')
  expect(verify).toHaveLength(1)
  const rows = []
  const expected: Record<string, string> = {}
  const authorizations: Record<string, string | null> = {
    ...NO_CREDENTIALS,
    ...Object.fromEntries(CLIENTS.map((c) => [c.id, `Bearer ${c.token}`])),
  }
  for (const [how, authorization] of Object.entries(authorizations)) {
    for (const endpoint of AUTHENTICATED) {
      for (const { sdkAppId } of APPS) {
        const l = label(how, endpoint, sdkAppId)
        rows.push({ label: l, endpoint, sdkAppId, authorization })
        const client = CLIENTS.find((c) => c.id === how)
        expected[l] =
          client === undefined
            ? '401'
            : endpoint.operationId === 'verifyUserSig'
              ? '404 not_found'
              : expectedStatus(client, endpoint, sdkAppId)
      }
    }
  }
  expect(await run(debugOff, rows)).toEqual(expected)
})

/** Every non-empty subset, in a stable order. */
function subsets<T>(items: readonly T[]): T[][] {
  const out: T[][] = []
  for (let mask = 1; mask < 1 << items.length; mask++)
    out.push(items.filter((_, i) => (mask & (1 << i)) !== 0))
  return out
}

describe('who may mint what: reserved ids, user-id patterns and privileges, every combination', () => {
  // The rules, written from the issue and the docs, not from src/: a reserved id (administrator by
  // default, exact case) needs usersig:issue-admin; a pattern must match the whole UserID; a
  // PrivateMapKey's privileges must lie within maxPrivileges. A reserved id is named as such first.
  const PATTERN = 'player_[0-9]+'
  const USER_IDS = ['alice', 'administrator', 'Administrator', 'player_1']
  const callers = [false, true].flatMap((admin) =>
    [null, PATTERN].flatMap((userIdPattern) =>
      [null, 6].map((maxPrivileges) => ({
        id: `c-${admin ? 'admin' : 'plain'}-${userIdPattern === null ? 'any' : 'pattern'}-${maxPrivileges ?? 'all'}`,
        token: randomBytes(32).toString('base64url'),
        apps: [CONFIGURED_APPS[0]?.sdkAppId as number],
        scopes: ['usersig:issue', 'privatemapkey:issue', ...(admin ? ['usersig:issue-admin'] : [])],
        ...(userIdPattern === null ? {} : { userIdPattern }),
        ...(maxPrivileges === null ? {} : { maxPrivileges }),
      })),
    ),
  )
  const refusal = (caller: (typeof callers)[number], userId: string): string | null => {
    if (userId === 'administrator' && !caller.scopes.includes('usersig:issue-admin'))
      return 'user_id_reserved'
    if (
      caller.userIdPattern !== undefined &&
      !new RegExp(`^(?:${caller.userIdPattern})$`).test(userId)
    )
      return 'user_id_not_allowed'
    return null
  }

  test(`${callers.length} callers x ${USER_IDS.length} user ids x UserSig, batch and PrivateMapKey`, async () => {
    const on = await listen({ env: { USERSIG_CLIENTS: JSON.stringify(callers) } })
    const sdkAppId = CONFIGURED_APPS[0]?.sdkAppId as number
    const post = async (caller: (typeof callers)[number], path: string, body: object) => {
      const res = await fetch(`${on.base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${caller.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sdkAppId, ...body }),
      })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    }
    try {
      const got: Record<string, string> = {}
      const expected: Record<string, string> = {}
      for (const caller of callers) {
        for (const userId of USER_IDS) {
          const issued = await post(caller, '/usersig', { userId })
          got[`${caller.id} usersig ${userId}`] = `${issued.status} ${issued.body.code ?? ''}`
          const refused = refusal(caller, userId)
          expected[`${caller.id} usersig ${userId}`] = refused === null ? '200 ' : `403 ${refused}`
          for (const privileges of [6, 255]) {
            const key = `${caller.id} privatemapkey ${userId} ${privileges}`
            const res = await post(caller, '/privatemapkey', { userId, roomId: 1, privileges })
            got[key] = `${res.status} ${res.body.code ?? ''}`
            const beyond =
              caller.maxPrivileges !== undefined && (privileges & ~caller.maxPrivileges) !== 0
            expected[key] =
              refused !== null ? `403 ${refused}` : beyond ? '403 privileges_not_allowed' : '200 '
          }
        }
        const batch = await post(caller, '/usersig/batch', { userIds: USER_IDS })
        const results = batch.body.results as { userId: string; error?: { code: string } }[]
        got[`${caller.id} batch`] = results.map((r) => r.error?.code ?? 'issued').join(' ')
        expected[`${caller.id} batch`] = USER_IDS.map((u) => refusal(caller, u) ?? 'issued').join(
          ' ',
        )
      }
      expect(got).toEqual(expected)
    } finally {
      await close(on)
    }
  })
})
