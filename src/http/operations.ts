// Health, readiness, metrics and the contract: unauthenticated, and showing no secrets.
import { readFileSync } from 'node:fs'
import type { LiveConfig } from '../live-config.js'
import type { Metrics } from '../metrics.js'
import { OPENAPI_PATH } from './contract.js'
import type { Handler } from './routes.js'

export interface Lifecycle {
  shuttingDown: boolean
}

export const liveness: Handler<'liveness', null> = () => ({ status: 200, json: { status: 'ok' } })

/**
 * Counts, the config generation and key ids: which apps exist is not for unauthenticated eyes, so
 * each app's keys are listed without its SDKAppID (in SDKAppID order, the signing key first).
 */
export function readiness(deps: {
  live: LiveConfig
  lifecycle: Lifecycle
}): Handler<'readiness', null> {
  return function readinessHandler({ config }) {
    const shuttingDown = deps.lifecycle.shuttingDown
    const apps = [...config.policy.apps.values()].sort((a, b) => a.sdkAppId - b.sdkAppId)
    return {
      status: shuttingDown ? 503 : 200,
      json: {
        status: shuttingDown ? 'shutting_down' : 'ready',
        generation: deps.live.generation,
        apps: apps.length,
        keys: apps.reduce((n, app) => n + app.keys.length, 0),
        keyIds: [...new Set(apps.flatMap((app) => app.keys.map((key) => key.id)))].sort(),
        appKeys: apps.map((app) => ({
          primaryKeyId: app.signingKey.id,
          keyIds: app.keys.map((key) => key.id),
        })),
      },
    }
  }
}

/** Prometheus text; under node:cluster, `metricsText` collects the whole cluster's. */
export function metrics(deps: {
  metrics: Metrics
  metricsText: () => Promise<string>
}): Handler<'metrics', null> {
  return async function metricsHandler() {
    return {
      status: 200,
      contentType: deps.metrics.registry.contentType as `text/plain${string}`,
      text: await deps.metricsText(),
    }
  }
}

export function openapiDocument(): Handler<'openapi', null> {
  const spec = readFileSync(OPENAPI_PATH, 'utf8')
  return () => ({ status: 200, contentType: 'application/yaml; charset=utf-8', text: spec })
}
