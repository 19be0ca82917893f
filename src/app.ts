// createApp(deps): the request listener, in reading order. It never listens; main.ts does.
// The ticket routes run on plain node:http (src/http/ticket-api.ts); Express serves the rest.
import type { IncomingMessage, ServerResponse } from 'node:http'
import express, { type Express, type RequestHandler } from 'express'
import helmet from 'helmet'
import type { Config } from './config.js'
import { LiveConfig } from './live-config.js'
import type { Logger } from './logger.js'
import { createMetrics, type Metrics } from './metrics.js'
import { compileContract, methodNotAllowed } from './http/contract.js'
import { debugPageRouter } from './http/debug-page.js'
import { operationsRouter, type Lifecycle } from './http/operations.js'
import { recordRequest, requestIdOf } from './http/request-context.js'
import { createErrorHandler, notFound } from './http/problem.js'
import { createTicketApi } from './http/ticket-api.js'

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

/** The service: a node:http request listener, plus the routes it serves (for the contract test). */
export interface App {
  (req: IncomingMessage, res: ServerResponse): void
  /** "METHOD /path" of every route, the ticket routes and Express's. */
  readonly routes: readonly string[]
}

export function createApp(deps: AppDeps): App {
  const { logger } = deps
  const live = deps.live ?? new LiveConfig(deps.config)
  const metrics = deps.metrics ?? createMetrics(live)
  const clock = deps.clock ?? (() => Math.floor(Date.now() / 1000))
  const lifecycle = deps.lifecycle ?? { shuttingDown: false }
  const validateResponses = deps.validateResponses ?? false

  const contract = compileContract()
  const securityHeaders = helmet()
  const tickets = createTicketApi({
    securityHeaders,
    live,
    lifecycle,
    clock,
    logger,
    metrics,
    contract,
    validateResponses,
  })

  const app = express()
  app.disable('x-powered-by')
  // No ETags: nothing here is worth a hash per response.
  app.set('etag', false)
  app.set('query parser', 'simple')
  app.use(securityHeaders)
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
  app.use(methodNotAllowed(contract))
  app.use(notFound)
  app.use(createErrorHandler(logger))

  const listener = function usersigService(req: IncomingMessage, res: ServerResponse): void {
    if (!tickets.handle(req, res)) app(req, res)
  }
  return Object.assign(listener, { routes: [...tickets.routes, ...expressRoutes(app)].sort() })
}

/** "METHOD /path" of every route Express serves (nested routers included). */
function expressRoutes(app: Express): string[] {
  type Layer = { route?: { path: string; methods: object }; handle?: unknown }
  const routes = new Set<string>()
  const walk = (stack: readonly Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods))
          routes.add(`${method.toUpperCase()} ${layer.route.path}`)
      }
      const inner = (layer.handle as { stack?: Layer[] } | undefined)?.stack
      if (Array.isArray(inner) && !layer.route) walk(inner)
    }
  }
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack)
  return [...routes]
}

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
    const requestId = requestIdOf(req.get('x-request-id'))
    res.locals.requestId = requestId
    res.set('X-Request-Id', requestId)
    // While draining, ask keep-alive clients to reconnect (to another replica).
    if (lifecycle.shuttingDown) res.set('Connection', 'close')
    const started = performance.now()
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched'
      recordRequest(metrics, logger, {
        requestId,
        method: req.method,
        route,
        status: res.statusCode,
        started,
      })
    })
    next()
  }
}
