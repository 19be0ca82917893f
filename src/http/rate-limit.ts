// Per-caller rate limits, keyed by the authenticated caller, not the IP, counted in tickets: a
// request costs 1, a batch of N user ids costs N. Counting is rate-limiter-flexible's memory store
// (fixed one-minute windows, points taken in any number); the headers are the IETF draft-8
// `RateLimit` and `RateLimit-Policy` fields.
import { createHash } from 'node:crypto'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import type { Config } from '../config/index.js'
import { ServiceError } from '../errors.js'
import type { Caller } from './authenticate.js'

const WINDOW_SECONDS = 60
const POLICY_CACHE = 10_000

export interface RateLimiter {
  /**
   * Takes `count` more from the caller's allowance for this minute, or none of it: resolves to
   * the RateLimit headers, or rejects with 429 `rate_limited` (with Retry-After) when `count` does
   * not fit in what is left. `held`, taken earlier for the same request, is given back when it is
   * refused: a request refused whole counts nothing.
   */
  take(
    caller: Caller,
    config: Config,
    count: number,
    held?: number,
  ): Promise<Record<string, string>>
}

/**
 * Limits each caller to its `rateLimitPerMinute` (or the configured default; 0 means none) in a
 * one-minute window. The counts live in this process: with several replicas or workers, a
 * caller's total is the limit times their number.
 */
export function createRateLimiter(): RateLimiter {
  // The library fixes the allowance per limiter: one limiter per distinct limit in use.
  const limiters = new Map<number, RateLimiterMemory>()
  const limiterFor = (limit: number) => {
    let limiter = limiters.get(limit)
    if (limiter === undefined) {
      limiter = new RateLimiterMemory({ points: limit, duration: WINDOW_SECONDS })
      limiters.set(limit, limiter)
    }
    return limiter
  }
  // The RateLimit-Policy value per caller and limit, cached; JWT subjects are unbounded, so the
  // cache is too, loosely.
  const policies = new Map<string, string>()
  const policyOf = (key: string, limit: number): string => {
    const cacheKey = `${limit} ${key}`
    let policy = policies.get(cacheKey)
    if (policy === undefined) {
      if (policies.size >= POLICY_CACHE) policies.clear()
      // The partition key is not the caller's id: a short hash of it.
      const hex = createHash('sha256').update(key).digest('hex').slice(0, 12)
      const pk = Buffer.from(hex).toString('base64')
      policy = `"${limit}-in-1min"; q=${limit}; w=${WINDOW_SECONDS}; pk=:${pk}:`
      policies.set(cacheKey, policy)
    }
    return policy
  }
  const limitOf = (caller: Caller, config: Config) =>
    caller.rateLimitPerMinute ?? config.process.rateLimitPerMinute
  // A JWT subject can never share a count with a static client of the same name.
  const keyOf = (caller: Caller) =>
    caller.via === 'jwt' ? `jwt:${caller.issuer}:${caller.id}` : `static:${caller.id}`

  return {
    async take(caller, config, count, held = 0) {
      const limit = limitOf(caller, config)
      if (limit === 0) return {}
      const key = keyOf(caller)
      const limiter = limiterFor(limit)
      // One call on the common path: take, then give back if it did not fit (with `held`).
      const taken = await limiter.penalty(key, count)
      const fits = taken.consumedPoints <= limit
      const state = fits ? taken : await limiter.reward(key, count + held)
      const left = Math.max(limit - state.consumedPoints, 0)
      const reset = Math.ceil(Math.max(state.msBeforeNext, 0) / 1000) || WINDOW_SECONDS
      const headers = {
        RateLimit: `"${limit}-in-1min"; r=${left}; t=${reset}`,
        'RateLimit-Policy': policyOf(key, limit),
      }
      if (!fits) {
        throw new ServiceError('rate_limited', undefined, {
          headers: { ...headers, 'Retry-After': String(reset) },
        })
      }
      return headers
    },
  }
}
