// Prometheus metrics on a registry of our own (one per app instance): closed label sets only,
// never a user id or a ticket.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Config } from './config/index.js'
import type { LiveConfig } from './live-config.js'
import type { StoreState } from './rate-limit/index.js'

export interface Metrics {
  readonly registry: Registry
  readonly requests: Counter<'method' | 'route' | 'status'>
  readonly duration: Histogram<'method' | 'route'>
  readonly issued: Counter<'kind' | 'sdkappid' | 'key_id'>
  /** `issued`'s child for a kind, SDKAppID and key id, made once. */
  readonly issuedFor: (kind: string, sdkappid: string, keyId: string) => Counter.Internal
  readonly verified: Counter<'sdkappid' | 'outcome'>
  readonly reloads: Counter<'outcome'>
  /** Shows where rate limits count now. */
  readonly showRateLimit: (state: StoreState) => void
  /** A change of where they count: shown, and a change to the fallback counted as an outage. */
  readonly rateLimitChanged: (state: StoreState) => void
}

/**
 * A metric's child for one set of label values, made once: prom-client sorts and hashes a label
 * object on every inc() or observe() otherwise, a few µs of CPU per request on the hot path. For
 * bounded label sets only (route templates, statuses, configured apps and keys).
 */
export function childrenOf<T>(make: (...values: string[]) => T): (...values: string[]) => T {
  const children = new Map<string, T>()
  return (...values) => {
    const key = values.join('\0')
    let child = children.get(key)
    if (child === undefined) {
      child = make(...values)
      children.set(key, child)
    }
    return child
  }
}

/**
 * Creates the metrics. The key info and generation gauges follow the live configuration (key ids,
 * never secrets or hashes of them); `reloads` counts reload attempts by outcome.
 */
export function createMetrics(live: LiveConfig, { defaults = true } = {}): Metrics {
  const registry = new Registry()
  if (defaults) collectDefaultMetrics({ register: registry })
  const keyInfo = new Gauge({
    name: 'usersig_key_info',
    help: 'Keys in use per SDKAppID (1 each); primary="true" marks the signing key.',
    labelNames: ['sdkappid', 'key_id', 'primary'],
    registers: [registry],
    aggregator: 'max', // under node:cluster: 1, not the number of workers
  })
  const generation = new Gauge({
    name: 'usersig_config_generation',
    help: 'The configuration generation in force: 1 at start, +1 per successful reload.',
    registers: [registry],
    aggregator: 'min', // under node:cluster: the oldest generation any worker still runs
  })
  const showConfig = (config: Config, current: number) => {
    keyInfo.reset()
    for (const app of config.policy.apps.values()) {
      app.keys.forEach((key, index) =>
        keyInfo.set(
          {
            sdkappid: String(app.sdkAppId),
            key_id: key.id,
            primary: String(index === 0),
          },
          1,
        ),
      )
    }
    generation.set(current)
  }
  const issued = new Counter({
    name: 'usersig_tickets_issued_total',
    help: 'Tickets issued by kind (usersig, privatemapkey), SDKAppID and signing key id.',
    labelNames: ['kind', 'sdkappid', 'key_id'] as const,
    registers: [registry],
  })
  showConfig(live.current, live.generation)
  live.onSwap(showConfig)
  const rateLimitShared = new Gauge({
    name: 'usersig_rate_limit_shared',
    help: 'Rate limits count in the configured store (label store: memory, cluster or redis): 1; 0 while it is unreachable and each process counts on its own.',
    labelNames: ['store'],
    registers: [registry],
    aggregator: 'min', // under node:cluster: 0 if any worker counts on its own
  })
  const rateLimitFallbacks = new Counter({
    name: 'usersig_rate_limit_fallbacks_total',
    help: 'Times the shared rate-limit store became unreachable and this process began counting on its own.',
    labelNames: ['store'],
    registers: [registry],
  })
  return {
    registry,
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method and route template.',
      labelNames: ['method', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    issued,
    issuedFor: childrenOf((kind, sdkappid, keyId) => issued.labels(kind, sdkappid, keyId)),
    verified: new Counter({
      name: 'usersig_tickets_verified_total',
      help: 'Tickets verified by SDKAppID and outcome (valid, or the ticket error code).',
      labelNames: ['sdkappid', 'outcome'],
      registers: [registry],
    }),
    reloads: new Counter({
      name: 'usersig_config_reloads_total',
      help: 'Configuration reloads by outcome (success, rejected: the new config failed validation and the old one stays).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    showRateLimit: ({ store, shared }) => rateLimitShared.set({ store }, shared ? 1 : 0),
    rateLimitChanged: ({ store, shared }) => {
      rateLimitShared.set({ store }, shared ? 1 : 0)
      if (!shared) rateLimitFallbacks.inc({ store })
    },
  }
}

/**
 * How long one collection of /metrics serves every scrape after it (a real process's). Scrapers
 * ask every 15 s or more; a flood of scrapes then costs one collection per interval.
 */
export const METRICS_CACHE_MS = 250

/**
 * `collect`, shared: scrapes while a collection runs get its result, and so do those within
 * `cacheMs` after it ended. A failed collection is not kept.
 */
export function sharedCollection(
  collect: () => Promise<string>,
  cacheMs = METRICS_CACHE_MS,
): () => Promise<string> {
  let current: Promise<string> | null = null
  let endedAt = -Infinity
  return () => {
    // While it runs, endedAt is Infinity: every scrape shares it.
    if (current !== null && performance.now() - endedAt < cacheMs) return current
    const running = collect()
    current = running
    endedAt = Infinity
    running.then(
      () => {
        if (current === running) endedAt = performance.now()
      },
      () => {
        if (current === running) current = null
      },
    )
    return running
  }
}
