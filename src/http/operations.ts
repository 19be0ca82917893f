// Health, readiness, metrics and the contract: unauthenticated, and showing no secrets.
import { readFileSync } from 'node:fs'
import { Router } from 'express'
import type { Config } from '../config.js'
import type { LiveConfig } from '../live-config.js'
import type { Metrics } from '../metrics.js'
import { OPENAPI_PATH } from './contract.js'

export interface Lifecycle {
  shuttingDown: boolean
}

export function operationsRouter(deps: {
  live: LiveConfig
  metrics: Metrics
  lifecycle: Lifecycle
  metricsText: () => Promise<string>
}): Router {
  const router = Router()
  const spec = readFileSync(OPENAPI_PATH, 'utf8')

  router.get('/healthz', function liveness(_req, res) {
    res.json({ status: 'ok' })
  })
  // Counts, the config generation and key ids: which apps exist is not for unauthenticated eyes.
  router.get('/readyz', function readiness(_req, res) {
    const shuttingDown = deps.lifecycle.shuttingDown
    const apps = [...(res.locals.config as Config).apps.values()]
    res.status(shuttingDown ? 503 : 200).json({
      status: shuttingDown ? 'shutting_down' : 'ready',
      generation: deps.live.generation,
      apps: apps.length,
      keys: apps.reduce((n, app) => n + app.keys.length, 0),
      keyIds: [...new Set(apps.flatMap((app) => app.keys.map((key) => key.id)))].sort(),
    })
  })
  router.get('/metrics', async function metrics(_req, res) {
    res.type(deps.metrics.registry.contentType).send(await deps.metricsText())
  })
  router.get('/openapi.yaml', function openapi(_req, res) {
    res.type('application/yaml').send(spec)
  })
  // Rendered docs: swagger-ui's own files, no inline script, so helmet's CSP holds. swagger-ui
  // (~5 MB resident) is loaded on the first /docs request, not at start.
  let docs: Promise<Router> | undefined
  router.use('/docs', function renderedDocs(req, res, next) {
    docs ??= import('swagger-ui-express').then(({ default: swaggerUi }) =>
      Router().use(
        swaggerUi.serve,
        swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.yaml' } }),
      ),
    )
    docs.then((served) => served(req, res, next), next)
  })
  return router
}
