// The client carries the caller's trace: with an OpenTelemetry context manager and the W3C
// propagator registered (as an SDK does), a call made inside an active span sends its
// traceparent and tracestate, on every attempt; outside a span, or with nothing registered,
// nothing. A loopback server records the headers.
import { context, propagation, trace, TraceFlags, type Context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { TraceState, W3CTraceContextPropagator } from '@opentelemetry/core'
import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { createUserSigClient, issueUserSig } from '../../src/client/index.js'
import { problem, startRecordingServer, type RecordingServer } from '../helpers/recording-server.js'

const ASK = { sdkAppId: 1400000000, userId: 'alice' }
const ok = (res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      userSig: 'eAEB',
      sdkAppId: 1400000000,
      userId: 'alice',
      expire: 60,
      issuedAt: 1,
      expiresAt: 61,
      keyId: 'k1',
    }),
  )

let server: RecordingServer
// A request with `x-fail-first: <id>` is refused the first time that id is seen, so that a retry
// shows what each attempt sends.
const refused = new Set<string>()
beforeAll(async () => {
  server = await startRecordingServer((req, res) => {
    const id = req.headers['x-fail-first']
    if (typeof id !== 'string' || refused.has(id)) {
      ok(res)
    } else {
      refused.add(id)
      problem(res, 503, 'auth_unavailable')
    }
  })
})
afterAll(async () => {
  await server.close()
  propagation.disable()
  context.disable()
})

/** A sampled span context of random ids, with a tracestate, as the caller's code would hold. */
function activeSpan(): { ctx: Context; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString('hex')
  const spanId = randomBytes(8).toString('hex')
  const ctx = trace.setSpanContext(context.active(), {
    traceId,
    spanId,
    traceFlags: TraceFlags.SAMPLED,
    traceState: new TraceState('vendor=abc,other=1'),
    isRemote: false,
  })
  return { ctx, traceId, spanId }
}

const client = () => createUserSigClient({ baseUrl: server.url, token: 'tracing-test-token-0123' })
const last = () => server.requests[server.requests.length - 1]?.headers

test('with nothing registered (no SDK), no trace headers are sent, even inside a span', async () => {
  const { ctx } = activeSpan()
  await context.with(ctx, () => issueUserSig(client(), ASK))
  expect(last()?.traceparent).toBeUndefined()
  expect(last()?.tracestate).toBeUndefined()
})

describe('with a context manager and the W3C propagator registered', () => {
  beforeAll(() => {
    expect(context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())).toBe(
      true,
    )
    expect(propagation.setGlobalPropagator(new W3CTraceContextPropagator())).toBe(true)
  })

  test("inside an active span: the span's traceparent and tracestate", async () => {
    const { ctx, traceId, spanId } = activeSpan()
    await context.with(ctx, () => issueUserSig(client(), ASK))
    expect(last()?.traceparent).toBe(`00-${traceId}-${spanId}-01`)
    expect(last()?.tracestate).toBe('vendor=abc,other=1')
  })

  test('outside any span: none', async () => {
    await issueUserSig(client(), ASK)
    expect(last()?.traceparent).toBeUndefined()
  })

  test('a retried call sends the same trace context on every attempt', async () => {
    const retrying = createUserSigClient({
      baseUrl: server.url,
      token: 'tracing-test-token-0123',
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
    })
    const { ctx, traceId, spanId } = activeSpan()
    const before = server.requests.length
    await context.with(ctx, () =>
      retrying.POST('/usersig', { body: ASK, headers: { 'x-fail-first': traceId } }),
    )
    const attempts = server.requests.slice(before)
    expect(attempts).toHaveLength(2)
    for (const { headers } of attempts)
      expect(headers.traceparent).toBe(`00-${traceId}-${spanId}-01`)
  })
})
