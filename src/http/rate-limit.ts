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
// Partition keys are cached per caller; JWT subjects are unbounded, so the cache is too, loosely.
const PARTITION_KEY_CACHE = 10_000

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
  const partitionKeys = new Map<string, string>()
  const partitionKey = (key: string): string => {
    let pk = partitionKeys.get(key)
    if (pk === undefined) {
      if (partitionKeys.size >= PARTITION_KEY_CACHE) partitionKeys.clear()
      // Not the caller's id: a short hash of it (the draft's partition key).
      const hex = createHash('sha256').update(key).digest('hex').slice(0, 12)
      pk = Buffer.from(hex).toString('base64')
      partitionKeys.set(key, pk)
    }
    return pk
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
      const used = (await limiter.get(key))?.consumedPoints ?? 0
      const fits = used + count <= limit
      const state = fits
        ? await limiter.consume(key, count)
        : held > 0
          ? await limiter.reward(key, held)
          : await limiter.get(key)
      const left = Math.max(limit - (state?.consumedPoints ?? 0), 0)
      const reset = Math.ceil(Math.max(state?.msBeforeNext ?? 0, 0) / 1000) || WINDOW_SECONDS
      const name = `"${limit}-in-1min"`
      const headers = {
        RateLimit: `${name}; r=${left}; t=${reset}`,
        'RateLimit-Policy': `${name}; q=${limit}; w=${WINDOW_SECONDS}; pk=:${partitionKey(key)}:`,
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
