// The OpenTelemetry SDK: one server span per request, batched and exported over OTLP/HTTP. Only
// src/tracing.ts imports this file, dynamically, when an OTLP endpoint is set. The SDK reads the
// standard variables itself (sampler, batch sizes, headers, timeouts, resource), which
// src/config/tracing.ts has checked. No instrumentation package and no context manager: the front
// door starts and ends the one span, so nothing patches node:http and no AsyncLocalStorage runs.
import {
  createTraceState,
  diag,
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type DiagLogFunction,
} from '@opentelemetry/api'
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { TracingSettings } from './config/index.js'
import type { Logger } from './logger.js'
import {
  callerContext,
  type CallerContext,
  type RequestOutcome,
  type RequestTrace,
  type Tracer,
} from './tracing.js'

/** The W3C limit: a longer `tracestate` is dropped whole, never parsed. */
const MAX_TRACESTATE_LENGTH = 512

/** The SDK's own complaints (an export that failed, spans dropped) at most once per this many ms. */
const DIAG_WINDOW_MS = 10_000

/** HTTP methods known to the semantic conventions; any other is `_OTHER`. */
const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
])

export async function startSdkTracer(
  settings: TracingSettings,
  { logger, version }: { readonly logger: Logger; readonly version: string },
): Promise<Tracer> {
  diag.setLogger(diagToLog(logger), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true })
  const { OTLPTraceExporter } =
    settings.protocol === 'http/json'
      ? await import('@opentelemetry/exporter-trace-otlp-http')
      : await import('@opentelemetry/exporter-trace-otlp-proto')
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the service's own name and version.
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({ 'service.name': 'usersig-service', 'service.version': version }),
    )
    .merge(detectResources({ detectors: [envDetector] }))
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  })
  const tracer = provider.getTracer('usersig-service', version)

  return {
    begin(req) {
      const method =
        req.method !== undefined && KNOWN_METHODS.has(req.method) ? req.method : '_OTHER'
      // Semantic conventions: the method, then the route once known; HTTP for an unknown method.
      const name = method === '_OTHER' ? 'HTTP' : method
      const caller = callerContext(req.headers.traceparent)
      const span = tracer.startSpan(
        name,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } },
        caller === null ? ROOT_CONTEXT : remoteParent(caller, req.headers.tracestate),
      )
      const context = span.spanContext()
      const parent = caller === null ? {} : { parentSpanId: caller.parentSpanId }
      if (!span.isRecording()) {
        // Not sampled: nothing is exported, so the logs name no span of ours.
        return { ids: { traceId: context.traceId, ...parent }, end: ignore }
      }
      const trace: RequestTrace = {
        ids: { traceId: context.traceId, spanId: context.spanId, ...parent },
        end(outcome: RequestOutcome) {
          const attributes: Attributes = {}
          if (outcome.route !== undefined) {
            attributes['http.route'] = outcome.route
            span.updateName(`${name} ${outcome.route}`)
          }
          if (outcome.status !== undefined) attributes['http.response.status_code'] = outcome.status
          const sdkAppId = sdkAppIdOf(outcome.body)
          if (sdkAppId !== undefined) attributes['usersig.sdkappid'] = sdkAppId
          if (outcome.status === undefined || outcome.status >= 500) {
            attributes['error.type'] =
              outcome.status === undefined ? 'no_answer' : String(outcome.status)
            span.setStatus({ code: SpanStatusCode.ERROR })
          }
          span.setAttributes(attributes)
          span.end()
        },
      }
      return trace
    },
    async shutdown() {
      try {
        await provider.shutdown()
      } catch (error) {
        logger.warn({ err: error }, 'could not export the last spans')
      }
    },
  }
}

/** The caller's span as the parent of ours, with its `tracestate` when that is within the limit. */
function remoteParent(caller: CallerContext, tracestate: string | string[] | undefined): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: caller.traceId,
    spanId: caller.parentSpanId,
    traceFlags: caller.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
    ...(typeof tracestate === 'string' && tracestate.length <= MAX_TRACESTATE_LENGTH
      ? { traceState: createTraceState(tracestate) }
      : {}),
  })
}

function sdkAppIdOf(body: unknown): number | undefined {
  const sdkAppId = (body as { sdkAppId?: unknown } | undefined)?.sdkAppId
  return typeof sdkAppId === 'number' ? sdkAppId : undefined
}

/**
 * The SDK's diagnostics (warnings and errors only) into the log, at most one line per window
 * with how many were held back: a collector that is down must not flood the log.
 */
function diagToLog(logger: Logger) {
  let last = -Infinity
  let heldBack = 0
  const at =
    (level: 'warn' | 'error'): DiagLogFunction =>
    (message) => {
      const now = performance.now()
      if (now - last < DIAG_WINDOW_MS) return void heldBack++
      logger[level]({ heldBack, windowSeconds: DIAG_WINDOW_MS / 1000 }, `OpenTelemetry: ${message}`)
      last = now
      heldBack = 0
    }
  return { error: at('error'), warn: at('warn'), info: ignore, debug: ignore, verbose: ignore }
}

function ignore(): void {}
