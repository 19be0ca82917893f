// A shared store's outage is a degraded mode, not an outage of the service: while the shared
// count cannot be reached, each process counts on its own (the fallback), so no ticket is refused
// and no request waits for a store that is away. One warning per outage, not one per request; a
// metric and /readyz say which count is in force; a probe in the background brings the shared
// count back by itself.
//
// rate-limiter-flexible's `insuranceLimiter` does the fallback per request, but asks the store
// again on every request (each paying the timeout while Redis hangs) and tells nobody: hence this
// small breaker around the store.
import type { Logger } from '../logger.js'
import type { Count, CountStore, StoreState } from './store.js'

/** While the shared store is away, how often the background probe asks it again. */
export const PROBE_INTERVAL_MS = 1_000

/** What the probe adds to: a key of its own, with nothing added (a write, so it sees a read-only replica too). */
const PROBE_KEY = '\0probe'

export interface FailoverOptions {
  readonly logger: Logger
  /** Where the shared store is, for the log (never a password). */
  readonly target: string
  /** Called on every change of state (for the metrics). */
  readonly onChange?: (state: StoreState) => void
  /** Start in the fallback (the store did not answer at start); the probe brings it in. */
  readonly startDown?: boolean
  readonly probeIntervalMs?: number
}

export function withFailover(
  shared: CountStore,
  fallback: CountStore,
  options: FailoverOptions,
): CountStore {
  const { logger, target } = options
  const store = shared.state().store
  let up = true
  let downSince = 0
  let probe: NodeJS.Timeout | undefined

  const goDown = (error: unknown) => {
    if (!up) return
    up = false
    downSince = Date.now()
    logger.warn(
      { store, target, err: error instanceof Error ? error.message : String(error) },
      'rate limits: the shared count is unreachable; each process counts on its own until it answers',
    )
    options.onChange?.({ store, shared: false })
    probe = setInterval(() => {
      shared.add(PROBE_KEY, 1, 0).then(goUp, () => undefined)
    }, options.probeIntervalMs ?? PROBE_INTERVAL_MS)
    probe.unref()
  }
  const goUp = () => {
    if (up) return
    up = true
    clearInterval(probe)
    logger.info(
      { store, target, outageMs: Date.now() - downSince },
      'rate limits: counting in the shared store again',
    )
    options.onChange?.({ store, shared: true })
  }
  if (options.startDown === true) goDown(new Error('not connected at start'))

  return {
    async add(key, limit, points): Promise<Count> {
      if (up) {
        try {
          return await shared.add(key, limit, points)
        } catch (error) {
          goDown(error)
        }
      }
      return fallback.add(key, limit, points)
    },
    state: () => ({ store, shared: up }),
    async close() {
      clearInterval(probe)
      await Promise.all([shared.close(), fallback.close()])
    },
  }
}
