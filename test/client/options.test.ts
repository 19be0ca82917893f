// The client's and the cache's options are checked at creation: each bad one is a TypeError that
// names it, and none quotes the token.
import {
  createUserSigCache,
  createUserSigClient,
  type UserSigClientOptions,
} from '../../src/client/index.js'

const token = 'options-test-token-0123456789abcdefgh'
const baseUrl = 'http://127.0.0.1:8080'
const create = (options: Record<string, unknown>) =>
  createUserSigClient({ baseUrl, token, ...options } as unknown as UserSigClientOptions)

test.each([
  [{ baseUrl: 'localhost:8080' }, '`baseUrl` must be an http:// or https:// URL'],
  [{ baseUrl: '127.0.0.1:8080' }, '`baseUrl` must be an http:// or https:// URL'],
  [{ baseUrl: 'ftp://127.0.0.1' }, '`baseUrl` must be an http:// or https:// URL'],
  [{ baseUrl: 'not a url' }, '`baseUrl` must be an http:// or https:// URL'],
  [{ baseUrl: 8080 }, '`baseUrl` must be an http:// or https:// URL'],
  [{ baseUrl: `http://user:${token}@127.0.0.1` }, '`baseUrl` must not hold a user name'],
  [{ baseUrl: 'http://127.0.0.1/?x=1' }, '`baseUrl` must not have a query or a fragment'],
  [{ token: '' }, '`token` must be 1 to 4096 visible ASCII characters'],
  [{ token: `a ${token}` }, '`token` must be 1 to 4096 visible ASCII characters'],
  [{ token: `${token}\n` }, '`token` must be 1 to 4096 visible ASCII characters'],
  [{ timeoutMs: 0 }, '`timeoutMs` must be an integer from 1 to 2147483647'],
  [{ timeoutMs: '5000' }, '`timeoutMs` must be an integer from 1 to 2147483647'],
  [{ timeoutMs: 1.5 }, '`timeoutMs` must be an integer from 1 to 2147483647'],
  [{ timeout: 5000 }, 'unknown option `timeout` (known: baseUrl, token, timeoutMs, retry, fetch)'],
  [{ retry: 3 }, '`retry` must be true, false or an object of retry options'],
  [{ retry: { attempts: 0 } }, '`retry.attempts` must be an integer from 1 to 10'],
  [{ retry: { attempts: 11 } }, '`retry.attempts` must be an integer from 1 to 10'],
  [{ retry: { totalMs: -1 } }, '`retry.totalMs` must be an integer from 1 to 2147483647'],
  [{ retry: { baseDelayMs: 500, maxDelayMs: 100 } }, '`retry.maxDelayMs` must be at least'],
  [{ retry: { statuses: [429, 401] } }, '`retry.statuses` must be a list of 429 and 5xx'],
  [{ retry: { statuses: 503 } }, '`retry.statuses` must be a list of 429 and 5xx'],
  [{ retry: { onRetry: 'log' } }, '`retry.onRetry` must be a function'],
  [{ retry: { tries: 3 } }, 'unknown option `retry.tries`'],
  [{ fetch: 'fetch' }, '`fetch` must be a function'],
])('createUserSigClient(%j) is refused', (options, message) => {
  let error: unknown
  try {
    create(options)
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(TypeError)
  expect((error as Error).message).toContain(`createUserSigClient: ${message}`)
  expect((error as Error).message).not.toContain(token)
})

test('good options are taken, retry as true or an object', () => {
  expect(() => create({})).not.toThrow()
  expect(() => create({ baseUrl: 'https://usersig.internal:8443/prefix/' })).not.toThrow()
  expect(() => create({ timeoutMs: 2000, retry: true })).not.toThrow()
  expect(() =>
    create({ retry: { attempts: 4, totalMs: 8000, statuses: [429, 500, 503] } }),
  ).not.toThrow()
  expect(() => create({ retry: false })).not.toThrow()
})

test.each([
  [{ marginSeconds: -1 }, '`marginSeconds` must be an integer from 0 to 1576800000'],
  [{ maxEntries: 0 }, '`maxEntries` must be an integer from 1 to 10000000'],
  [{ expire: 0 }, '`expire` must be an integer from 1 to 1576800000'],
  [{ expire: 600, marginSeconds: 600 }, '`marginSeconds` must be shorter than `expire`'],
  [{ ttl: 60 }, 'unknown option `ttl` (known: marginSeconds, maxEntries, expire)'],
])('createUserSigCache(client, %j) is refused', (options, message) => {
  expect(() => createUserSigCache(create({}), options as never)).toThrow(
    `createUserSigCache: ${message}`,
  )
})
