// Health, readiness, metrics and the contract: unauthenticated, and showing no secrets.
import { readFileSync } from 'node:fs'
import { parseDocument, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml'
import type { Config } from '../config/index.js'
import type { LiveConfig } from '../live-config.js'
import type { Metrics } from '../metrics.js'
import type { CountStore } from '../rate-limit/index.js'
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
  counts: CountStore
}): Handler<'readiness', null> {
  return function readinessHandler({ config }) {
    const shuttingDown = deps.lifecycle.shuttingDown
    const apps = [...config.policy.apps.values()].sort((a, b) => a.sdkAppId - b.sdkAppId)
    return {
      status: shuttingDown ? 503 : 200,
      // This process never gets ready again. By the end of the drain delay it has stopped
      // listening, and the balancer sends whoever asks again to another replica.
      ...(shuttingDown ? { headers: { 'Retry-After': drainRetryAfter(config) } } : {}),
      json: {
        status: shuttingDown ? 'shutting_down' : 'ready',
        // Shown, never a reason to fail: a store outage does not stop issuance.
        rateLimit: deps.counts.state(),
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

/** SHUTDOWN_DELAY_MS in whole seconds, at least 1: when asking again may reach another replica. */
function drainRetryAfter(config: Config): string {
  return String(Math.max(1, Math.ceil(config.process.shutdownDelayMs / 1000)))
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

/**
 * openapi.yaml as shipped, or, while the debug endpoints are off, without its `x-debug-only`
 * operations and the tags left with none (the debug tag links to the page): /docs then shows only
 * what this service answers.
 */
export function openapiDocument(): Handler<'openapi', null> {
  const full = readFileSync(OPENAPI_PATH, 'utf8')
  const withoutDebug = withoutDebugOnly(full)
  return ({ config }) => ({
    status: 200,
    contentType: 'application/yaml; charset=utf-8',
    text: config.process.debugEndpoints ? full : withoutDebug,
  })
}

function withoutDebugOnly(specText: string): string {
  const spec = parseDocument(specText)
  const paths = spec.get('paths') as YAMLMap<Scalar<string>, YAMLMap<Scalar<string>, YAMLMap>>
  const tagsInUse = new Set<string>()
  for (const { key: path, value: methods } of [...paths.items]) {
    if (methods === null) continue
    for (const { key: method, value: operation } of [...methods.items]) {
      if (operation?.get('x-debug-only') === true) methods.delete(method)
      else {
        const tags = operation?.get('tags') as YAMLSeq<Scalar<string>> | undefined
        for (const tag of tags?.items ?? []) tagsInUse.add(tag.value)
      }
    }
    if (methods.items.length === 0) paths.delete(path)
  }
  const tags = spec.get('tags') as YAMLSeq<YAMLMap>
  tags.items = tags.items.filter((tag) => tagsInUse.has(tag.get('name') as string))
  return spec.toString()
}
