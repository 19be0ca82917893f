// W3C trace context without export (no OTEL_* variables): the caller's `traceparent` puts its
// trace id (and its span id, as parentSpanId) in every audit and access line; a malformed,
// repeated or oversized one is ignored, never an error, and the answer is the one without it.
import { randomBytes } from 'node:crypto'
import request from 'supertest'
import { APP_A, buildApp, post, TOKENS } from '../helpers/http.js'

const service = buildApp({ logLevel: 'debug' })
const hex = (bytes: number) => randomBytes(bytes).toString('hex')

/** The log lines of one request, by the request id its answer carries. */
function linesOf(res: request.Response): Record<string, unknown>[] {
  const requestId = res.headers['x-request-id']
  const lines = service.logs().filter((line) => line.requestId === requestId)
  expect(lines.length).toBeGreaterThan(0)
  return lines
}

const answer = (res: request.Response) => ({
  status: res.status,
  type: res.headers['content-type'],
  body: res.body as unknown,
})

const issue = (headers: Record<string, string | string[]>) => {
  const req = post(service.app, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId: 'alice' })
  // Several values of one header go as several header lines.
  return req.set(headers)
}

describe('trace context with export off', () => {
  test('a valid traceparent: its trace id and span id in the audit and access lines of every ticket route', async () => {
    const traceId = hex(16)
    const parentSpanId = hex(8)
    const traceparent = `00-${traceId}-${parentSpanId}-01`
    const ticket = await issue({ traceparent, tracestate: 'vendor=opaque' }).expect(200)
    const requests = [
      ticket,
      await post(service.app, '/usersig/batch', TOKENS.chat, {
        sdkAppId: APP_A,
        userIds: ['alice', 'bob'],
      })
        .set('traceparent', traceparent)
        .expect(200),
      await post(service.app, '/privatemapkey', TOKENS.chat, {
        sdkAppId: APP_A,
        userId: 'alice',
        roomId: 1234,
        privileges: ['enterRoom'],
      })
        .set('traceparent', traceparent)
        .expect(200),
      await post(service.app, '/usersig/verify', TOKENS.chat, {
        sdkAppId: APP_A,
        userId: 'alice',
        userSig: (ticket.body as { userSig: string }).userSig,
      })
        .set('traceparent', traceparent)
        .expect(200),
    ]
    const audits = ['usersig.issued', 'usersig.issued', 'privatemapkey.issued', 'ticket.verified']
    for (const [i, res] of requests.entries()) {
      const lines = linesOf(res)
      expect(lines.map((line) => line.audit ?? line.msg)).toEqual([audits[i], 'request'])
      for (const line of lines) {
        expect(line).toMatchObject({ traceId, parentSpanId })
        // No span of ours exists when nothing is exported.
        expect(line).not.toHaveProperty('spanId')
      }
    }
  })

  test('refusals and unknown paths carry the trace id in their lines', async () => {
    const traceId = hex(16)
    const traceparent = `00-${traceId}-${hex(8)}-00`
    const refused = await post(service.app, '/usersig', null, { sdkAppId: APP_A, userId: 'alice' })
      .set('traceparent', traceparent)
      .expect(401)
    const unknown = await request(service.app)
      .get('/no-such-path')
      .set('traceparent', traceparent)
      .expect(404)
    for (const res of [refused, unknown]) {
      expect(linesOf(res)).toEqual([
        expect.objectContaining({ msg: 'request refused', traceId }),
        expect.objectContaining({ msg: 'request', traceId }),
      ])
    }
  })

  test('a later version of traceparent is read for its first four fields', async () => {
    const traceId = hex(16)
    const res = await issue({ traceparent: `cc-${traceId}-${hex(8)}-01-what-comes-later` })
    expect(res.status).toBe(200)
    for (const line of linesOf(res)) expect(line).toMatchObject({ traceId })
  })

  const traceId = hex(16)
  const spanId = hex(8)
  const ignored: [string, string | string[]][] = [
    ['upper-case hex', `00-${traceId.toUpperCase()}-${spanId}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${spanId}-01`],
    ['an all-zero span id', `00-${traceId}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${traceId}-${spanId}-01`],
    ['version 00 with more after the flags', `00-${traceId}-${spanId}-01-extra`],
    ['a short trace id', `00-${traceId.slice(2)}-${spanId}-01`],
    ['a long span id', `00-${traceId}-${spanId}00-01`],
    ['no flags', `00-${traceId}-${spanId}`],
    ['not hex', `00-${traceId.slice(1)}g-${spanId}-01`],
    ['two headers', [`00-${traceId}-${spanId}-01`, `00-${hex(16)}-${hex(8)}-01`]],
    ['an oversized later version', `01-${traceId}-${spanId}-01-${'x'.repeat(10_000)}`],
    ['garbage', '{"traceId":"not this way"}'],
    ['empty', ''],
  ]
  test.each(ignored)(
    'a traceparent with %s is ignored: the same answer, no trace id',
    async (_, traceparent) => {
      const plain = await issue({})
      const traced = await issue({ traceparent, tracestate: 'vendor=opaque' })
      // The clock is fixed, so the same request gets the very same ticket.
      expect(answer(traced)).toEqual(answer(plain))
      expect(traced.status).toBe(200)
      for (const line of linesOf(traced)) expect(line).not.toHaveProperty('traceId')
    },
  )

  test('without a traceparent, no line names a trace', async () => {
    const res = await issue({ tracestate: 'vendor=opaque' }).expect(200)
    for (const line of linesOf(res)) {
      expect(line).not.toHaveProperty('traceId')
      expect(line).not.toHaveProperty('parentSpanId')
    }
  })
})
