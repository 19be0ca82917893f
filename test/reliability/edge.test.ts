// The edge, against the real process: an answer sent before the request body was read ends the
// connection, and the server reads at most LINGER_BUDGET of that body (bytes and time), however
// much the client keeps sending, on every route, with and without a token. The answer itself is
// never destroyed by a reset: clients that read while they send get it for a 200 MiB body, and
// clients that read only after sending (Python's urllib) for a 2 MiB body, also while another
// CPU-heavy process runs. `Expect: 100-continue` is answered only when the body is wanted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LINGER_BUDGET } from '../../src/http/lingering-close.js'
import { BODY_LIMIT_BYTES } from '../../src/http/routes.js'
import { APP_A, TOKENS, USERSIG_APPS, USERSIG_CLIENTS } from '../helpers/http.js'
import { startService, type Service } from '../helpers/process.js'
import { connect, type Socket } from 'node:net'
import { openSocket, parseResponses, rawExchange, type RawResponse } from '../helpers/raw-http.js'
import { MiB, sleep } from '../helpers/reliability.js'
import { testIf } from '../helpers/skip.js'
import { scaled } from '../helpers/stress.js'

const ENV = {
  NODE_ENV: 'test',
  USERSIG_APPS: JSON.stringify(USERSIG_APPS),
  USERSIG_CLIENTS: JSON.stringify(USERSIG_CLIENTS),
  USERSIG_RATE_LIMIT_PER_MINUTE: '0',
}
/**
 * What the server may read past the budget: the request head, and the socket reads already under
 * way when it stops reading (64 KiB each; up to ~190 KiB measured on Node 26, ~64 KiB on Node 20).
 */
const READ_SLACK = 256 * 1024
/** How long after the budget the close may come on a busy machine. */
const CLOSE_SLACK_MS = 1_500
/** Large bodies in a row, per client: twice in `npm test`, twenty times in `npm run test:stress`. */
const ROUNDS = scaled(2, 20)

let service: Service
let port: number
beforeAll(async () => {
  service = await startService(ENV)
  port = Number(new URL(service.url).port)
}, 30_000)
afterAll(async () => {
  service.child.kill('SIGKILL')
  await service.exited
})

/**
 * A connection that keeps sending after the server's FIN, as a hostile client would (a client
 * that closes on the FIN is let go at once).
 */
function openHalfOpen(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Bytes the service process has read with read(2) so far, sockets included (Linux). */
const bytesRead = () =>
  Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${service.child.pid}/io`, 'utf8'))?.[1])

interface Flood {
  readonly answer: RawResponse | undefined
  /** ms from the head to the server's close (or the give-up time). */
  readonly closedAfterMs: number
  readonly closed: boolean
  /** Bytes of body this client wrote into its socket (the kernel's buffers hold some of them). */
  readonly sent: number
}

/**
 * Sends `head` declaring a 100 GB body, then body bytes as fast as the socket takes them (or one
 * byte every `trickleMs`), reading whatever comes back, until the server closes or `giveUpMs`.
 */
async function flood(head: string, options: { giveUpMs?: number; trickleMs?: number } = {}) {
  const { giveUpMs = 6_000, trickleMs } = options
  const socket = await openHalfOpen()
  let raw = ''
  let closed = false
  let sent = 0
  socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')))
  socket.on('error', () => undefined)
  const closing = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  void closing.then(() => (closed = true))
  const started = performance.now()
  socket.write(`${head}Content-Length: 100000000000\r\n\r\n`)
  const chunk = Buffer.alloc(trickleMs === undefined ? 64 * 1024 : 1, 0x20)
  while (!closed && performance.now() - started < giveUpMs) {
    const flushed = socket.write(chunk)
    sent += chunk.length
    await (trickleMs !== undefined
      ? sleep(trickleMs)
      : flushed
        ? new Promise((resolve) => setImmediate(resolve))
        : Promise.race([new Promise((r) => socket.once('drain', r)), closing, sleep(50)]))
  }
  const closedAfterMs = performance.now() - started
  socket.destroy()
  return { answer: parseResponses(raw)[0], closedAfterMs, closed, sent } satisfies Flood
}

const auth = (token: string | null) => (token === null ? '' : `Authorization: Bearer ${token}\r\n`)
const head = (method: string, path: string, token: string | null) =>
  `${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth(token)}Content-Type: application/json\r\n`

describe('an answer before the body ends the connection; at most the budget of the body is read', () => {
  const cases: [string, string, string | null, number][] = [
    ['a ticket route without a token', '/usersig', null, 401],
    ['a ticket route with a token (too large)', '/usersig', TOKENS.chat, 413],
    ['a ticket route with a token, wrong method', '/usersig/batch', TOKENS.chat, 405],
    ['/healthz without a token', '/healthz', null, 405],
    ['/healthz with a token', '/healthz', TOKENS.chat, 405],
    ['an unknown path without a token', '/nope', null, 404],
    ['an unknown path with a token', '/nope', TOKENS.chat, 404],
    ['an unknown path under a ticket route, without a token', '/usersig/nope', null, 401],
  ]
  const figures: string[] = []
  afterAll(() => console.log(`edge: flood ${figures.join('; ')}`))

  test.each(cases)('%s', async (name, path, token, status) => {
    const method = status === 405 ? (path === '/usersig/batch' ? 'PUT' : 'POST') : 'POST'
    const before = bytesRead()
    const result = await flood(head(method, path, token))
    const read = bytesRead() - before

    expect(result.answer?.status).toBe(status)
    expect(result.answer?.headers.connection).toBe('close')
    expect(result.closed).toBe(true)
    expect(result.closedAfterMs).toBeLessThan(LINGER_BUDGET.ms + CLOSE_SLACK_MS)
    expect(read).toBeLessThanOrEqual(LINGER_BUDGET.bytes + READ_SLACK)
    figures.push(
      `${name}: ${status}, read ${(read / MiB).toFixed(2)} MiB, closed after ${result.closedAfterMs.toFixed(0)} ms`,
    )
  })

  test('a client that trickles the body after the answer is cut off after the time budget', async () => {
    const result = await flood(head('POST', '/usersig', null), { trickleMs: 50, giveUpMs: 10_000 })

    expect(result.answer?.status).toBe(401)
    expect(result.closed).toBe(true)
    expect(result.closedAfterMs).toBeGreaterThanOrEqual(LINGER_BUDGET.ms - 100)
    expect(result.closedAfterMs).toBeLessThan(LINGER_BUDGET.ms + CLOSE_SLACK_MS)
  })

  test('a body read to its end keeps the connection (the budget is only for bodies refused unread)', async () => {
    const body = JSON.stringify({ sdkAppId: APP_A, userId: 'alice' })
    const request = `POST /usersig HTTP/1.1\r\nHost: x\r\n${auth(TOKENS.chat)}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
    const x = await rawExchange(port, request + request, { end: false, responses: 2 })

    expect(x.responses.map((r) => [r.status, r.headers.connection])).toEqual([
      [200, 'keep-alive'],
      [200, 'keep-alive'],
    ])
  })
})

describe('the answer survives the close (lingering close), while another CPU-heavy process runs', () => {
  let busy: ChildProcess
  beforeAll(() => {
    busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })
  })
  afterAll(() => {
    busy.kill('SIGKILL')
  })

  test(`Node fetch, reading while it sends: 413 for a 200 MiB body, ${ROUNDS} times in a row`, async () => {
    const body = Buffer.alloc(200 * MiB, 0x20)
    const outcomes: string[] = []
    for (let i = 0; i < ROUNDS; i++) {
      try {
        const res = await fetch(`${service.url}/usersig`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKENS.chat}`, 'content-type': 'application/json' },
          body,
        })
        outcomes.push(`${res.status} ${((await res.json()) as { code: string }).code}`)
      } catch (error) {
        outcomes.push(`failed: ${(error as Error & { cause?: { code?: string } }).cause?.code}`)
      }
    }
    expect(outcomes).toEqual(Array(ROUNDS).fill('413 payload_too_large'))
  }, 60_000)

  test(`a raw socket streaming 200 MiB and reading as it goes: 413, ${ROUNDS} times in a row`, async () => {
    const statuses: (number | undefined)[] = []
    for (let i = 0; i < ROUNDS; i++) {
      const socket = await openSocket(port)
      let raw = ''
      socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')))
      socket.on('error', () => undefined)
      let closed = false
      socket.once('close', () => (closed = true))
      socket.write(`${head('POST', '/usersig', TOKENS.chat)}Content-Length: ${200 * MiB}\r\n\r\n`)
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      for (let sent = 0; sent < 200 * MiB && !closed; sent += chunk.length) {
        if (!socket.write(chunk))
          await Promise.race([new Promise((r) => socket.once('drain', r)), sleep(50)])
      }
      for (let waited = 0; !closed && waited < 5_000; waited += 10) await sleep(10)
      socket.destroy()
      statuses.push(parseResponses(raw)[0]?.status)
    }
    expect(statuses).toEqual(Array(ROUNDS).fill(413))
  }, 60_000)

  const curl = spawnSync('curl', ['--version']).status === 0
  testIf(curl, 'curl is not installed')(
    'curl: 413 for a 200 MiB body, with and without Expect: 100-continue',
    () => {
      const file = join(tmpdir(), `usersig-edge-${process.pid}.bin`)
      writeFileSync(file, Buffer.alloc(200 * MiB, 0x20))
      const run = (extra: string[]) =>
        spawnSync(
          'curl',
          [
            '-s',
            '-o',
            '/dev/null',
            '-w',
            '%{http_code} %{size_upload}',
            ...extra,
            '-H',
            `Authorization: Bearer ${TOKENS.chat}`,
            '-H',
            'Content-Type: application/json',
            '--data-binary',
            `@${file}`,
            `${service.url}/usersig`,
          ],
          { encoding: 'utf8', timeout: 30_000 },
        ).stdout
      // curl sends `Expect: 100-continue` for a large body: told 413 first, it sends nothing.
      expect(run([])).toBe('413 0')
      for (let i = 0; i < scaled(1, 5); i++) expect(run(['-H', 'Expect:'])).toMatch(/^413 /)
    },
    60_000,
  )

  const python = spawnSync('python3', ['--version']).status === 0
  testIf(python, 'python3 is not installed')(
    `Python's urllib, reading only after sending: 413 for a 2 MiB body, ${ROUNDS} times`,
    () => {
      const script = [
        'import sys, urllib.request, urllib.error',
        'out = []',
        `for i in range(${ROUNDS}):`,
        '    req = urllib.request.Request(sys.argv[1], data=b" " * (2 * 1024 * 1024), method="POST",',
        '        headers={"Content-Type": "application/json", "Authorization": "Bearer " + sys.argv[2]})',
        '    try:',
        '        urllib.request.urlopen(req, timeout=10); out.append("200")',
        '    except urllib.error.HTTPError as e:',
        '        out.append(str(e.code))',
        '    except Exception as e:',
        '        out.append(type(e).__name__)',
        'print(" ".join(out))',
      ].join('\n')
      const result = spawnSync('python3', ['-c', script, `${service.url}/usersig`, TOKENS.chat], {
        encoding: 'utf8',
        timeout: 60_000,
      })
      expect(result.stdout.trim()).toBe(Array(ROUNDS).fill('413').join(' '))
    },
    70_000,
  )
})

describe('Expect: 100-continue: the body is asked for only when it will be read', () => {
  const expect100 = (token: string | null, length: number) =>
    `POST /usersig HTTP/1.1\r\nHost: x\r\n${auth(token)}Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`

  test('no token: 401 at once, no 100 Continue', async () => {
    const x = await rawExchange(port, expect100(null, 40), { end: false, responses: 1 })
    expect(x.responses.map((r) => r.status)).toEqual([401])
  })

  test('a declared length over the limit: 413 at once, no 100 Continue', async () => {
    const x = await rawExchange(port, expect100(TOKENS.chat, BODY_LIMIT_BYTES + 1), {
      end: false,
      responses: 1,
    })
    expect(x.responses.map((r) => r.status)).toEqual([413])
  })

  test('a good request: 100 Continue, then the body, then 200', async () => {
    const body = JSON.stringify({ sdkAppId: APP_A, userId: 'alice' })
    const socket = await openSocket(port)
    let raw = ''
    socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')))
    socket.write(expect100(TOKENS.chat, body.length))
    for (let waited = 0; !raw.includes('100 Continue') && waited < 5_000; waited += 10)
      await sleep(10)
    expect(raw).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/)
    socket.write(body)
    for (let waited = 0; !raw.includes('"userSig"') && waited < 5_000; waited += 10) await sleep(10)
    socket.destroy()
    expect(parseResponses(raw.slice(raw.indexOf('\r\n\r\n') + 4))[0]?.status).toBe(200)
  })
})
