// The typed client against a loopback server that misbehaves on purpose: it hangs before the
// headers or in the body, resets the connection, answers 429/503 with and without Retry-After,
// or too much. Real HTTP and real timers, with short timeouts and delays; every wait the client
// schedules is recorded through onRetry.
import type { ServerResponse } from 'node:http'
import {
  createUserSigClient,
  issueUserSig,
  UserSigApiError,
  UserSigError,
  UserSigNetworkError,
  UserSigTimeoutError,
  type RetryEvent,
  type UserSigClientOptions,
} from '../../src/client/index.js'
import { freePort } from '../helpers/process.js'
import { problem, startRecordingServer, type RecordingServer } from '../helpers/recording-server.js'

const TOKEN = 'hostile-test-token-0123456789abcdef'
const ASK = { sdkAppId: 1400000000, userId: 'alice' }
const ISSUED = {
  userSig: 'eAEB',
  sdkAppId: 1400000000,
  userId: 'alice',
  expire: 86400,
  issuedAt: 1_700_000_000,
  expiresAt: 1_700_086_400,
  keyId: 'k1',
}
const ok = (res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ISSUED))
// Fast retries for tests: a few ms of back-off.
const FAST = { baseDelayMs: 10, maxDelayMs: 40 }

let server: RecordingServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** A scripted server, a client on it, and the waits the client scheduled. */
async function against(
  handle: Parameters<typeof startRecordingServer>[0],
  options: Partial<UserSigClientOptions> = {},
) {
  server = await startRecordingServer(handle)
  const retries: RetryEvent[] = []
  const retry =
    typeof options.retry === 'object'
      ? { ...options.retry, onRetry: (event: RetryEvent) => void retries.push(event) }
      : options.retry
  const client = createUserSigClient({
    baseUrl: server.url,
    token: TOKEN,
    ...options,
    ...(retry === undefined ? {} : { retry }),
  })
  return { client, retries, requests: server.requests }
}

/** The call's outcome: the error it threw, and how long it took. */
async function failure(call: Promise<unknown>) {
  const started = performance.now()
  const error = await call.then(
    () => {
      throw new Error('the call succeeded')
    },
    (e: unknown) => e,
  )
  return { error, ms: performance.now() - started }
}

/** No error of the client ever holds the token. */
function expectNoToken(error: unknown) {
  const e = error as Error
  expect(`${JSON.stringify(e)} ${e.message} ${String(e.stack)} ${String(e.cause)}`).not.toContain(
    TOKEN,
  )
}

describe('timeouts: the whole exchange, headers and body', () => {
  test('a server that never sends headers: UserSigTimeoutError after timeoutMs', async () => {
    const { client, requests } = await against(() => {}, { timeoutMs: 200 })
    const { error, ms } = await failure(issueUserSig(client, ASK))
    expect(error).toBeInstanceOf(UserSigTimeoutError)
    expect(error).toBeInstanceOf(UserSigError)
    expect(error).toMatchObject({ name: 'UserSigTimeoutError', timeoutMs: 200 })
    expect((error as Error).message).toBe('no whole answer within 200 ms')
    expect(ms).toBeGreaterThanOrEqual(190)
    expect(ms).toBeLessThan(3000)
    expect(requests).toHaveLength(1)
    expectNoToken(error)
  })

  test('headers, then a body that stalls: the same timeout', async () => {
    const { client } = await against(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write('{"userSig": "eAEB') // and nothing more
      },
      { timeoutMs: 200 },
    )
    const { error, ms } = await failure(issueUserSig(client, ASK))
    expect(error).toBeInstanceOf(UserSigTimeoutError)
    expect(ms).toBeGreaterThanOrEqual(190)
    expect(ms).toBeLessThan(3000)
  })

  test('a fetch given in the options that ignores the abort signal is timed out all the same', async () => {
    const client = createUserSigClient({
      baseUrl: 'http://127.0.0.1:9',
      token: TOKEN,
      timeoutMs: 100,
      fetch: () => new Promise<Response>(() => {}),
    })
    const { error, ms } = await failure(issueUserSig(client, ASK))
    expect(error).toBeInstanceOf(UserSigTimeoutError)
    expect(ms).toBeLessThan(3000)
  })

  test('a signal aborted before the call: the call ends at once with its reason', async () => {
    const { client, requests } = await against((_req, res) => ok(res))
    const signal = AbortSignal.abort(new Error('too late'))
    const { error } = await failure(issueUserSig(client, ASK, { signal }))
    expect(error).toEqual(new Error('too late'))
    expect(requests).toHaveLength(0)
  })

  test('a timed-out attempt is retried; the next answer is used', async () => {
    const { client, retries, requests } = await against((_req, res, n) => n > 1 && ok(res), {
      timeoutMs: 150,
      retry: FAST,
    })
    expect(await issueUserSig(client, ASK)).toEqual(ISSUED)
    expect(requests).toHaveLength(2)
    expect(retries.map((r) => [r.attempt, r.error.name])).toEqual([[1, 'UserSigTimeoutError']])
  })

  test('the total time caps the attempts: a hanging server is left when totalMs is spent', async () => {
    const { client, requests } = await against(() => {}, {
      timeoutMs: 5000,
      retry: { ...FAST, attempts: 10, totalMs: 400 },
    })
    const { error, ms } = await failure(issueUserSig(client, ASK))
    expect(error).toBeInstanceOf(UserSigTimeoutError)
    expect((error as UserSigTimeoutError).timeoutMs).toBeLessThanOrEqual(400)
    expect(ms).toBeGreaterThanOrEqual(390)
    expect(ms).toBeLessThan(3000)
    expect(requests).toHaveLength(1)
  })
})

describe('network errors', () => {
  test('a reset connection: UserSigNetworkError with the code, retried up to the attempts', async () => {
    const { client, retries, requests } = await against((req) => req.socket.resetAndDestroy(), {
      retry: { ...FAST, attempts: 3 },
    })
    const { error } = await failure(issueUserSig(client, ASK))
    expect(error).toBeInstanceOf(UserSigNetworkError)
    expect((error as UserSigNetworkError).code).toMatch(/^(ECONNRESET|UND_ERR_SOCKET)$/)
    expect(requests).toHaveLength(3)
    expect(retries.map((r) => r.attempt)).toEqual([1, 2])
    expectNoToken(error)
  })

  test('a body cut short by a reset: a network error, not a parse error', async () => {
    const { client } = await against((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' })
      res.write('{"userSig": "eAEB', () => res.socket?.resetAndDestroy())
    })
    const { error } = await failure(issueUserSig(client, ASK))
    expect(error).toBeInstanceOf(UserSigNetworkError)
  })

  test('nothing listening: ECONNREFUSED, and without retry a single attempt', async () => {
    const client = createUserSigClient({
      baseUrl: `http://127.0.0.1:${await freePort()}`,
      token: TOKEN,
    })
    const { error } = await failure(issueUserSig(client, ASK))
    expect(error).toBeInstanceOf(UserSigNetworkError)
    expect(error).toMatchObject({ code: 'ECONNREFUSED' })
    expect((error as Error).message).toBe('no answer from the service (ECONNREFUSED)')
  })

  test('an answer over 4 MiB is refused, not read to its end', async () => {
    const { client } = await against((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = 'x'.repeat(1 << 20)
      const more = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more)
      }
      more()
    })
    const { error } = await failure(issueUserSig(client, ASK))
    expect(error).toBeInstanceOf(UserSigNetworkError)
    expect((error as Error).message).toBe('the answer is larger than 4194304 bytes')
  })
})

describe('429 and 503: retried with back-off, honouring Retry-After', () => {
  test('429 with Retry-After: 1, then 200: the client waits a second and gets the ticket', async () => {
    const { client, retries, requests } = await against(
      (_req, res, n) =>
        n === 1 ? problem(res, 429, 'rate_limited', { 'retry-after': '1' }) : ok(res),
      { retry: FAST },
    )
    expect(await issueUserSig(client, ASK)).toEqual(ISSUED)
    expect(retries).toEqual([{ attempt: 1, delayMs: 1000, error: expect.any(UserSigApiError) }])
    expect(retries[0]?.error).toMatchObject({
      status: 429,
      code: 'rate_limited',
      retryAfterMs: 1000,
    })
    const [first, second] = requests
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950)
  })

  test('503 without Retry-After: jittered exponential back-off within its ceilings, then the last error with its fields', async () => {
    const { client, retries, requests } = await against(
      (_req, res) => problem(res, 503, 'auth_unavailable', { 'x-extra': 'kept' }),
      { retry: { baseDelayMs: 20, maxDelayMs: 50, attempts: 5, totalMs: 5000 } },
    )
    const { error } = await failure(issueUserSig(client, ASK))
    expect(requests).toHaveLength(5)
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3, 4])
    // Full jitter: a random wait up to 20, 40, then 50 (the cap) ms.
    const ceilings = [20, 40, 50, 50]
    retries.forEach((r, i) => {
      expect(r.delayMs).toBeGreaterThanOrEqual(0)
      expect(r.delayMs).toBeLessThanOrEqual(ceilings[i] as number)
    })
    expect(error).toBeInstanceOf(UserSigApiError)
    const apiError = error as UserSigApiError
    expect(apiError).toMatchObject({
      status: 503,
      code: 'auth_unavailable',
      retryAfterMs: undefined,
      problem: { status: 503, code: 'auth_unavailable' },
    })
    expect(apiError.headers.get('x-extra')).toBe('kept')
    expect(apiError.message).toBe('503 auth_unavailable: scripted')
    expectNoToken(error)
  })

  test('a Retry-After beyond the time left ends retrying at once, with the error and its delay', async () => {
    const { client, retries, requests } = await against(
      (_req, res) => problem(res, 429, 'rate_limited', { 'retry-after': '30' }),
      { retry: { ...FAST, totalMs: 2000 } },
    )
    const { error, ms } = await failure(issueUserSig(client, ASK))
    expect(requests).toHaveLength(1)
    expect(retries).toEqual([])
    expect(ms).toBeLessThan(1500)
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', retryAfterMs: 30_000 })
    expect((error as UserSigApiError).headers.get('retry-after')).toBe('30')
  })

  test('Retry-After as an HTTP date is read too', async () => {
    const inTwoSeconds = new Date(Date.now() + 2000).toUTCString()
    const { client } = await against((_req, res) =>
      problem(res, 503, 'auth_unavailable', { 'retry-after': inTwoSeconds }),
    )
    const { error } = await failure(issueUserSig(client, ASK))
    const waitMs = (error as UserSigApiError).retryAfterMs
    // The date has whole seconds: between 1 and 2 s from now.
    expect(waitMs).toBeGreaterThan(500)
    expect(waitMs).toBeLessThanOrEqual(2000)
  })

  test('without the retry option, a 503 is one attempt', async () => {
    const { client, requests } = await against((_req, res) => problem(res, 503, 'auth_unavailable'))
    expect((await failure(issueUserSig(client, ASK))).error).toMatchObject({ status: 503 })
    expect(requests).toHaveLength(1)
  })
})

describe('never retried', () => {
  test.each([
    [400, 'invalid_request'],
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not_found'],
    [500, 'internal_error'],
  ])('%i %s: one attempt, even with retries on', async (status, code) => {
    const { client, requests } = await against((_req, res) => problem(res, status, code), {
      retry: { ...FAST, attempts: 5 },
    })
    expect((await failure(issueUserSig(client, ASK))).error).toMatchObject({ status, code })
    expect(requests).toHaveLength(1)
  })

  test('500 only when asked for (retry.statuses)', async () => {
    const { client, requests } = await against(
      (_req, res, n) => (n === 1 ? problem(res, 500, 'internal_error') : ok(res)),
      { retry: { ...FAST, statuses: [500, 503] } },
    )
    expect(await issueUserSig(client, ASK)).toEqual(ISSUED)
    expect(requests).toHaveLength(2)
  })

  test("the caller's abort: during a back-off wait, the call ends with the abort's reason", async () => {
    const { client, requests } = await against(
      (_req, res) => problem(res, 429, 'rate_limited', { 'retry-after': '5' }),
      { retry: { ...FAST, totalMs: 10_000 } },
    )
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('the user left')), 200)
    const { error, ms } = await failure(issueUserSig(client, ASK, { signal: controller.signal }))
    expect(error).toEqual(new Error('the user left'))
    expect(ms).toBeLessThan(3000)
    expect(requests).toHaveLength(1)
  })
})
