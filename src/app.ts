// createApp(deps): the Express wiring, in reading order. It never listens; main.ts does.
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import express, { type Express, type RequestHandler } from 'express'
import * as OpenApiValidator from 'express-openapi-validator'
import helmet from 'helmet'
import type { Config } from './config.js'
import { LiveConfig } from './live-config.js'
import type { Logger } from './logger.js'
import { createMetrics, type Metrics } from './metrics.js'
import { createAuthenticate } from './http/authenticate.js'
import { debugEndpointsGate, debugPageRouter } from './http/debug-page.js'
import { OPENAPI_PATH, operationsRouter, type Lifecycle } from './http/operations.js'
import { createErrorHandler, notFound } from './http/problem.js'
import { createRateLimit } from './http/rate-limit.js'
import { issuePrivateMapKey, issueUserSig, issueUserSigBatch } from './http/tickets.js'
import { verifyTicket } from './http/verify.js'

/** The largest request body accepted: a verify request with a maximal ticket is ~8.3 KiB. */
export const BODY_LIMIT_BYTES = 16 * 1024
/** POST /usersig/batch: 1000 user ids of up to 32 characters with JSON quoting fit in ~40 KiB. */
export const BATCH_BODY_LIMIT_BYTES = 64 * 1024

export interface AppDeps {
  /** The configuration; or give `live` to have reloads take effect. */
  readonly config: Config
  readonly live?: LiveConfig
  readonly logger: Logger
  readonly metrics?: Metrics
  /** Unix seconds; tests pass a fixed clock. */
  readonly clock?: () => number
  readonly lifecycle?: Lifecycle
  /** What GET /metrics serves; under node:cluster, the whole cluster's metrics. */
  readonly metricsText?: () => Promise<string>
  /** Check every response against openapi.yaml (tests). */
  readonly validateResponses?: boolean
}

export function createApp(deps: AppDeps): Express {
  const { logger } = deps
  const live = deps.live ?? new LiveConfig(deps.config)
  const metrics = deps.metrics ?? createMetrics(live)
  const clock = deps.clock ?? (() => Math.floor(Date.now() / 1000))
  const lifecycle = deps.lifecycle ?? { shuttingDown: false }
  const tickets = { clock, logger, metrics }

  const app = express()
  app.disable('x-powered-by')
  // No ETags: every ticket response is no-store, and computing one costs a hash per response.
  app.set('etag', false)
  app.set('query parser', 'simple')
  app.use(helmet())
  app.use(requestContext(live, logger, metrics, lifecycle))
  app.use(
    operationsRouter({
      live,
      metrics,
      lifecycle,
      metricsText: deps.metricsText ?? (() => metrics.registry.metrics()),
    }),
  )
  app.use(debugPageRouter())
  app.use('/usersig/verify', debugEndpointsGate)
  app.use(['/usersig', '/privatemapkey'], createAuthenticate(), createRateLimit())
  // No compressed request bodies: a ticket request is tiny, and inflating is a cost we need not offer.
  const json = express.json({ limit: BODY_LIMIT_BYTES, strict: true, inflate: false })
  const batchJson = express.json({ limit: BATCH_BODY_LIMIT_BYTES, strict: true, inflate: false })
  app.use(function parseJson(req, res, next) {
    ;(req.path === '/usersig/batch' ? batchJson : json)(req, res, next)
  })
  app.use(
    OpenApiValidator.middleware({
      apiSpec: fileURLToPath(OPENAPI_PATH),
      validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false },
      validateResponses: deps.validateResponses ?? false,
      validateSecurity: false,
      ignorePaths: /^\/(docs|debug)\//,
    }),
  )
  app.post('/usersig', issueUserSig(tickets))
  app.post('/usersig/batch', issueUserSigBatch(tickets))
  app.post('/usersig/verify', verifyTicket(tickets))
  app.post('/privatemapkey', issuePrivateMapKey(tickets))
  app.use(notFound)
  app.use(createErrorHandler(logger))
  return app
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

/** Request id, access log line and request metrics; labels use the route template, never the URL. */
function requestContext(
  live: LiveConfig,
  logger: Logger,
  metrics: Metrics,
  lifecycle: Lifecycle,
): RequestHandler {
  return function requestContextMiddleware(req, res, next) {
    // One configuration for the whole request, even if a reload lands meanwhile.
    res.locals.config = live.current
    const incoming = req.get('x-request-id')
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    res.locals.requestId = requestId
    res.set('X-Request-Id', requestId)
    // While draining, ask keep-alive clients to reconnect (to another replica).
    if (lifecycle.shuttingDown) res.set('Connection', 'close')
    const started = performance.now()
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched'
      const seconds = (performance.now() - started) / 1000
      metrics.requests.inc({ method: req.method, route, status: String(res.statusCode) })
      metrics.duration.observe({ method: req.method, route }, seconds)
      logger.debug(
        {
          requestId,
          method: req.method,
          route,
          status: res.statusCode,
          ms: Math.round(seconds * 1e4) / 10,
        },
        'request',
      )
    })
    next()
  }
}
