// Traces: the caller's W3C trace context for every request, so that audit and access lines join
// the caller's trace; and, when OTEL_* variables set an OTLP endpoint, one exported span per
// request (src/tracing-sdk.ts). Without them the OpenTelemetry SDK is never loaded: the front door
// calls NO_EXPORT, which only reads `traceparent`.
import type { IncomingMessage } from 'node:http'
import type { TracingSettings } from './config/index.js'
import type { Logger } from './logger.js'

/** What a log line says of the request's trace (the W3C ids, lowercase hex). */
export interface TraceIds {
  readonly traceId: string
  /** The service's own span, when it is exported. */
  readonly spanId?: string
  /** The caller's span: the parent-id of its `traceparent`. */
  readonly parentSpanId?: string
}

/** How a request ended, for its span. */
export interface RequestOutcome {
  /** The route template (`/usersig`, `/docs/*`); undefined when no route matched. */
  readonly route: string | undefined
  /** The status answered; undefined when no answer could be written. */
  readonly status: number | undefined
  /** The request body once validated against openapi.yaml (its `sdkAppId` is recorded), if any. */
  readonly body: unknown
}

/** One request's trace, as the front door holds it. */
export interface RequestTrace {
  readonly ids: TraceIds
  end(outcome: RequestOutcome): void
}

/** What the front door asks of tracing: one call when a request arrives, one when it ends. */
export interface Tracer {
  /** The request's trace, or undefined when it has none (tracing off and no valid `traceparent`). */
  begin(req: IncomingMessage): RequestTrace | undefined
  /** Exports what is pending and stops (SIGTERM); never rejects. */
  shutdown(): Promise<void>
}

/** The caller's trace context, from a valid `traceparent`. */
export interface CallerContext {
  readonly traceId: string
  readonly parentSpanId: string
  readonly sampled: boolean
}

/** A longer `traceparent` is ignored unread (version 00 is exactly 55 characters). */
const MAX_TRACEPARENT_LENGTH = 256

// version "-" trace-id "-" parent-id "-" trace-flags, then the end or, in a later version, "-".
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/
const ZERO_TRACE_ID = '0'.repeat(32)
const ZERO_SPAN_ID = '0'.repeat(16)

/**
 * The caller's context from a `traceparent` header (W3C Trace Context), or null when it is
 * absent, malformed, repeated or oversized: such a header is ignored, never an error.
 */
export function callerContext(header: string | string[] | undefined): CallerContext | null {
  if (typeof header !== 'string' || header.length > MAX_TRACEPARENT_LENGTH) return null
  const match = TRACEPARENT.exec(header)
  if (match === null) return null
  const version = match[1] as string
  const traceId = match[2] as string
  const parentSpanId = match[3] as string
  // Version ff is invalid; version 00 has nothing after the flags (a later one may).
  if (version === 'ff' || (version === '00' && header.length !== 55)) return null
  if (traceId === ZERO_TRACE_ID || parentSpanId === ZERO_SPAN_ID) return null
  const sampled = (Number.parseInt(match[4] as string, 16) & 1) === 1
  return { traceId, parentSpanId, sampled }
}

const ignore = (): void => undefined

/** Tracing export off: the caller's trace ids for the logs, nothing else. */
export const NO_EXPORT: Tracer = {
  begin(req) {
    const header = req.headers.traceparent
    if (header === undefined) return undefined
    const caller = callerContext(header)
    return caller === null
      ? undefined
      : { ids: { traceId: caller.traceId, parentSpanId: caller.parentSpanId }, end: ignore }
  },
  shutdown: () => Promise.resolve(),
}

/**
 * The tracer the settings ask for: NO_EXPORT without them, else the OpenTelemetry SDK, imported
 * only here, only then.
 */
export async function openTracer(
  settings: TracingSettings | null,
  options: { readonly logger: Logger; readonly version: string },
): Promise<Tracer> {
  if (settings === null) return NO_EXPORT
  const { startSdkTracer } = await import('./tracing-sdk.js')
  return startSdkTracer(settings, options)
}
