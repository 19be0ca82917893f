// What both request paths (the ticket routes on node:http, Express for the rest) do for every
// request: settle its id, and count and log it once answered.
import { randomUUID } from 'node:crypto'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

/** The caller's `X-Request-Id` when it is a sane token, else a fresh UUID. */
export function requestIdOf(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
}

/**
 * Counts an answered request and logs it at debug. `route` is the route template or
 * "unmatched", never the URL, so metric labels stay few.
 */
export function recordRequest(
  metrics: Metrics,
  logger: Logger,
  request: { requestId: string; method: string; route: string; status: number; started: number },
): void {
  const { requestId, method, route, status } = request
  const seconds = (performance.now() - request.started) / 1000
  metrics.requests.inc({ method, route, status: String(status) })
  metrics.duration.observe({ method, route }, seconds)
  logger.debug({ requestId, method, route, status, ms: Math.round(seconds * 1e4) / 10 }, 'request')
}
