// Counts in this process: one process alone, or the fallback while a shared store is away.
import { RateLimiterMemory } from 'rate-limiter-flexible'
import { limiterStore, WINDOW_SECONDS, type CountStore } from './store.js'

/** The memory limiter of a limit: one-minute windows. */
export const memoryLimiter = (limit: number) =>
  new RateLimiterMemory({ points: limit, duration: WINDOW_SECONDS })

export function memoryStore(): CountStore {
  return limiterStore('memory', memoryLimiter)
}
