// Leak test: drive traffic across every endpoint, successes and failures, with a debug-level logger
// capturing every line; then no log line and no response (but a ticket's own issuing response)
// may hold a secret, a caller token (or its hash) or a ticket, and every issue is audited.
import { createHash, randomBytes } from 'node:crypto'
import request from 'supertest'
import { signPrivateMapKey, signUserSig } from '../../src/usersig/index.js'
import {
  ALL_SECRETS,
  ALL_TOKENS,
  APP_A,
  APP_B,
  buildApp,
  encodeTicketJson,
  KEYS,
  NOW,
  post,
  responseText,
  SECRETS,
  ticketJson,
  TOKENS,
  UNKNOWN_APP,
  USERSIG_CLIENTS,
  type TestApp,
} from '../helpers/http.js'

const main = buildApp({ logLevel: 'debug' })
/** The same service a day later, to see its tickets expire. */
const later = buildApp({ logLevel: 'debug', clock: () => NOW + 86_401 })
/** Debug endpoints off. */
const off = buildApp({ logLevel: 'debug', env: { USERSIG_DEBUG_ENDPOINTS: 'false' } })
/** A caller narrowed by a user-id pattern and a privilege map, and /metrics behind a token. */
const GAME_TOKEN = randomBytes(32).toString('base64url')
const METRICS_TOKEN = randomBytes(32).toString('base64url')
const narrow = buildApp({
  logLevel: 'debug',
  env: {
    USERSIG_CLIENTS: JSON.stringify([
      ...USERSIG_CLIENTS,
      {
        id: 'game-backend',
        token: GAME_TOKEN,
        apps: [APP_A],
        scopes: ['usersig:issue', 'privatemapkey:issue'],
        userIdPattern: 'player_[0-9]+',
        maxPrivileges: 6,
      },
    ]),
    USERSIG_METRICS_TOKEN: METRICS_TOKEN,
  },
})
const APPS: readonly TestApp[] = [main, later, off, narrow]
const TOKENS_HERE = [...ALL_TOKENS, GAME_TOKEN, METRICS_TOKEN]

interface Exchange {
  readonly name: string
  readonly res: request.Response
  /** The ticket this response issued, if it is an issuing response. */
  readonly issued?: string
  /** For issuing responses: what the audit line must say. */
  readonly audit?: Record<string, unknown>
}

const exchanges: Exchange[] = []
/** Tickets signed on the test side and sent in requests: they must never come back either. */
const sentTickets: string[] = []

async function record(name: string, send: request.Test): Promise<request.Response> {
  const res = await send
  exchanges.push({ name, res })
  return res
}

async function issueUserSig(
  name: string,
  token: string,
  client: string,
  body: { sdkAppId: number; userId: string; expire?: number },
) {
  const res = await post(main.app, '/usersig', token, body)
  expect({ name, status: res.status }).toEqual({ name, status: 200 })
  exchanges.push({
    name,
    res,
    issued: res.body.userSig,
    audit: {
      level: 30,
      time: expect.any(Number),
      service: 'usersig-service',
      audit: 'usersig.issued',
      requestId: res.headers['x-request-id'],
      client,
      via: 'static',
      sdkAppId: body.sdkAppId,
      userId: body.userId,
      expire: res.body.expire,
      keyId: res.body.keyId,
      msg: 'UserSig issued',
    },
  })
  return res.body.userSig as string
}

async function issuePrivateMapKey(
  name: string,
  body: { userId: string; privileges: number | string[] } & (
    { roomId: number } | { strRoomId: string }
  ),
) {
  const res = await post(main.app, '/privatemapkey', TOKENS.chat, { sdkAppId: APP_A, ...body })
  expect({ name, status: res.status }).toEqual({ name, status: 200 })
  exchanges.push({
    name,
    res,
    issued: res.body.privateMapKey,
    audit: {
      level: 30,
      time: expect.any(Number),
      service: 'usersig-service',
      audit: 'privatemapkey.issued',
      requestId: res.headers['x-request-id'],
      client: 'chat-backend',
      via: 'static',
      sdkAppId: APP_A,
      userId: body.userId,
      expire: 300,
      keyId: '2026-11',
      ...('roomId' in body ? { roomId: body.roomId } : { strRoomId: body.strRoomId }),
      privileges: res.body.privileges,
      msg: 'PrivateMapKey issued',
    },
  })
  return res.body.privateMapKey as string
}

beforeAll(async () => {
  // Issue: every client that may, both apps, default and explicit expire.
  const alice = await issueUserSig('issue alice', TOKENS.chat, 'chat-backend', {
    sdkAppId: APP_A,
    userId: 'alice',
  })
  await issueUserSig('issue bob (explicit expire)', TOKENS.chat, 'chat-backend', {
    sdkAppId: APP_A,
    userId: 'bob',
    expire: 3600,
  })
  await issueUserSig('issue via tokenSha256 client', TOKENS.hashed, 'hashed-client', {
    sdkAppId: APP_A,
    userId: 'carol',
  })
  await issueUserSig('issue via issuer-only', TOKENS.issuer, 'issuer-only', {
    sdkAppId: APP_A,
    userId: 'dave',
  })
  const printable = await issueUserSig('issue app B', TOKENS.other, 'other-app', {
    sdkAppId: APP_B,
    userId: 'al ice',
  })
  const numericRoom = await issuePrivateMapKey('pmk numeric room', {
    userId: 'alice',
    roomId: 1234,
    privileges: 255,
  })
  await issuePrivateMapKey('pmk string room', {
    userId: 'alice',
    strRoomId: 'lobby',
    privileges: ['enterRoom', 'receiveAudio'],
  })

  // Tickets made on the test side.
  const rotated = signUserSig(
    { sdkAppId: APP_A, userId: 'alice', expire: 600, now: NOW },
    KEYS.aOld,
  )
  const foreign = signUserSig({ sdkAppId: APP_B, userId: 'alice', expire: 600, now: NOW }, KEYS.b)
  const stale = signUserSig(
    { sdkAppId: APP_A, userId: 'alice', expire: 600, now: NOW - 601 },
    KEYS.aNew,
  )
  const codecPmk = signPrivateMapKey(
    { sdkAppId: APP_A, userId: 'alice', expire: 300, now: NOW, strRoomId: 'r', privileges: 1 },
    KEYS.aNew,
  )
  const tampered = encodeTicketJson({ ...ticketJson(alice), 'TLS.expire': 1_576_800_000 })
  const flipped = alice.slice(0, 50) + (alice[50] === 'A' ? 'B' : 'A') + alice.slice(51)
  sentTickets.push(rotated, foreign, stale, codecPmk, tampered, flipped)

  // Verify: every verdict.
  const verify = (
    name: string,
    body: object,
    on: TestApp = main,
    token: string | null = TOKENS.chat,
  ) => record(name, post(on.app, '/usersig/verify', token, body))
  await verify('verify valid', { sdkAppId: APP_A, userId: 'alice', userSig: alice })
  await verify('verify rotated', { sdkAppId: APP_A, userId: 'alice', userSig: rotated })
  await verify(
    'verify expired (later clock)',
    { sdkAppId: APP_A, userId: 'alice', userSig: alice },
    later,
  )
  await verify('verify expired (old ticket)', { sdkAppId: APP_A, userId: 'alice', userSig: stale })
  await verify('verify tampered', { sdkAppId: APP_A, userId: 'alice', userSig: tampered })
  await verify('verify flipped', { sdkAppId: APP_A, userId: 'alice', userSig: flipped })
  await verify('verify other user', { sdkAppId: APP_A, userId: 'bob', userSig: alice })
  await verify('verify other app', { sdkAppId: APP_A, userId: 'alice', userSig: foreign })
  await verify('verify pmk as usersig', { sdkAppId: APP_A, userId: 'alice', userSig: numericRoom })
  await verify('verify pmk', {
    sdkAppId: APP_A,
    userId: 'alice',
    userSig: codecPmk,
    kind: 'privatemapkey',
  })
  await verify('verify empty', { sdkAppId: APP_A, userId: 'alice', userSig: '' })
  await verify('verify too long', { sdkAppId: APP_A, userId: 'alice', userSig: alice.repeat(30) })
  await verify('verify app B ticket by app A client (403)', {
    sdkAppId: APP_B,
    userId: 'al ice',
    userSig: printable,
  })
  await verify(
    'verify by issuer-only (403)',
    { sdkAppId: APP_A, userId: 'alice', userSig: alice },
    main,
    TOKENS.issuer,
  )
  await verify(
    'verify without token (401)',
    { sdkAppId: APP_A, userId: 'alice', userSig: alice },
    main,
    null,
  )
  await verify('verify, ticket in an extra field (400)', {
    sdkAppId: APP_A,
    userId: 'alice',
    userSig: 'x',
    copy: alice,
  })
  await verify('verify, ticket as the kind (400)', {
    sdkAppId: APP_A,
    userId: 'alice',
    userSig: 'x',
    kind: alice,
  })
  await verify(
    'verify, debug off, valid token (404)',
    { sdkAppId: APP_A, userId: 'alice', userSig: alice },
    off,
  )
  await verify(
    'verify, debug off, no token (401)',
    { sdkAppId: APP_A, userId: 'alice', userSig: alice },
    off,
    null,
  )

  // Authentication failures, with tokens and secrets where an attacker might put them.
  const body = { sdkAppId: APP_A, userId: 'alice' }
  await record('401 no header', request(main.app).post('/usersig').send(body))
  await record('401 wrong token', post(main.app, '/usersig', TOKENS.chat.slice(0, -1) + 'x', body))
  await record('401 secret as token', post(main.app, '/usersig', SECRETS.aNew, body))
  await record(
    '401 Basic with a token',
    request(main.app).post('/usersig').set('Authorization', `Basic ${TOKENS.chat}`).send(body),
  )
  await record(
    '401 hash of a token',
    post(main.app, '/usersig', createHash('sha256').update(TOKENS.hashed).digest('hex'), body),
  )
  await record(
    '403 app outside grant',
    post(main.app, '/usersig', TOKENS.chat, { sdkAppId: APP_B, userId: 'a' }),
  )
  await record(
    '403 unknown app',
    post(main.app, '/usersig', TOKENS.chat, { sdkAppId: UNKNOWN_APP, userId: 'a' }),
  )
  await record(
    '403 reserved user id (administrator) without usersig:issue-admin',
    post(main.app, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId: 'administrator' }),
  )
  await record(
    '403 user id outside the caller pattern',
    post(narrow.app, '/usersig', GAME_TOKEN, { sdkAppId: APP_A, userId: 'alice' }),
  )
  await record(
    '403 privileges beyond maxPrivileges',
    post(narrow.app, '/privatemapkey', GAME_TOKEN, {
      sdkAppId: APP_A,
      userId: 'player_1',
      roomId: 1,
      privileges: 255,
    }),
  )
  await record(
    '401 /metrics with a caller token instead of the metrics token',
    request(narrow.app).get('/metrics').set('Authorization', `Bearer ${GAME_TOKEN}`),
  )
  await record(
    'GET /metrics with the metrics token',
    request(narrow.app).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`),
  )
  await record(
    '403 pmk by issuer-only',
    post(main.app, '/privatemapkey', TOKENS.issuer, {
      sdkAppId: APP_A,
      userId: 'a',
      roomId: 1,
      privileges: 1,
    }),
  )

  // Request errors that carry secrets, tokens and tickets in the body.
  await record(
    '400 expire out of range',
    post(main.app, '/usersig', TOKENS.chat, { ...body, expire: 1 }),
  )
  await record(
    '400 user id policy',
    post(main.app, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId: 'al ice' }),
  )
  await record(
    '400 token as userId',
    post(main.app, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId: TOKENS.other }),
  )
  await record(
    '400 secret as userId',
    post(main.app, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId: SECRETS.aOld }),
  )
  await record(
    '400 secret in extra field',
    post(main.app, '/usersig', TOKENS.chat, { ...body, secret: SECRETS.b }),
  )
  await record(
    '400 ticket as sdkAppId',
    post(main.app, '/usersig', TOKENS.chat, { sdkAppId: alice, userId: 'a' }),
  )
  await record(
    '400 pmk both rooms',
    post(main.app, '/privatemapkey', TOKENS.chat, {
      sdkAppId: APP_A,
      userId: 'a',
      roomId: 1,
      strRoomId: alice.slice(0, 60),
      privileges: 1,
    }),
  )
  await record(
    '400 pmk bad privilege name (a token)',
    post(main.app, '/privatemapkey', TOKENS.chat, {
      sdkAppId: APP_A,
      userId: 'a',
      roomId: 1,
      privileges: [TOKENS.chat],
    }),
  )
  const auth = `Bearer ${TOKENS.chat}`
  await record(
    '400 malformed JSON holding a secret and a ticket',
    request(main.app)
      .post('/usersig')
      .set('Authorization', auth)
      .type('application/json')
      .send(`{"secret":"${SECRETS.aNew}","userSig":"${alice}",`),
  )
  await record(
    '415 text body holding a ticket',
    request(main.app)
      .post('/usersig/verify')
      .set('Authorization', auth)
      .type('text/plain')
      .send(alice),
  )
  await record(
    '413 body holding a ticket',
    request(main.app)
      .post('/usersig/verify')
      .set('Authorization', auth)
      .type('application/json')
      .send(JSON.stringify({ sdkAppId: APP_A, userId: 'alice', userSig: alice.repeat(100) })),
  )
  await record('404 unknown route', request(main.app).get('/nope').set('Authorization', auth))
  await record(
    '405 PUT /usersig',
    request(main.app).put('/usersig').set('Authorization', auth).send(body),
  )

  // Operations.
  for (const path of [
    '/healthz',
    '/readyz',
    '/metrics',
    '/openapi.yaml',
    '/docs/',
    '/docs/swagger-ui-init.js',
  ]) {
    await record(`GET ${path}`, request(main.app).get(path))
  }
})

/** Everything that must not leave the service except a ticket in its own issuing response. */
function forbiddenValues(): { label: string; value: string }[] {
  return [
    ...ALL_SECRETS.map((value, i) => ({ label: `secret #${i}`, value })),
    ...ALL_SECRETS.map((value, i) => ({
      label: `secret #${i} (base64)`,
      value: Buffer.from(value).toString('base64'),
    })),
    ...TOKENS_HERE.map((value, i) => ({ label: `token #${i}`, value })),
    ...TOKENS_HERE.map((value, i) => ({
      label: `token #${i} (SHA-256)`,
      value: createHash('sha256').update(value).digest('hex'),
    })),
    ...issuedTickets().map((value, i) => ({ label: `issued ticket #${i}`, value })),
    ...sentTickets.map((value, i) => ({ label: `sent ticket #${i}`, value })),
  ]
}

function issuedTickets(): string[] {
  return exchanges.flatMap((e) => (e.issued === undefined ? [] : [e.issued]))
}

function allLogLines(): string[] {
  return APPS.flatMap((a) => a.logLines)
}

function allLogs(): Record<string, unknown>[] {
  return APPS.flatMap((a) => a.logs())
}

describe('nothing secret leaves the service', () => {
  test('the traffic covered issues, verdicts, every error status and operations', () => {
    expect(issuedTickets()).toHaveLength(7)
    expect(new Set(exchanges.map((e) => e.res.status))).toEqual(
      new Set([200, 400, 401, 403, 404, 405, 413, 415]),
    )
  })

  test('no log line holds a secret, a token, its hash, or a ticket', () => {
    const lines = allLogLines()
    expect(lines.length).toBeGreaterThan(exchanges.length)
    for (const { label, value } of forbiddenValues()) {
      const hits = lines.filter((line) => line.includes(value))
      expect({ label, hits }).toEqual({ label, hits: [] })
    }
  })

  test('no response holds a secret, a token, its hash, or a ticket, except a ticket in its own issuing response', () => {
    for (const { name, res, issued } of exchanges) {
      const text = responseText(res)
      const leaked = forbiddenValues()
        .filter(({ value }) => value !== issued && text.includes(value))
        .map(({ label }) => label)
      expect({ name, leaked }).toEqual({ name, leaked: [] })
    }
  })

  test('each issued ticket appears in exactly one response: its own', () => {
    for (const ticket of issuedTickets()) {
      const holders = exchanges
        .filter(({ res }) => responseText(res).includes(ticket))
        .map(({ name }) => name)
      expect(holders).toEqual(exchanges.filter((e) => e.issued === ticket).map((e) => e.name))
      expect(holders).toHaveLength(1)
    }
  })

  test('every issue has its audit line, with who, what and which key, and no ticket', () => {
    const logs = allLogs()
    for (const { name, res, audit } of exchanges) {
      if (audit === undefined) continue
      const lines = logs.filter(
        (entry) =>
          String(entry.audit).endsWith('.issued') &&
          entry.requestId === res.headers['x-request-id'],
      )
      expect({ name, lines }).toEqual({ name, lines: [audit] })
    }
    expect(logs.filter((entry) => String(entry.audit).endsWith('.issued'))).toHaveLength(
      issuedTickets().length,
    )
  })

  test('every request has exactly one access line at debug, by route template, never the body', () => {
    const logs = allLogs()
    for (const { name, res } of exchanges) {
      const lines = logs.filter(
        (entry) => entry.msg === 'request' && entry.requestId === res.headers['x-request-id'],
      )
      expect({ name, count: lines.length }).toEqual({ name, count: 1 })
      expect(Object.keys(lines[0] ?? {}).sort()).toEqual(
        ['level', 'time', 'service', 'requestId', 'method', 'route', 'status', 'ms', 'msg'].sort(),
      )
    }
  })
})
