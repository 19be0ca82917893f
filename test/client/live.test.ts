// The typed client (src/client) against the real service process over real HTTP: no mocks.
import { randomBytes } from 'node:crypto'
import {
  createUserSigClient,
  issuePrivateMapKey,
  issueUserSig,
  issueUserSigBatch,
  UserSigApiError,
  verifyUserSig,
  type UserSigClient,
} from '../../src/client/index.js'
import { startService, type Service } from '../helpers/process.js'

const APP = 1400000000
const OTHER_APP = 1400000001
const secret = randomBytes(32).toString('hex')
const token = randomBytes(24).toString('base64url')
const narrowToken = randomBytes(24).toString('base64url')
let service: Service
let client: UserSigClient

beforeAll(async () => {
  service = await startService({
    NODE_ENV: 'test',
    USERSIG_DEBUG_ENDPOINTS: 'true',
    USERSIG_APPS: JSON.stringify({
      [APP]: { keys: [{ id: 'k1', secret }] },
      [OTHER_APP]: { keys: [{ id: 'k2', secret: randomBytes(32).toString('hex') }] },
    }),
    USERSIG_CLIENTS: JSON.stringify([
      {
        id: 'backend',
        token,
        apps: [APP],
        scopes: ['usersig:issue', 'usersig:verify', 'privatemapkey:issue'],
      },
      { id: 'narrow', token: narrowToken, apps: [APP], scopes: ['usersig:issue'] },
    ]),
  })
  expect(service.stdout).toContain('"msg":"listening"')
  client = createUserSigClient({ baseUrl: service.url, token })
})
afterAll(async () => {
  service.child.kill('SIGKILL')
  await service.exited
})

test('issues a UserSig, and verify says it is valid and signed by k1', async () => {
  const issued = await issueUserSig(client, { sdkAppId: APP, userId: 'alice', expire: 3600 })
  expect(issued).toEqual({
    userSig: expect.any(String),
    sdkAppId: APP,
    userId: 'alice',
    expire: 3600,
    issuedAt: expect.any(Number),
    expiresAt: issued.issuedAt + 3600,
    keyId: 'k1',
  })

  const verdict = await verifyUserSig(client, {
    sdkAppId: APP,
    userId: 'alice',
    userSig: issued.userSig,
  })
  expect(verdict).toMatchObject({ valid: true, code: null, keyId: 'k1' })
  expect(verdict.ticket).toMatchObject({ userId: 'alice', sdkAppId: APP, expire: 3600 })
})

test('issues a PrivateMapKey', async () => {
  const issued = await issuePrivateMapKey(client, {
    sdkAppId: APP,
    userId: 'alice',
    roomId: 1234,
    privileges: ['enterRoom', 'sendAudio'],
  })
  expect(issued).toMatchObject({
    privateMapKey: expect.any(String),
    sdkAppId: APP,
    userId: 'alice',
    roomId: 1234,
    strRoomId: null,
    keyId: 'k1',
  })
  expect(issued.privilegeNames).toEqual(expect.arrayContaining(['enterRoom', 'sendAudio']))
})

test('issues a batch, with per-user results in request order', async () => {
  const batch = await issueUserSigBatch(client, {
    sdkAppId: APP,
    userIds: ['alice', 'bob', 'not a valid id!'],
  })
  expect(batch).toMatchObject({ sdkAppId: APP, keyId: 'k1', issued: 2, failed: 1 })
  expect(batch.results).toEqual([
    { userId: 'alice', userSig: expect.any(String) },
    { userId: 'bob', userSig: expect.any(String) },
    {
      userId: 'not a valid id!',
      error: { code: 'user_id_invalid', message: expect.any(String) },
    },
  ])
})

test('a refused call throws a UserSigApiError with the problem code, and no token', async () => {
  const narrow = createUserSigClient({ baseUrl: service.url, token: narrowToken })
  const err: unknown = await issuePrivateMapKey(narrow, {
    sdkAppId: APP,
    userId: 'alice',
    roomId: 1,
    privileges: 255,
  }).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(UserSigApiError)
  const apiError = err as UserSigApiError
  expect(apiError).toMatchObject({ status: 403, code: 'forbidden' })
  expect(apiError.problem).toMatchObject({ status: 403, code: 'forbidden' })
  expect(apiError.message).toMatch(/^403 forbidden: /)
  expect(JSON.stringify(apiError) + apiError.message + String(apiError.stack)).not.toContain(
    narrowToken,
  )

  // An app the caller was not granted is the same 403.
  await expect(
    issueUserSig(client, { sdkAppId: OTHER_APP, userId: 'alice' }),
  ).rejects.toMatchObject({ status: 403, code: 'forbidden' })
})

test('a wrong token is a 401 unauthorized', async () => {
  const stranger = createUserSigClient({
    baseUrl: service.url,
    token: randomBytes(24).toString('base64url'),
  })
  await expect(issueUserSig(stranger, { sdkAppId: APP, userId: 'alice' })).rejects.toMatchObject({
    name: 'UserSigApiError',
    status: 401,
    code: 'unauthorized',
  })
})

test('a client with retries against a rate-limited service: a Retry-After past the time budget fails at once, with the headers', async () => {
  const limited = await startService({
    NODE_ENV: 'test',
    USERSIG_RATE_LIMIT_PER_MINUTE: '1',
    USERSIG_APPS: JSON.stringify({ [APP]: { keys: [{ id: 'k1', secret }] } }),
    USERSIG_CLIENTS: JSON.stringify([
      { id: 'backend', token, apps: [APP], scopes: ['usersig:issue'] },
    ]),
  })
  try {
    const retrying = createUserSigClient({
      baseUrl: limited.url,
      token,
      retry: { attempts: 5, totalMs: 3000 },
    })
    await issueUserSig(retrying, { sdkAppId: APP, userId: 'alice' })
    const started = Date.now()
    const err: unknown = await issueUserSig(retrying, { sdkAppId: APP, userId: 'alice' }).catch(
      (e: unknown) => e,
    )
    expect(Date.now() - started).toBeLessThan(2500)
    expect(err).toBeInstanceOf(UserSigApiError)
    const apiError = err as UserSigApiError
    expect(apiError).toMatchObject({ status: 429, code: 'rate_limited' })
    // The rest of the minute: far past the 3 s budget.
    expect(apiError.retryAfterMs).toBeGreaterThan(3000)
    expect(apiError.retryAfterMs).toBeLessThanOrEqual(60_000)
    expect(apiError.headers.get('ratelimit')).toMatch(/^"1-in-1min"; r=0; t=\d+$/)
    expect(apiError.problem?.requestId).toBe(apiError.headers.get('x-request-id'))
  } finally {
    limited.child.kill('SIGKILL')
    await limited.exited
  }
})
