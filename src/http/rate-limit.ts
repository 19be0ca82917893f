// Per-caller rate limits, keyed by the authenticated caller, not the IP, counted in tickets: a
// request costs 1, a batch of N user ids costs N. The counts live in a CountStore
// (src/rate-limit/: this process, the machine's cluster primary, or Redis for a fleet); the
// headers are the IETF draft-8 `RateLimit` and `RateLimit-Policy` fields.
import { createHash } from 'node:crypto'
import type { Config } from '../config/index.js'
import { ServiceError } from '../errors.js'
import { memoryStore, WINDOW_SECONDS, type CountStore } from '../rate-limit/index.js'
import type { Caller } from './authenticate.js'

const POLICY_CACHE = 10_000

/** What a take left: the RateLimit headers, and how to give the tickets back. */
export interface Allowance {
  readonly headers: Readonly<Record<string, string>>
  /** The tickets taken, given back (when a later take for the same request is refused). */
  readonly points: number
  readonly giveBack: () => Promise<void>
}

export interface RateLimiter {
  /**
   * Takes `count` more from the caller's allowance for this minute, or none of it: resolves to
   * the RateLimit headers, or rejects with 429 `rate_limited` (with Retry-After) when `count` does
   * not fit in what is left. `held`, taken earlier for the same request, is given back when it is
   * refused: a request refused whole counts nothing.
   */
  take(caller: Caller, config: Config, count: number, held?: Allowance): Promise<Allowance>
}

const NO_LIMIT: Allowance = { headers: {}, points: 0, giveBack: async () => undefined }

/**
 * Limits each caller to its `rateLimitPerMinute` (or the configured default; 0 means none) in a
 * one-minute window, counted in `counts` (by default, in this process alone).
 */
export function createRateLimiter(counts: CountStore = memoryStore()): RateLimiter {
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
    async take(caller, config, count, held) {
      const limit = limitOf(caller, config)
      if (limit === 0) return NO_LIMIT
      const key = keyOf(caller)
      // One call on the common path: take, then give back if it did not fit (with `held`).
      const pending = counts.take(key, limit, count)
      const taken = pending instanceof Promise ? await pending : pending
      const fits = taken.consumed <= limit
      // Refused, the count is what it was before this request (once given back, below).
      const consumed = fits ? taken.consumed : taken.consumed - count - (held?.points ?? 0)
      const left = Math.min(Math.max(limit - consumed, 0), limit)
      const reset = Math.ceil(Math.max(taken.msBeforeNext, 0) / 1000) || WINDOW_SECONDS
      const headers = {
        RateLimit: `"${limit}-in-1min"; r=${left}; t=${reset}`,
        'RateLimit-Policy': policyOf(key, limit),
      }
      if (!fits) {
        // Given back before the answer: the caller's next request sees the count without these.
        await Promise.all([taken.giveBack(), held?.giveBack()])
        throw new ServiceError('rate_limited', undefined, {
          headers: { ...headers, 'Retry-After': String(reset) },
        })
      }
      return { headers, points: count, giveBack: taken.giveBack }
    },
  }
}
