// createApp(deps): the service as one request listener, the front door (src/http/server.ts) over
// the route table (src/http/routes.ts). It never listens; main.ts does.
import type { Config } from './config/index.js'
import { LiveConfig } from './live-config.js'
import type { Logger } from './logger.js'
import { createMetrics, type Metrics } from './metrics.js'
import { createAuthenticator } from './http/authenticate.js'
import { compileContract } from './http/contract.js'
import type { Lifecycle } from './http/operations.js'
import { createRateLimiter } from './http/rate-limit.js'
import { createRoutes } from './http/routes.js'
import { memoryStore, type CountStore } from './rate-limit/index.js'
import { createFrontDoor, type FrontDoor } from './http/server.js'
import { createStaticTrees } from './http/static-trees.js'
import type { Tracer } from './tracing.js'

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
  /** Where rate limits count (src/rate-limit/); this process alone by default. */
  readonly counts?: CountStore
  /** Check every response against openapi.yaml (tests). */
  readonly validateResponses?: boolean
  /**
   * Which listener this is: `main` (the default) serves every operation but /metrics when
   * METRICS_PORT gives /metrics a listener of its own; `metrics` is that listener.
   */
  readonly surface?: 'main' | 'metrics'
  /** Trace context and span export (src/tracing.ts); by default the trace ids only, no export. */
  readonly tracer?: Tracer
}

/** The service: a node:http request listener (and `checkContinue`), and the routes it serves. */
export type App = FrontDoor

export function createApp(deps: AppDeps): App {
  const { logger } = deps
  const live = deps.live ?? new LiveConfig(deps.config)
  const metrics = deps.metrics ?? createMetrics(live)
  const lifecycle = deps.lifecycle ?? { shuttingDown: false }
  const counts = deps.counts ?? memoryStore()
  metrics.showRateLimit(counts.state())
  const routes = createRoutes({
    live,
    lifecycle,
    counts,
    logger,
    metrics,
    clock: deps.clock ?? (() => Math.floor(Date.now() / 1000)),
    metricsText: deps.metricsText ?? (() => metrics.registry.metrics()),
  })
  const separateMetrics = deps.config.process.metricsPort !== null
  const surface = deps.surface ?? 'main'
  return createFrontDoor({
    contract: compileContract(),
    routes,
    serves:
      surface === 'metrics'
        ? (id) => id === 'metrics'
        : (id) => !(separateMetrics && id === 'metrics'),
    mounts: surface === 'metrics' ? [] : createStaticTrees(),
    live,
    lifecycle,
    logger,
    metrics,
    authenticate: createAuthenticator({ logger }),
    rateLimit: createRateLimiter(counts),
    tracer: deps.tracer,
    validateResponses: deps.validateResponses ?? false,
  })
}
