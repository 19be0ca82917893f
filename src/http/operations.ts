// Health, readiness, metrics and the contract: unauthenticated, and showing no secrets.
import { readFileSync } from 'node:fs'
import { Router } from 'express'
import swaggerUi from 'swagger-ui-express'
import type { AppConfig } from '../config.js'
import type { Metrics } from '../metrics.js'

export const OPENAPI_PATH = new URL('../../openapi.yaml', import.meta.url)

export interface Lifecycle {
  shuttingDown: boolean
}

export function operationsRouter(deps: {
  apps: ReadonlyMap<number, AppConfig>
  metrics: Metrics
  lifecycle: Lifecycle
}): Router {
  const router = Router()
  const spec = readFileSync(OPENAPI_PATH, 'utf8')
  const keys = [...deps.apps.values()].reduce((n, app) => n + app.keys.length, 0)

  router.get('/healthz', function liveness(_req, res) {
    res.json({ status: 'ok' })
  })
  // Counts only: which apps exist is not for unauthenticated eyes (key ids are in /metrics).
  router.get('/readyz', function readiness(_req, res) {
    const shuttingDown = deps.lifecycle.shuttingDown
    res.status(shuttingDown ? 503 : 200).json({
      status: shuttingDown ? 'shutting_down' : 'ready',
      apps: deps.apps.size,
      keys,
    })
  })
  router.get('/metrics', async function metrics(_req, res) {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics())
  })
  router.get('/openapi.yaml', function openapi(_req, res) {
    res.type('application/yaml').send(spec)
  })
  // Rendered docs: swagger-ui's own files, no inline script, so helmet's CSP holds.
  router.use(
    '/docs',
    swaggerUi.serve,
    swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.yaml' } }),
  )
  return router
}
