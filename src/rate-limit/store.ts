// Where rate-limit counts live, behind one small interface. Counting is rate-limiter-flexible's
// (fixed windows, points added in any number, negative to give back); the stores are its memory
// store (one process), its cluster store (node:cluster workers counting in their primary) and its
// Redis store (every replica and worker of a fleet), chosen from configuration.
import type { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible'

/** The one-minute window every limit counts in. */
export const WINDOW_SECONDS = 60

export type StoreKind = 'memory' | 'cluster' | 'redis'

/** A caller's count in its current window, after a take. */
export interface Count {
  readonly consumed: number
  /** Until the window ends. */
  readonly msBeforeNext: number
}

/** Points taken: the count after, and how to give them back to the store that took them. */
export interface Taken extends Count {
  /** Gives the points back (a request refused whole counts nothing); resolves when done, never rejects. */
  readonly giveBack: () => Promise<void>
}

/** Where the counts go now, for /readyz and the metrics. */
export interface StoreState {
  /** The configured store. */
  readonly store: StoreKind
  /** Counting there (true), or in this process while it is unreachable (false). */
  readonly shared: boolean
}

export interface CountStore {
  /**
   * Adds `points` to `key`'s count in its current window of a `limit`-per-minute allowance, and
   * resolves to the count after; a store that knows it at once (a worker's lease) returns it
   * without a promise. Rejects only when the store cannot be reached (a failover store never does).
   */
  take(key: string, limit: number, points: number): Taken | Promise<Taken>
  state(): StoreState
  /** Stops timers and closes connections. */
  close(): Promise<void>
}

/** One limiter per distinct limit, made on first use (the library fixes the allowance per limiter). */
export function limitersByLimit<L>(make: (limit: number) => L): (limit: number) => L {
  const limiters = new Map<number, L>()
  return (limit) => {
    let limiter = limiters.get(limit)
    if (limiter === undefined) {
      limiter = make(limit)
      limiters.set(limit, limiter)
    }
    return limiter
  }
}

/**
 * A store over one rate-limiter-flexible limiter per distinct limit (the library fixes the
 * allowance per limiter). `make` builds the limiter of a limit.
 */
export function limiterStore(
  store: StoreKind,
  make: (limit: number) => RateLimiterAbstract,
  close: () => Promise<void> = async () => undefined,
): CountStore {
  const limiterFor = limitersByLimit(make)
  return {
    async take(key, limit, points) {
      const limiter = limiterFor(limit)
      const res: RateLimiterRes = await limiter.penalty(key, points)
      return {
        consumed: res.consumedPoints,
        msBeforeNext: res.msBeforeNext,
        // The points leave the count they went into, whatever store is in force by then.
        giveBack: () =>
          limiter.reward(key, points).then(
            () => undefined,
            () => undefined,
          ),
      }
    },
    state: () => ({ store, shared: true }),
    close,
  }
}
