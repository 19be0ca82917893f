// The real process at its limits: over-long and bomb tickets, bodies and headers over the caps,
// slow clients that trickle headers or a body, and hundreds of idle sockets. Each is refused or
// closed, the server keeps serving, and its resident memory stays flat.
//
// The slow-client scenarios wait for Node's timeout sweep (about 17 s, idle): `npm test` runs them
// with 50 silent sockets, `npm run test:stress` with 500. The last console.log line of each
// scenario is the figure to quote.
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { deflateSync, gzipSync, inflateSync } from 'node:zlib'
import { BODY_LIMIT_BYTES } from '../../src/http/routes.js'
import {
  decodeUserSig,
  MAX_INFLATED_BYTES,
  MAX_TICKET_LENGTH,
  signUserSig,
  TicketError,
  verifyUserSig,
} from '../../src/usersig/index.js'
import { APP_A, KEYS, TOKENS, USERSIG_APPS, USERSIG_CLIENTS } from '../helpers/http.js'
import { startService, type Service } from '../helpers/process.js'
import { openSocket, parseResponses, rawExchange } from '../helpers/raw-http.js'
import { MiB, pool, rssBytes, sleep, tally } from '../helpers/reliability.js'
import { scaled } from '../helpers/stress.js'
import { tencentBase64 } from '../helpers/variants.js'

/**
 * The server timeouts main.ts sets (SERVER_TIMEOUTS), read from its source: importing main.ts
 * would start a server. docs/operations.md documents the same values (headers 10 s, request 15 s,
 * keep-alive 5 s).
 */
const SERVER_TIMEOUTS = (() => {
  const source = readFileSync(new URL('../../src/main.ts', import.meta.url), 'utf8')
  const read = (name: string) => {
    const match = new RegExp(`${name}: ([0-9_]+)`).exec(source)
    if (match === null) throw new Error(`src/main.ts no longer sets ${name} as a literal`)
    return Number((match[1] as string).replace(/_/g, ''))
  }
  return {
    headersTimeout: read('headersTimeout'),
    requestTimeout: read('requestTimeout'),
    keepAliveTimeout: read('keepAliveTimeout'),
  }
})()
/**
 * Node enforces headersTimeout and requestTimeout from a sweep that runs every
 * `connectionsCheckingInterval` (default 30 s; main.ts sets CONNECTIONS_CHECKING_INTERVAL_MS, 1 s).
 * A slow client is therefore cut at the first sweep after its deadline.
 */
const NODE_CHECKING_INTERVAL_MS = 1_000
/** Node's default --max-http-header-size. */
const MAX_HEADER_BYTES = 16 * 1024
/** The most a process's resident memory may grow across a scenario. */
const MAX_RSS_GROWTH = 30 * MiB

const ENV = {
  NODE_ENV: 'test',
  USERSIG_APPS: JSON.stringify(USERSIG_APPS),
  USERSIG_CLIENTS: JSON.stringify(USERSIG_CLIENTS),
  // Thousands of warm-up and probe requests from one caller: the rate limit is not under test.
  USERSIG_RATE_LIMIT_PER_MINUTE: '1000000',
}
const AUTH = `Authorization: Bearer ${TOKENS.chat}\r\n`

/** POST a JSON body with the chat token over a fresh connection; the parsed answer. */
async function postJson(port: number, path: string, body: string | Buffer, extra = '') {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  const x = await rawExchange(
    port,
    Buffer.concat([
      Buffer.from(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${AUTH}Content-Type: application/json\r\n${extra}` +
          `Content-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`,
        'latin1',
      ),
      bytes,
    ]),
    { end: false },
  )
  const res = x.responses.at(-1)
  return {
    status: res?.status ?? 0,
    body: res === undefined ? {} : (JSON.parse(res.body || '{}') as Record<string, unknown>),
    ms: x.ms,
  }
}

/** Issues a ticket through the service and checks it with the codec: the service still works. */
async function stillServing(service: Service): Promise<boolean> {
  const res = await fetch(`${service.url}/usersig`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKENS.chat}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sdkAppId: APP_A, userId: 'still-serving', expire: 3600 }),
  })
  if (res.status !== 200) return false
  const body = (await res.json()) as { userSig: string; issuedAt: number }
  return verifyUserSig(body.userSig, [KEYS.aNew], {
    sdkAppId: APP_A,
    userId: 'still-serving',
    now: body.issuedAt,
  }).valid
}

/** Ordinary traffic, so the heap reaches its working size before memory is measured. */
async function warmUp(service: Service, requests = 1500): Promise<void> {
  await pool(Array.from({ length: requests }), 16, async (_, i) => {
    const res = await fetch(`${service.url}/usersig`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.chat}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sdkAppId: APP_A, userId: `warm-${i % 50}` }),
    })
    await res.arrayBuffer()
  })
}

const rss = (service: Service) => rssBytes(service.child.pid as number)
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`

// --- tickets, bodies, headers and idle sockets at the limits ----------------------------------------

describe('limits, against the real process', () => {
  let service: Service
  let port: number
  let rssBaseline: number
  const figures: Record<string, string> = {}

  beforeAll(async () => {
    service = await startService(ENV)
    port = Number(new URL(service.url).port)
    await warmUp(service)
    // Once through the heavy paths too (a large drained body), so the baseline is the heap and
    // allocator at working size; what the tests below add on top of it is what is measured.
    await streamBody(port, 200 * MiB)
    await warmUp(service, 300)
    rssBaseline = rss(service)
  }, 60_000)
  afterAll(async () => {
    service.child.kill('SIGKILL')
    await service.exited
  })

  test(`a ticket over ${MAX_TICKET_LENGTH} characters: verdict ticket_malformed (70003), at once`, async () => {
    const real = signUserSig(
      { sdkAppId: APP_A, userId: 'alice', expire: 3600, now: Math.floor(Date.now() / 1000) },
      KEYS.aNew,
    )
    for (const length of [MAX_TICKET_LENGTH + 1, 8192]) {
      const ticket = real + 'A'.repeat(length - real.length)
      const res = await postJson(
        port,
        '/usersig/verify',
        JSON.stringify({ sdkAppId: APP_A, userId: 'alice', userSig: ticket }),
      )
      expect({ length, status: res.status, body: res.body }).toMatchObject({
        length,
        status: 200,
        body: {
          valid: false,
          code: 'ticket_malformed',
          tencentErrorCode: 70003,
          message: `The ticket is longer than ${MAX_TICKET_LENGTH} characters.`,
          ticket: null,
        },
      })
      expect(res.ms).toBeLessThan(500)
    }
    // Longer than the contract's 8192: refused by request validation before the codec sees it.
    const tooLong = await postJson(
      port,
      '/usersig/verify',
      JSON.stringify({ sdkAppId: APP_A, userId: 'alice', userSig: 'A'.repeat(8193) }),
    )
    expect({ status: tooLong.status, code: tooLong.body.code }).toEqual({
      status: 400,
      code: 'invalid_request',
    })
  })

  test('a decompression bomb (a ~3 KB ticket that inflates to megabytes): ticket_malformed, fast, no memory', async () => {
    // The largest filler whose zlib stream still fits the ticket length limit.
    const bombOf = (bytes: number) =>
      tencentBase64(
        deflateSync(
          Buffer.concat([
            Buffer.from('{"TLS.ver":"2.0","TLS.identifier":"'),
            Buffer.alloc(bytes, 0x61),
            Buffer.from('","TLS.sdkappid":1400000000}'),
          ]),
          { level: 9 },
        ),
      )
    let size = 3 * MiB
    while (bombOf(size).length > MAX_TICKET_LENGTH) size -= 256 * 1024
    const bomb = bombOf(size)
    const inflated = inflateSync(
      Buffer.from(bomb.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '='), 'base64'),
    )
    expect(bomb.length).toBeLessThanOrEqual(MAX_TICKET_LENGTH)
    expect(inflated.length).toBeGreaterThan(2 * MiB)

    // In process: refused while inflating, after MAX_INFLATED_BYTES of output.
    let codecMs = Infinity
    for (let i = 0; i < 5; i++) {
      const started = performance.now()
      let code: string | null = null
      try {
        decodeUserSig(bomb)
      } catch (error) {
        code = error instanceof TicketError ? error.code : String(error)
      }
      codecMs = Math.min(codecMs, performance.now() - started)
      expect(code).toBe('ticket_malformed')
    }
    expect(codecMs).toBeLessThan(5)

    // Through the service, a hundred times over: each is refused, quickly, and memory stays put.
    const before = rss(service)
    const answers = await pool(Array.from({ length: 100 }), 8, () =>
      postJson(
        port,
        '/usersig/verify',
        JSON.stringify({ sdkAppId: APP_A, userId: 'alice', userSig: bomb }),
      ),
    )
    const after = rss(service)
    expect(tally(answers.map((a) => `${a.status} ${String(a.body.code)}`))).toEqual({
      '200 ticket_malformed': 100,
    })
    expect(answers[0]?.body.message).toBe(
      'The ticket is not a complete zlib stream within the size limit.',
    )
    const slowest = Math.max(...answers.map((a) => a.ms))
    expect(slowest).toBeLessThan(500)
    expect(after - before).toBeLessThan(MAX_RSS_GROWTH)
    figures.bomb =
      `${bomb.length}-char ticket inflating to ${mib(inflated.length)}: codec ${codecMs.toFixed(3)} ms ` +
      `(cap ${MAX_INFLATED_BYTES} B), 100 via HTTP slowest ${slowest.toFixed(0)} ms, RSS ${mib(before)} -> ${mib(after)}`
    console.log(`limits: bomb ${figures.bomb}`)
  })

  test(`a body over ${BODY_LIMIT_BYTES} bytes: 413 payload_too_large, declared, chunked or 200 MiB streamed`, async () => {
    const over = JSON.stringify({ sdkAppId: APP_A, userId: 'a'.repeat(BODY_LIMIT_BYTES) })
    const declared = await postJson(port, '/usersig', over)
    expect({ status: declared.status, code: declared.body.code }).toEqual({
      status: 413,
      code: 'payload_too_large',
    })
    // Exactly at the limit is still read (and then refused by the contract, not by size).
    const atLimit = JSON.stringify({ sdkAppId: APP_A, userId: 'alice', pad: '' })
    const padded = atLimit.replace(
      '"pad":""',
      `"pad":"${'x'.repeat(BODY_LIMIT_BYTES - atLimit.length)}"`,
    )
    expect(Buffer.byteLength(padded)).toBe(BODY_LIMIT_BYTES)
    const exact = await postJson(port, '/usersig', padded)
    expect({ status: exact.status, code: exact.body.code }).toEqual({
      status: 400,
      code: 'invalid_request',
    })

    // Chunked, no length: cut once the limit is passed.
    const chunkedBody = Buffer.alloc(1 * MiB, 0x20)
    const chunked = await rawExchange(
      port,
      Buffer.concat([
        Buffer.from(
          `POST /usersig HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\n` +
            `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunkedBody.length.toString(16)}\r\n`,
        ),
        chunkedBody,
        Buffer.from('\r\n0\r\n\r\n'),
      ]),
      { end: false, responses: 1 },
    )
    expect(chunked.responses[0]?.status).toBe(413)

    // 200 MiB declared and streamed: never buffered (that would show as 200 MiB of RSS). The 413
    // comes at once, from the declared length, and the connection ends with a lingering close
    // (test/reliability/edge.test.ts measures how little of the body is read).
    const before = rss(service)
    const streamed = await streamBody(port, 200 * MiB)
    const after = rss(service)
    expect(streamed.status).toBe(413)
    expect(streamed.ms).toBeLessThan(2000)
    expect(after - before).toBeLessThan(2 * MAX_RSS_GROWTH)

    // A gzip bomb body is refused as compressed (415), never inflated.
    const gzipBomb = gzipSync(Buffer.alloc(100 * MiB, 0x20), { level: 9 })
    const gz = await postJson(port, '/usersig', gzipBomb, 'Content-Encoding: gzip\r\n')
    expect({ status: gz.status, code: gz.body.code }).toEqual({
      status: 415,
      code: 'unsupported_media_type',
    })
    figures.bodies =
      `200 MiB streamed body: 413 after ${streamed.ms.toFixed(0)} ms, once ${mib(streamed.sentBeforeAnswer)} had been sent, ` +
      `RSS ${mib(before)} -> ${mib(after)}; ${gzipBomb.length}-byte gzip bomb body: 415`
    console.log(`limits: bodies ${figures.bodies}`)
  })

  test('500 clients that give up half-way through a body: the server keeps serving, memory flat', async () => {
    const before = rss(service)
    const request =
      `POST /usersig HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKENS.chat}\r\n` +
      `Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{"sdkAppId":${APP_A},`
    await pool(Array.from({ length: 500 }), 25, async () => {
      const socket = await openSocket(port)
      socket.write(request)
      await sleep(5)
      socket.destroy()
    })
    expect(await stillServing(service)).toBe(true)
    expect(rss(service) - before).toBeLessThan(MAX_RSS_GROWTH)
    figures.aborted = `500 bodies abandoned mid-way: still serving; RSS ${mib(before)} -> ${mib(rss(service))}`
    console.log(`limits: aborted ${figures.aborted}`)
  })

  test(`headers over ${MAX_HEADER_BYTES} bytes: 431 from Node; just under is served`, async () => {
    const under = await rawExchange(
      port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(MAX_HEADER_BYTES - 200)}\r\nConnection: close\r\n\r\n`,
      { end: false },
    )
    expect(under.responses[0]?.status).toBe(200)
    const cases = {
      'one big header': `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(MAX_HEADER_BYTES + 1024)}\r\n\r\n`,
      'many headers': `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 700 }, (_, i) => `X-H${i}: ${'b'.repeat(20)}\r\n`).join('')}\r\n`,
      'a long URL': `GET /healthz?${'q'.repeat(MAX_HEADER_BYTES + 1)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      'a huge bearer token': `POST /usersig HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'t'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\n{}`,
    }
    const statuses: Record<string, number | undefined> = {}
    for (const [name, request] of Object.entries(cases)) {
      const x = await rawExchange(port, request, { end: false })
      statuses[name] = x.responses[0]?.status
      expect(x.closed).toBe(true)
    }
    expect(statuses).toEqual({
      'one big header': 431,
      'many headers': 431,
      'a long URL': 431,
      'a huge bearer token': 431,
    })
  })

  test(`500 idle keep-alive sockets: each closed after keepAliveTimeout (${SERVER_TIMEOUTS.keepAliveTimeout} ms), the server serving meanwhile`, async () => {
    const before = rss(service)
    const opened = performance.now()
    const sockets = await Promise.all(
      Array.from({ length: 500 }, () => idleAfterOneRequest(port, 20_000)),
    )
    const whileOpen = rss(service)
    const servingWhileOpen = await stillServing(service)
    const outcomes = await Promise.all(sockets.map((s) => s.outcome))
    const after = rss(service)

    expect(servingWhileOpen).toBe(true)
    expect(tally(outcomes.map((o) => `${o.status} ${o.closedBy}`))).toEqual({ '200 server': 500 })
    const idleMs = outcomes.map((o) => o.idleMs)
    const [shortest, longest] = [Math.min(...idleMs), Math.max(...idleMs)]
    expect(shortest).toBeGreaterThanOrEqual(SERVER_TIMEOUTS.keepAliveTimeout - 250)
    expect(longest).toBeLessThan(SERVER_TIMEOUTS.keepAliveTimeout + 3000)
    expect(await stillServing(service)).toBe(true)
    expect(after - before).toBeLessThan(MAX_RSS_GROWTH)
    figures.idle =
      `500 idle keep-alive sockets closed by the server after ${(shortest / 1000).toFixed(2)}-${(longest / 1000).toFixed(2)} s ` +
      `(all within ${((performance.now() - opened) / 1000).toFixed(1)} s); RSS ${mib(before)} -> ${mib(whileOpen)} (500 open) -> ${mib(after)}`
    console.log(`limits: idle ${figures.idle}`)
  })

  test('the process is alive, still signs, and its memory stayed flat across all of the above', async () => {
    expect({ exitCode: service.child.exitCode, signal: service.child.signalCode }).toEqual({
      exitCode: null,
      signal: null,
    })
    expect(await stillServing(service)).toBe(true)
    const end = rss(service)
    expect(end - rssBaseline).toBeLessThan(MAX_RSS_GROWTH)
    const errorLines = service.stdout.split('\n').filter((l) => /"level":(50|60)/.test(l))
    expect(errorLines).toEqual([])
    console.log(
      `limits summary: RSS after warm-up ${mib(rssBaseline)}, after every limit test ${mib(end)} ` +
        `(growth ${mib(end - rssBaseline)}, limit ${mib(MAX_RSS_GROWTH)}); ${JSON.stringify(figures)}`,
    )
  })
})

// --- slow clients, cut by the server timeouts ---------------------------------------------------------

/** Silent sockets beside the two trickles. */
const SILENT = scaled(50, 500)

describe('slow clients, against a freshly started process', () => {
  let service: Service
  let port: number
  let result: SlowScenario | undefined

  interface SlowScenario {
    readonly headers: Cut
    readonly body: Cut
    readonly idle: readonly Cut[]
    readonly servingDuring: boolean
    readonly servingAfter: boolean
    readonly rss: { readonly before: number; readonly during: number; readonly after: number }
  }

  /**
   * All three slow scenarios run at once, started right after the process listens, so they share
   * one wait for Node's timeout sweep: a header trickle, a body trickle, 500 silent sockets.
   */
  async function scenario(): Promise<SlowScenario> {
    if (result !== undefined) return result
    service = await startService(ENV)
    port = Number(new URL(service.url).port)
    await warmUp(service, 300)
    const before = rss(service)
    const headers = trickle(
      port,
      'GET /healthz HTTP/1.1\r\nHost: x\r\n',
      (i) => `X-Trickle-${i}: 1\r\n`,
    )
    const body = trickle(
      port,
      `POST /usersig HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{`,
      () => ' ',
    )
    const idle = await Promise.all(Array.from({ length: SILENT }, () => silent(port)))
    await sleep(3000)
    const during = rss(service)
    const servingDuring = await stillServing(service)
    const cuts = await Promise.all([headers, body, ...idle.map((s) => s.cut)])
    const servingAfter = await stillServing(service)
    const after = rss(service)
    result = {
      headers: cuts[0] as Cut,
      body: cuts[1] as Cut,
      idle: cuts.slice(2),
      servingDuring,
      servingAfter,
      rss: { before, during, after },
    }
    console.log(
      `limits: slow clients: header trickle cut after ${(result.headers.ms / 1000).toFixed(1)} s ` +
        `(${result.headers.status}), body trickle cut after ${(result.body.ms / 1000).toFixed(1)} s ` +
        `(${result.body.status}), ${SILENT} silent sockets closed after ` +
        `${(Math.min(...result.idle.map((c) => c.ms)) / 1000).toFixed(1)}-${(Math.max(...result.idle.map((c) => c.ms)) / 1000).toFixed(1)} s ` +
        `(${JSON.stringify(tally(result.idle.map((c) => c.status)))}); ` +
        `headersTimeout ${SERVER_TIMEOUTS.headersTimeout} ms, requestTimeout ${SERVER_TIMEOUTS.requestTimeout} ms, ` +
        `Node sweep every ${NODE_CHECKING_INTERVAL_MS} ms; RSS ${mib(before)} -> ${mib(during)} (during) -> ${mib(after)}`,
    )
    return result
  }

  afterAll(async () => {
    if (service === undefined) return
    service.child.kill('SIGKILL')
    await service.exited
  })

  test(`a header trickle, a body trickle and ${SILENT} silent sockets are each cut with 408; the server serves throughout; memory flat`, async () => {
    const { headers, body, idle, servingDuring, servingAfter, rss: mem } = await scenario()
    // Cut, with Node's 408, no sooner than the timeout and no later than the next sweep.
    const sweepSlack = NODE_CHECKING_INTERVAL_MS + 3000
    expect(headers).toMatchObject({ status: 408, closed: true })
    expect(headers.ms).toBeGreaterThanOrEqual(SERVER_TIMEOUTS.headersTimeout)
    expect(headers.ms).toBeLessThan(SERVER_TIMEOUTS.headersTimeout + sweepSlack)
    expect(body).toMatchObject({ status: 408, closed: true })
    expect(body.ms).toBeGreaterThanOrEqual(SERVER_TIMEOUTS.requestTimeout)
    expect(body.ms).toBeLessThan(SERVER_TIMEOUTS.requestTimeout + sweepSlack)
    expect(tally(idle.map((c) => `${c.status} ${c.closed}`))).toEqual({ '408 true': SILENT })
    expect(Math.max(...idle.map((c) => c.ms))).toBeLessThan(
      SERVER_TIMEOUTS.headersTimeout + sweepSlack,
    )
    expect({ servingDuring, servingAfter }).toEqual({ servingDuring: true, servingAfter: true })
    expect(mem.during - mem.before).toBeLessThan(MAX_RSS_GROWTH)
    expect(mem.after - mem.before).toBeLessThan(MAX_RSS_GROWTH)
  }, 120_000)

  // main.ts sets connectionsCheckingInterval, so the cut lands within a second of the deadline.
  test(`a header trickle is cut within headersTimeout (${SERVER_TIMEOUTS.headersTimeout} ms) + 2 s`, async () => {
    const { headers } = await scenario()
    expect(headers.ms).toBeLessThan(SERVER_TIMEOUTS.headersTimeout + 2000)
  }, 120_000)
  test(`a body trickle is cut within requestTimeout (${SERVER_TIMEOUTS.requestTimeout} ms) + 2 s`, async () => {
    const { body } = await scenario()
    expect(body.ms).toBeLessThan(SERVER_TIMEOUTS.requestTimeout + 2000)
  }, 120_000)
})

// --- socket helpers ------------------------------------------------------------------------------------

interface Cut {
  /** The status of the response that came before the close (408 from Node's timeout), or 0. */
  readonly status: number
  readonly closed: boolean
  /** From the first byte sent (or the connection, for a silent socket) to the close. */
  readonly ms: number
}

/** Sends `first`, then one `next(i)` per second until the server closes the connection. */
function trickle(port: number, first: string, next: (i: number) => string): Promise<Cut> {
  return openSocket(port).then(
    (socket) =>
      new Promise((resolve) => {
        const started = performance.now()
        let raw = ''
        let i = 0
        socket.write(first)
        const timer = setInterval(() => {
          if (!socket.destroyed && socket.writable) socket.write(next(i++))
        }, 1000)
        socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')))
        socket.on('error', () => undefined)
        const guard = setTimeout(() => socket.destroy(), 90_000)
        socket.on('close', () => {
          clearInterval(timer)
          clearTimeout(guard)
          resolve({
            status: parseResponses(raw)[0]?.status ?? 0,
            closed: true,
            ms: performance.now() - started,
          })
        })
      }),
  )
}

/** A connection that never sends a byte; resolves when the server closes it. */
async function silent(port: number): Promise<{ socket: Socket; cut: Promise<Cut> }> {
  const socket = await openSocket(port)
  const started = performance.now()
  const cut = new Promise<Cut>((resolve) => {
    let raw = ''
    socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')))
    socket.on('error', () => undefined)
    const guard = setTimeout(() => socket.destroy(), 90_000)
    socket.on('close', () => {
      clearTimeout(guard)
      resolve({
        status: parseResponses(raw)[0]?.status ?? 0,
        closed: true,
        ms: performance.now() - started,
      })
    })
  })
  return { socket, cut }
}

interface IdleOutcome {
  readonly status: number
  /** Who ended the connection: the server, or our guard timer. */
  readonly closedBy: 'server' | 'guard'
  /** From the end of the response to the close. */
  readonly idleMs: number
}
/** A keep-alive connection that makes one request, then idles until the server closes it. */
async function idleAfterOneRequest(
  port: number,
  guardMs: number,
): Promise<{ outcome: Promise<IdleOutcome> }> {
  const socket = await openSocket(port)
  const outcome = new Promise<IdleOutcome>((resolve) => {
    let raw = ''
    let answeredAt = 0
    let status = 0
    let guarded = false
    const guard = setTimeout(() => {
      guarded = true
      socket.destroy()
    }, guardMs)
    socket.on('data', (chunk: Buffer) => {
      raw += chunk.toString('latin1')
      const responses = parseResponses(raw)
      if (answeredAt === 0 && responses.length > 0) {
        answeredAt = performance.now()
        status = responses[0]?.status ?? 0
      }
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(guard)
      resolve({
        status,
        closedBy: guarded ? 'guard' : 'server',
        idleMs: answeredAt === 0 ? 0 : performance.now() - answeredAt,
      })
    })
  })
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n')
  return { outcome }
}

interface Streamed {
  readonly status: number
  /** Milliseconds from the headers to the answer. */
  readonly ms: number
  /** Bytes of body written before the answer arrived. */
  readonly sentBeforeAnswer: number
}
/** Declares `total` bytes of body and streams them until the server answers or closes. */
async function streamBody(port: number, total: number): Promise<Streamed> {
  const socket = await openSocket(port)
  let raw = ''
  let answeredAt = 0
  let sent = 0
  let sentBeforeAnswer = 0
  let closed = false
  socket.on('data', (chunk: Buffer) => {
    raw += chunk.toString('latin1')
    if (answeredAt === 0 && parseResponses(raw).length > 0) {
      answeredAt = performance.now()
      sentBeforeAnswer = sent
    }
  })
  socket.on('error', () => undefined)
  const closing = new Promise((resolve) => socket.on('close', resolve)).then(() => (closed = true))
  const started = performance.now()
  socket.write(
    `POST /usersig HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\n` +
      `Content-Length: ${total}\r\n\r\n`,
  )
  const chunk = Buffer.alloc(64 * 1024, 0x20)
  const deadline = started + 20_000
  while (sent < total && !closed && performance.now() < deadline) {
    const flushed = socket.write(chunk)
    sent += chunk.length
    // Yield, so the answer is seen as soon as it arrives; wait for the socket when it is full.
    await (flushed
      ? new Promise((resolve) => setImmediate(resolve))
      : Promise.race([
          new Promise((resolve) => socket.once('drain', resolve)),
          closing,
          sleep(100),
        ]))
  }
  while (answeredAt === 0 && !closed && performance.now() < deadline) await sleep(10)
  socket.destroy()
  return {
    status: parseResponses(raw)[0]?.status ?? 0,
    ms: (answeredAt || performance.now()) - started,
    sentBeforeAnswer,
  }
}
