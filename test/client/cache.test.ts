// The ticket cache against the real service process: tickets kept until the margin before they
// expire, concurrent asks sharing one request, failures not kept, entries bounded. What reached
// the service is counted twice: by the client's requests, and by the service's own audit lines.
import { randomBytes } from 'node:crypto'
import {
  createUserSigCache,
  createUserSigClient,
  UserSigApiError,
  type UserSigClient,
} from '../../src/client/index.js'
import { startService, waitForOutput, type Service } from '../helpers/process.js'

const APP = 1400000000
const OTHER_APP = 1400000001
const token = randomBytes(24).toString('base64url')
let service: Service

beforeAll(async () => {
  service = await startService({
    NODE_ENV: 'test',
    USERSIG_APPS: JSON.stringify({
      [APP]: { keys: [{ id: 'k1', secret: randomBytes(32).toString('hex') }] },
    }),
    USERSIG_CLIENTS: JSON.stringify([
      { id: 'backend', token, apps: [APP], scopes: ['usersig:issue'] },
    ]),
  })
  expect(service.stdout).toContain('"msg":"listening"')
})
afterAll(async () => {
  service.child.kill('SIGKILL')
  await service.exited
})

/** A client that counts the requests it sends, by user id. */
function countingClient(): { client: UserSigClient; asked: string[] } {
  const asked: string[] = []
  const client = createUserSigClient({
    baseUrl: service.url,
    token,
    fetch: async (request) => {
      const { userId } = (await request.clone().json()) as { userId: string }
      asked.push(userId)
      return fetch(request)
    },
  })
  return { client, asked }
}

/** The service's audit lines of UserSigs issued to `userId` (they never hold the ticket). */
const issuedTo = (userId: string) =>
  service.stdout
    .split('\n')
    .filter((line) => line.includes('"audit":"usersig.issued"') && line.includes(`"${userId}"`))
    .length

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('a second ask is answered from the cache: one request, one ticket issued, the same ticket', async () => {
  const { client, asked } = countingClient()
  const cache = createUserSigCache(client)
  const first = await cache.get(APP, 'cache-alice')
  const second = await cache.get(APP, 'cache-alice')
  expect(second).toBe(first)
  expect(Object.isFrozen(first)).toBe(true)
  expect(first).toMatchObject({ sdkAppId: APP, userId: 'cache-alice', keyId: 'k1' })
  expect(asked).toEqual(['cache-alice'])
  expect(cache.size).toBe(1)
  await waitForOutput(service, () => issuedTo('cache-alice') >= 1)
  expect(issuedTo('cache-alice')).toBe(1)
})

test('concurrent asks for one user share one request; each user gets their own', async () => {
  const { client, asked } = countingClient()
  const cache = createUserSigCache(client)
  const answers = await Promise.all([
    ...Array.from({ length: 20 }, () => cache.get(APP, 'cache-bob')),
    ...Array.from({ length: 5 }, () => cache.get(APP, 'cache-carol')),
  ])
  expect(new Set(answers.slice(0, 20).map((a) => a.userSig)).size).toBe(1)
  expect(answers[20]?.userId).toBe('cache-carol')
  expect(asked.sort()).toEqual(['cache-bob', 'cache-carol'])
  // Both audit lines, in whichever order the two requests were answered.
  await waitForOutput(service, () => issuedTo('cache-bob') >= 1 && issuedTo('cache-carol') >= 1)
  expect([issuedTo('cache-bob'), issuedTo('cache-carol')]).toEqual([1, 1])
})

test('a ticket is handed out until the margin before it expires, then a new one is asked for', async () => {
  const { client, asked } = countingClient()
  // A 60 s ticket and a 59 s margin: kept for about 1 s.
  const cache = createUserSigCache(client, { expire: 60, marginSeconds: 59 })
  const first = await cache.get(APP, 'cache-dave')
  expect(first.expire).toBe(60)
  expect(await cache.get(APP, 'cache-dave')).toEqual(first)
  expect(asked).toHaveLength(1)
  await sleep(1200)
  const renewed = await cache.get(APP, 'cache-dave')
  expect(asked).toHaveLength(2)
  expect(renewed.issuedAt).toBeGreaterThan(first.issuedAt)
})

test('a ticket with no more than the margin to live is handed out but not kept', async () => {
  const { client, asked } = countingClient()
  // The app's default expire (60 days) is shorter than a 100-day margin.
  const cache = createUserSigCache(client, { marginSeconds: 100 * 86_400 })
  await cache.get(APP, 'cache-erin')
  await cache.get(APP, 'cache-erin')
  expect(asked).toHaveLength(2)
  expect(cache.size).toBe(0)
})

test('a failed ask is not kept: every ask after it asks the service again', async () => {
  const { client, asked } = countingClient()
  const cache = createUserSigCache(client)
  for (let i = 0; i < 2; i++) {
    const err: unknown = await cache.get(OTHER_APP, 'cache-frank').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserSigApiError)
    expect(err).toMatchObject({ status: 403, code: 'forbidden' })
  }
  expect(asked).toEqual(['cache-frank', 'cache-frank'])
  expect(cache.size).toBe(0)
})

test('bounded: past maxEntries the least recently used ticket goes; delete and clear forget', async () => {
  const { client, asked } = countingClient()
  const cache = createUserSigCache(client, { maxEntries: 2 })
  await cache.get(APP, 'lru-a')
  await cache.get(APP, 'lru-b')
  await cache.get(APP, 'lru-a') // a is now the more recently used
  await cache.get(APP, 'lru-c') // b goes
  expect(cache.size).toBe(2)
  await cache.get(APP, 'lru-a')
  expect(asked).toEqual(['lru-a', 'lru-b', 'lru-c'])
  await cache.get(APP, 'lru-b')
  expect(asked).toEqual(['lru-a', 'lru-b', 'lru-c', 'lru-b'])

  cache.delete(APP, 'lru-b')
  await cache.get(APP, 'lru-b')
  expect(asked).toHaveLength(5)
  cache.clear()
  expect(cache.size).toBe(0)
  await cache.get(APP, 'lru-b')
  expect(asked).toHaveLength(6)
})

test('a delete while the ask is under way: the answer is handed out, and not kept', async () => {
  const { client, asked } = countingClient()
  const cache = createUserSigCache(client)
  const asking = cache.get(APP, 'cache-gina')
  cache.delete(APP, 'cache-gina')
  expect((await asking).userId).toBe('cache-gina')
  expect(cache.size).toBe(0)
  await cache.get(APP, 'cache-gina')
  expect(asked).toHaveLength(2)
})
