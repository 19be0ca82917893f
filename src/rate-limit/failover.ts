// A shared store's outage is a degraded mode, not an outage of the service: while the shared
// count cannot be reached, each process counts on its own (the fallback), so no ticket is refused
// and no request waits long for a store that is away. One warning per outage, not one per
// request; a metric and /readyz say which count is in force; a probe in the background brings the
// shared count back by itself.
//
// - A request waits at most REQUEST_DEADLINE_MS for the shared store, then is counted here.
// - A missed deadline is a suspicion, not an outage: a probe with a longer deadline decides. A
//   busy machine (a burst, a neighbour's load) can delay this process past the deadline while the
//   store answered in time; declaring an outage then would count a whole burst per process. And
//   when a deadline passes, the answers already received are read first (see `deadline`).
// - A store that cannot be reached at all (not connected) is an outage at once.
//
// rate-limiter-flexible's `insuranceLimiter` does the fallback per request, but asks the store
// again on every request (each paying the timeout while Redis hangs) and tells nobody: hence this
// small breaker around the store.
import type { Logger } from '../logger.js'
import type { CountStore, StoreState, Taken } from './store.js'

/** The longest a request waits for the shared store (of its own running time: see `deadline`). */
export const REQUEST_DEADLINE_MS = 50
/** The probe's deadline: past it, the store is away. */
export const PROBE_DEADLINE_MS = 500
/** While the shared store is away, how often the probe asks it again. */
export const PROBE_INTERVAL_MS = 1_000
/** A timer this late means the process itself did not run (a busy machine), not a slow store. */
const LATE_TIMER_MS = 10

/** What the probe takes from: a key of its own, nothing taken (a write, like a request's). */
const PROBE_KEY = '\0probe'

class DeadlineMissed extends Error {
  override readonly name = 'DeadlineMissed'
}

/**
 * `work`, or a DeadlineMissed rejection once the store has had `ms` to answer. Time this process
 * did not run is not the store's: when the deadline's timer fires late (a busy machine, a long
 * task), the store gets another `ms`, up to PROBE_DEADLINE_MS in all; and when it fires, one turn
 * of the event loop's poll phase runs before the verdict (setImmediate), so an answer that has
 * already arrived is read and counts as in time.
 */
function deadline<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let settled = false
    const started = performance.now()
    let timer: NodeJS.Timeout
    const arm = () => {
      const due = performance.now() + ms
      timer = setTimeout(() => {
        const late = performance.now() - due > LATE_TIMER_MS
        if (late && performance.now() - started + ms <= PROBE_DEADLINE_MS) return arm()
        setImmediate(() => {
          if (!settled) reject(new DeadlineMissed(`no answer within ${ms} ms`))
        })
      }, ms)
    }
    arm()
    work.then(
      (value) => {
        settled = true
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        settled = true
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

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
  let probing: Promise<boolean> | null = null
  let timer: NodeJS.Timeout | undefined

  /** Asks the store with the probe's deadline; true when it answered. One at a time. */
  const probe = (): Promise<boolean> => {
    probing ??= deadline(Promise.resolve(shared.take(PROBE_KEY, 1, 0)), PROBE_DEADLINE_MS).then(
      () => true,
      () => false,
    )
    const running = probing
    void running.then(() => {
      if (probing === running) probing = null
    })
    return running
  }

  const goDown = (error: unknown) => {
    if (!up) return
    up = false
    downSince = Date.now()
    logger.warn(
      { store, target, err: error instanceof Error ? error.message : String(error) },
      'rate limits: the shared count is unreachable; each process counts on its own until it answers',
    )
    options.onChange?.({ store, shared: false })
    timer = setInterval(() => {
      void probe().then((answered) => answered && goUp())
    }, options.probeIntervalMs ?? PROBE_INTERVAL_MS)
    timer.unref()
  }
  const goUp = () => {
    if (up) return
    up = true
    clearInterval(timer)
    logger.info(
      { store, target, outageMs: Date.now() - downSince },
      'rate limits: counting in the shared store again',
    )
    options.onChange?.({ store, shared: true })
  }
  /** A missed deadline: away only if the probe, given longer, gets no answer either. */
  const suspect = (error: unknown) => {
    void probe().then((answered) => answered || goDown(error))
  }
  if (options.startDown === true) goDown(new Error('not connected at start'))

  return {
    take(key, limit, points) {
      if (!up) return fallback.take(key, limit, points)
      const taken = shared.take(key, limit, points)
      // Known at once (a worker's lease): nothing to wait for.
      if (!(taken instanceof Promise)) return taken
      // A take that misses the deadline may still land in the shared count: counted twice then,
      // on the safe side.
      return deadline(taken, REQUEST_DEADLINE_MS).then(
        (answered): Taken => ({
          ...answered,
          giveBack: () => deadline(answered.giveBack(), REQUEST_DEADLINE_MS).catch(() => undefined),
        }),
        (error: unknown) => {
          if (error instanceof DeadlineMissed) suspect(error)
          else goDown(error)
          return fallback.take(key, limit, points)
        },
      )
    },
    state: () => ({ store, shared: up }),
    async close() {
      clearInterval(timer)
      await Promise.all([shared.close(), fallback.close()])
    },
  }
}
